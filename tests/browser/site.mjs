// The site's browser test (issue 14): drives Debian's Chromium, headless, through the pages of a
// site `ingest site` built, as a reader would, and writes what it saw. It only observes: the Rust
// test asserts on the report.
// Usage (inside tests/netns.sh, through tests/browser.sh run): node site.mjs BASE_URL PLAN_JSON OUT_DIR
//   BASE_URL  the site's root, e.g. http://127.0.0.1:PORT/ipfs/<root>/
//   PLAN_JSON {"site","search","absent","video":{"site","id"},"missing":{"site","id"},
//             "hostile":{"site","id","record"} (optional; record: a record's bytes in hex)}
//   OUT_DIR   gets home.png, site.png, site-phone.png, search.png, video.png and report.json
// It visits home, the plan's site (page 1), a search for `search`, then (typing in the same page)
// for `absent`, the plan's video (waiting up to 15 s for the media's metadata), the page of the
// hostile record's video with that record served in place of its record.cbor, the missing video,
// and home with every request under data/ aborted (the gateway unreachable). Per page it
// collects console errors, page errors and failed requests; a media request the browser cancels
// itself (net::ERR_ABORTED, as a metadata-only preload does) goes to `aborted`, not `errors`.
// Exits 1 (naming the page) only when it could not run: the browser did not start, or a page did
// not set <body data-state> within 30 s; otherwise 0, with report.json written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const CHROMIUM = '/usr/lib/chromium/chromium';
const PAGE_TIMEOUT = 30_000;
const MEDIA_TIMEOUT = 15_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };

const [base, planFile, outDir] = process.argv.slice(2);
if (!outDir || !/^https?:\/\/127\.0\.0\.1[:/]/.test(base)) {
  console.error('usage: site.mjs http://127.0.0.1:PORT/ipfs/ROOT/ PLAN_JSON OUT_DIR');
  process.exit(2);
}
const root = base.endsWith('/') ? base : base + '/';
const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
fs.mkdirSync(outDir, { recursive: true });
const q = (o) => new URLSearchParams(o).toString();

/** Thrown when the browser or a page fails in a way that leaves nothing to report. */
class CannotRun extends Error {}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-browser-'));
let browser;
let chromium; // its ChildProcess, killed by PID if close() hangs

/** Closes the browser (killing it after 10 s) and removes its profile directory. */
async function shutdown() {
  if (browser) {
    const closed = browser.close().catch(() => {});
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
  }
  if (chromium && chromium.exitCode === null && chromium.signalCode === null) {
    // puppeteer starts it as the leader of its own process group: its helpers go with it.
    for (const target of [-chromium.pid, chromium.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {}
    }
  }
  fs.rmSync(profile, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => shutdown().finally(() => process.exit(130)));
}

/** Opens a tab that records its console errors, page errors and failed requests. */
async function open(viewport = DESKTOP) {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const log = { errors: [], aborted: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') {
      const at = m.location() && m.location().url;
      log.errors.push(`console: ${m.text()}${at ? ` (${at})` : ''}`);
    }
  });
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = (r.failure() && r.failure().errorText) || '?';
    const line = `requestfailed: ${r.url()} ${why}`;
    if (why === 'net::ERR_ABORTED' && r.resourceType() === 'media') log.aborted.push(line);
    else log.errors.push(line);
  });
  return { page, log };
}

/** Loads a URL and waits until the page sets <body data-state>; returns the state. */
async function visit(page, name, url) {
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: PAGE_TIMEOUT });
    await page.waitForSelector('body[data-state]', { timeout: PAGE_TIMEOUT });
  } catch (e) {
    throw new CannotRun(`page ${name} (${url}) never set data-state within ${PAGE_TIMEOUT / 1000} s: ${e.message}`);
  }
  return page.$eval('body', (b) => b.dataset.state);
}

/** Waits (up to 5 s) until the network is quiet, so screenshots show the loaded thumbnails. */
const settle = (page) => page.waitForNetworkIdle({ idleTime: 300, timeout: 5000 }).catch(() => {});

/** The text of the page's error alerts. */
const alerts = (page) => page.$$eval('.error[role=alert]', (es) => es.map((e) => e.textContent).join(' | '));

/** Copies what a tab logged so far, then closes it. */
async function done(page, log) {
  const out = { errors: [...log.errors] };
  if (log.aborted.length) out.aborted = [...log.aborted];
  await page.close();
  return out;
}

async function main() {
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      timeout: PAGE_TIMEOUT,
      protocolTimeout: 60_000,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
        '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--disable-breakpad', '--disable-crash-reporter', '--disable-domain-reliability',
        '--metrics-recording-only', '--no-pings', '--disable-default-apps', '--disable-extensions',
        '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater,NetworkTimeServiceQuerying',
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
        '--autoplay-policy=no-user-gesture-required'],
    });
    chromium = browser.process();
  } catch (e) {
    throw new CannotRun(`the browser (${CHROMIUM}) did not start: ${e.message}`);
  }
  const report = {};

  // Home: the sites and their counts.
  {
    const { page, log } = await open();
    const state = await visit(page, 'home', root);
    const sites = await page.$$eval('#sites li[data-site]', (ls) => ls.map((l) => ({ name: l.dataset.site, count: Number(l.dataset.count) })));
    await settle(page);
    await page.screenshot({ path: path.join(outDir, 'home.png') });
    report.home = { state, sites, message: await alerts(page), ...(await done(page, log)) };
  }

  // A site's first page, on a desktop and on a phone.
  const siteUrl = `${root}site.html?${q({ s: plan.site })}`;
  {
    const { page, log } = await open();
    const state = await visit(page, 'site', siteUrl);
    const ids = await page.$$eval('#videos [data-id]', (ls) => ls.map((l) => l.dataset.id));
    const pager = await page.$eval('#pager', (e) => e.textContent.trim()).catch(() => null);
    await settle(page);
    await page.screenshot({ path: path.join(outDir, 'site.png') });
    report.site = { state, ids, pager, message: await alerts(page), ...(await done(page, log)) };
  }
  {
    const { page, log } = await open(PHONE);
    const state = await visit(page, 'site-phone', siteUrl);
    await settle(page);
    // One column: every card as wide as the list.
    const oneColumn = await page.$$eval('#videos [data-id]', (ls) => ls.length > 0 &&
      new Set(ls.map((l) => Math.round(l.getBoundingClientRect().left))).size === 1);
    const scrollsSideways = await page.evaluate(() => document.documentElement.scrollWidth > innerWidth);
    await page.screenshot({ path: path.join(outDir, 'site-phone.png') });
    report.sitePhone = { state, oneColumn, scrollsSideways, ...(await done(page, log)) };
  }

  // A search, then (typed into the same page) a search for a word in no title.
  {
    const { page, log } = await open();
    const state = await visit(page, 'search', `${root}search.html?${q({ q: plan.search })}`);
    const read = () => page.evaluate(() => ({
      results: [...document.querySelectorAll('#results [data-site][data-id]')].map((e) => ({ site: e.dataset.site, id: e.dataset.id })),
      status: document.getElementById('status').textContent,
      query: new URLSearchParams(location.search).get('q'),
    }));
    const first = await read();
    await settle(page);
    await page.screenshot({ path: path.join(outDir, 'search.png') });
    report.search = { state, ...first, message: await alerts(page), errors: [...log.errors] };
    log.errors.length = 0;

    await page.$eval('body', (b) => delete b.dataset.state);
    await page.$eval('#q', (e) => {
      e.focus();
      e.select();
    });
    await page.keyboard.type(plan.absent); // replaces the selected query, as a reader would
    try {
      await page.waitForFunction((w) => document.body.dataset.state &&
        new URLSearchParams(location.search).get('q') === w, { timeout: PAGE_TIMEOUT }, plan.absent);
    } catch (e) {
      throw new CannotRun(`page absent (typing “${plan.absent}” in search.html) never set data-state within ${PAGE_TIMEOUT / 1000} s`);
    }
    const second = await read();
    report.absent = { state: await page.$eval('body', (b) => b.dataset.state), status: second.status,
      query: second.query, results: second.results, ...(await done(page, log)) };
  }

  // A video: the player's metadata, the thumbnail, the CIDs shown.
  {
    const { page, log } = await open();
    const state = await visit(page, 'video', `${root}video.html?${q({ s: plan.video.site, id: plan.video.id })}`);
    await page.waitForFunction(() => {
      const m = document.getElementById('player');
      return !m || m.readyState >= 1 || m.error;
    }, { timeout: MEDIA_TIMEOUT }).catch(() => {});
    await page.waitForFunction(() => {
      const t = document.getElementById('thumb');
      return !t || t.complete;
    }, { timeout: MEDIA_TIMEOUT }).catch(() => {});
    const seen = await page.evaluate(() => {
      const m = document.getElementById('player');
      const t = document.getElementById('thumb');
      const cids = (sel) => [...document.querySelectorAll(sel)].map((e) => e.dataset.cid);
      return {
        title: (document.getElementById('title') || {}).textContent,
        media: m ? m.tagName.toLowerCase() : null,
        src: m ? m.currentSrc : null,
        readyState: m ? m.readyState : null,
        duration: m && Number.isFinite(m.duration) ? m.duration : null,
        mediaError: m && m.error ? `${m.error.code} ${m.error.message}` : null,
        thumbWidth: t ? t.naturalWidth : null,
        cids: cids('#files [data-cid]'),
        record: (document.querySelector('#record[data-cid]') || { dataset: {} }).dataset.cid || null,
        conflicts: cids('#conflicts [data-cid]'),
      };
    });
    await settle(page);
    await page.screenshot({ path: path.join(outDir, 'video.png') });
    report.video = { state, ...seen, message: await alerts(page), ...(await done(page, log)) };
  }

  // A video whose record (plan.hostile.record, hex) lists files a browser would run as a page
  // (served in place of its record.cbor): every URL the page holds, and its alerts.
  if (plan.hostile) {
    const { site, id, record } = plan.hostile;
    const { page, log } = await open();
    const recordUrl = `${root}catalogue/${encodeURIComponent(site)}/${encodeURIComponent(id)}/record.cbor`;
    await page.setRequestInterception(true);
    page.on('request', (r) => (r.url() === recordUrl
      ? r.respond({ status: 200, contentType: 'application/vnd.ipld.dag-cbor', body: Buffer.from(record, 'hex') })
      : r.continue()));
    const state = await visit(page, 'hostile', `${root}video.html?${q({ s: site, id })}`);
    await settle(page);
    const seen = await page.evaluate(() => ({
      html: document.documentElement.outerHTML,
      urls: [...document.querySelectorAll('*')].flatMap((e) => ['href', 'src', 'poster', 'srcset', 'action', 'data', 'formaction']
        .filter((a) => e.hasAttribute(a)).map((a) => `${e.tagName.toLowerCase()} ${a}=${e.getAttribute(a)}`)),
      cids: [...document.querySelectorAll('#files [data-cid]')].map((e) => e.dataset.cid),
      text: document.body.innerText,
    }));
    report.hostile = { state, ...seen, message: await alerts(page), ...(await done(page, log)) };
  }

  // A video the catalogue does not have.
  {
    const { page, log } = await open();
    const state = await visit(page, 'missing', `${root}video.html?${q({ s: plan.missing.site, id: plan.missing.id })}`);
    report.missing = { state, message: await alerts(page), ...(await done(page, log)) };
  }

  // Home with the gateway unreachable for data/: every such request aborted.
  {
    const { page, log } = await open();
    await page.setRequestInterception(true);
    page.on('request', (r) => (r.url().startsWith(`${root}data/`) ? r.abort('internetdisconnected') : r.continue()));
    const state = await visit(page, 'unreachable', root);
    report.unreachable = { state, message: await alerts(page), ...(await done(page, log)) };
  }

  fs.writeFileSync(path.join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  const errors = Object.entries(report).filter(([k, v]) => v.errors && v.errors.length && k !== 'missing' && k !== 'unreachable');
  console.log([
    `home: ${report.home.sites.map((s) => `${s.name} ${s.count}`).join(', ')}`,
    `site: ${report.site.ids.length} videos, "${report.site.pager}"`,
    `search: ${report.search.results.length} results`,
    `absent: "${report.absent.status}"`,
    `video: readyState ${report.video.readyState}, duration ${report.video.duration}, thumb ${report.video.thumbWidth}px, ${report.video.cids.length} files`,
    `missing: ${report.missing.state}`,
    `unreachable: ${report.unreachable.state}`,
    `pages with errors: ${errors.map(([k, v]) => `${k} (${v.errors.length})`).join(', ') || 'none'}`,
  ].join('; '));
}

let status = 0;
try {
  await main();
} catch (e) {
  console.error(`site.mjs: ${e instanceof CannotRun ? e.message : e.stack || e}`);
  status = 1;
} finally {
  await shutdown();
}
process.exit(status);
