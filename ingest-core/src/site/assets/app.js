/* The archive's pages (issue 14): one script for index.html, site.html, video.html and
 * search.html; <body data-page="home|site|video|search"> says which page runs. The data formats
 * (data/*.json, record.cbor) are those `ingest site` writes. Everything read is untrusted: the
 * DOM is built with createElement and textContent only, every link is a relative path whose
 * segments are percent-encoded, and decoders are bounded. When a page has rendered its main
 * content it sets <body data-state="ready">, or "error" after showing an error (tests wait on
 * it; a search sets it again after each search). */
'use strict';

(() => {
  const MAX_JSON = 64 << 20; // bytes of one data/*.json file
  const MAX_RECORD = 1 << 20; // bytes of one record.cbor (the schema allows 256 KiB)
  const PER_BATCH = 24; // search results shown at once
  const utf8 = new TextEncoder();

  // ---------- Errors, state, DOM ----------

  /** An error shown to the reader as it is; `status` is the HTTP status (0: none). */
  class LoadError extends Error {
    constructor(message, status = 0) {
      super(message);
      this.status = status;
    }
  }

  const $ = (id) => document.getElementById(id);

  /** Creates an element: attributes (null/undefined/false left out), then children (nodes, or
   * strings added as text; arrays are flattened, null/false skipped). */
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  }

  /** Sets <body data-state> ("ready", "error"), or removes it (null: working). */
  function setState(state) {
    if (state) document.body.dataset.state = state;
    else delete document.body.dataset.state;
  }

  /** Sets the text of the aria-live status line. */
  function say(text) {
    $('status').textContent = text;
  }

  /** Shows an error (a LoadError's message as it is) in an alert after the status line, or
   * inside `where`, and sets the page's state to "error". */
  function showError(err, where) {
    const msg = err instanceof LoadError ? err.message : `Something went wrong: ${err && err.message}`;
    const box = h('p', { class: 'error', role: 'alert' }, msg);
    if (where) where.append(box);
    else $('status').after(box);
    setState('error');
  }

  /** Removes the alerts showError put in the page. */
  function clearErrors() {
    for (const e of document.querySelectorAll('main .error')) e.remove();
  }

  // ---------- Paths and checks of untrusted values ----------

  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const str = (v) => (typeof v === 'string' ? v : '');
  const nat = (v) => (Number.isSafeInteger(v) && v >= 0 ? v : null);

  /** Whether a string can be one path segment (a site, an id, a file name, a CID). */
  const okSeg = (s) => typeof s === 'string' && s !== '' && s !== '.' && s !== '..' &&
    !s.includes('/') && s.length <= 1024;

  /**
   * Whether a file name is one a browser would run as a page or a script (the extensions
   * `ingest`'s archive::active refuses): such a file is never linked, on the site's origin.
   */
  const ACTIVE = /\.(html?|shtml|xhtml?|hta|mht|mhtml|svgz?|xml|xslt?|rdf|mml|xbl|[mc]?js|jsx|wasm|swf)$/i;
  const active = (name) => ACTIVE.test(name);

  /** A relative path from segments, each checked and percent-encoded. */
  function path(...segs) {
    for (const s of segs) if (!okSeg(s)) throw new LoadError(`The name “${s}” cannot be a path.`);
    return segs.map(encodeURIComponent).join('/');
  }

  const catPath = (site, id, ...rest) => 'catalogue/' + path(site, id, ...rest);
  const siteHref = (site, p) => 'site.html?' + new URLSearchParams(p > 1 ? { s: site, p } : { s: site });
  const videoHref = (site, id) => 'video.html?' + new URLSearchParams({ s: site, id });
  const params = new URLSearchParams(location.search);

  // ---------- Fetching ----------

  /** GETs a relative path; a gateway that does not answer or answers an error is a LoadError. */
  async function get(p) {
    let r;
    try {
      r = await fetch(p, { credentials: 'omit' });
    } catch (e) {
      throw new LoadError(`The gateway did not answer: ${new URL(p, location.href).href} could not be loaded.`);
    }
    if (!r.ok) throw new LoadError(`The gateway answered ${r.status} for ${p}.`, r.status);
    return r;
  }

  /** The body of a GET as bytes, refused beyond max bytes (read as a stream, so a huge body
   * is never held). */
  async function fetchBytes(p, max) {
    const r = await get(p);
    const chunks = [];
    let n = 0;
    try {
      const reader = r.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        n += value.length;
        if (n > max) {
          reader.cancel();
          throw new LoadError(`${p} is not valid: larger than ${fmtSize(max)}.`);
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof LoadError) throw e;
      throw new LoadError(`The gateway stopped answering while sending ${p}.`);
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** A data file: JSON, an object whose `v` is 1. */
  async function fetchJson(p) {
    const bytes = await fetchBytes(p, MAX_JSON);
    let v;
    try {
      v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      throw new LoadError(`${p} is not valid JSON.`);
    }
    if (!isObj(v) || v.v !== 1) throw new LoadError(`${p} is not valid: not a version 1 data file.`);
    return v;
  }

  // ---------- Words and hashes (identical to the Rust builder) ----------

  /** FNV-1a 32-bit over the UTF-8 bytes of a string. */
  function fnv1a(s) {
    let x = 0x811c9dc5;
    for (const b of utf8.encode(s)) x = Math.imul(x ^ b, 0x01000193);
    return x >>> 0;
  }

  /** The words of a text: lower-cased runs of letters and digits, at least minLen code points
   * and at most maxLen UTF-8 bytes; each word once, in order. */
  function tokenize(text, minLen, maxLen) {
    const words = (text.toLowerCase().match(/[\p{Alphabetic}\p{N}]+/gu) || [])
      .filter((w) => [...w].length >= minLen && utf8.encode(w).length <= maxLen);
    return [...new Set(words)];
  }

  // ---------- DAG-CBOR and CIDs ----------

  /** A CID read from a record (tag 42); toString() gives its usual text form. */
  class Cid {
    constructor(bytes) {
      this.bytes = bytes;
    }
    toString() {
      const b = this.bytes;
      if (b.length === 34 && b[0] === 0x12 && b[1] === 0x20) return base58(b);
      return 'b' + base32(b);
    }
  }

  /** Decodes one DAG-CBOR item filling all of `bytes`: maps (text keys, no duplicates, as
   * null-prototype objects), arrays, text, bytes (Uint8Array), integers (safe range), float64,
   * true/false/null, CIDs (tag 42, as Cid). Bounded in depth and in items. */
  function decodeCbor(bytes) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const text = new TextDecoder('utf-8', { fatal: true });
    let at = 0;
    let items = 0;
    const fail = (why) => {
      throw new Error(`${why} at byte ${at}`);
    };
    const need = (n) => {
      if (n > bytes.length - at) fail('truncated');
    };
    const arg = (info) => {
      if (info < 24) return info;
      if (info > 27) fail('indefinite length or reserved value');
      const size = 2 ** (info - 24);
      need(size);
      let v = 0;
      for (let i = 0; i < size; i++) v = v * 256 + bytes[at++];
      if (!Number.isSafeInteger(v)) fail('integer too large');
      return v;
    };
    const item = (depth) => {
      if (depth > 64) fail('nested too deep');
      if (++items > 200000) fail('too many items');
      need(1);
      const head = bytes[at++];
      const major = head >> 5;
      const info = head & 31;
      if (major === 7) {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        if (info === 27) {
          need(8);
          at += 8;
          return dv.getFloat64(at - 8);
        }
        fail('a simple value DAG-CBOR does not allow');
      }
      const n = arg(info);
      if (major === 0) return n;
      if (major === 1) return -1 - n;
      if (major === 2 || major === 3) {
        need(n);
        const b = bytes.subarray(at, at + n);
        at += n;
        if (major === 2) return b;
        try {
          return text.decode(b);
        } catch (e) {
          fail('text not UTF-8');
        }
      }
      if (major === 4) {
        need(n); // every item takes a byte at least
        const a = [];
        for (let i = 0; i < n; i++) a.push(item(depth + 1));
        return a;
      }
      if (major === 5) {
        need(2 * n);
        const m = Object.create(null);
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          if (typeof k !== 'string') fail('map key not text');
          if (k in m) fail(`duplicate key "${k}"`);
          m[k] = item(depth + 1);
        }
        return m;
      }
      if (n !== 42) fail(`tag ${n}`);
      const b = item(depth + 1);
      if (!(b instanceof Uint8Array) || b.length < 3 || b[0] !== 0) fail('tag 42 not a CID');
      const c = b.subarray(1);
      if (!(c.length === 34 && c[0] === 0x12 && c[1] === 0x20) && c[0] !== 1) fail('unknown CID version');
      return new Cid(c);
    };
    const v = item(0);
    if (at !== bytes.length) fail('trailing bytes');
    return v;
  }

  /** RFC 4648 base32, lower case, no padding. */
  function base32(bytes) {
    const A = 'abcdefghijklmnopqrstuvwxyz234567';
    let out = '';
    let bits = 0;
    let acc = 0;
    for (const b of bytes) {
      acc = ((acc << 8) | b) & 0xffff;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        out += A[(acc >>> bits) & 31];
      }
    }
    if (bits > 0) out += A[(acc << (5 - bits)) & 31];
    return out;
  }

  /** Bitcoin's base58 (CIDv0). */
  function base58(bytes) {
    const A = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    const digits = []; // little-endian base-58 digits
    for (const b of bytes) {
      let carry = b;
      for (let j = 0; j < digits.length; j++) {
        carry += digits[j] * 256;
        digits[j] = carry % 58;
        carry = Math.floor(carry / 58);
      }
      for (; carry; carry = Math.floor(carry / 58)) digits.push(carry % 58);
    }
    let out = '';
    for (let i = 0; i < bytes.length && bytes[i] === 0; i++) out += '1';
    for (let i = digits.length - 1; i >= 0; i--) out += A[digits[i]];
    return out;
  }

  /** SHA-256: WebCrypto where the page is a secure context, else a plain implementation (a
   * gateway served over http:// from another host has no crypto.subtle). */
  async function sha256(bytes) {
    if (globalThis.crypto && crypto.subtle) {
      return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    }
    const ror = (x, n) => (x >>> n) | (x << (32 - n));
    const K = [];
    const H = [];
    for (let c = 2; K.length < 64; c++) {
      let prime = true;
      for (let d = 2; d * d <= c; d++) if (c % d === 0) prime = false;
      if (!prime) continue;
      if (H.length < 8) H.push((Math.sqrt(c) * 2 ** 32) | 0);
      K.push((Math.cbrt(c) * 2 ** 32) | 0);
    }
    const len = bytes.length;
    const total = Math.ceil((len + 9) / 64) * 64;
    const m = new Uint8Array(total);
    m.set(bytes);
    m[len] = 0x80;
    const dv = new DataView(m.buffer);
    dv.setUint32(total - 8, Math.floor(len / 2 ** 29));
    dv.setUint32(total - 4, (len * 8) >>> 0);
    const w = new Int32Array(64);
    for (let off = 0; off < total; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = dv.getInt32(off + 4 * i);
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15];
        const y = w[i - 2];
        w[i] = w[i - 16] + (ror(x, 7) ^ ror(x, 18) ^ (x >>> 3)) + w[i - 7] +
          (ror(y, 17) ^ ror(y, 19) ^ (y >>> 10));
      }
      let [a, b, c, d, e, f, g, k] = H;
      for (let i = 0; i < 64; i++) {
        const t1 = (k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
        const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        [k, g, f, e, d, c, b, a] = [g, f, e, (d + t1) | 0, c, b, a, (t1 + t2) | 0];
      }
      [a, b, c, d, e, f, g, k].forEach((v, i) => (H[i] = (H[i] + v) | 0));
    }
    const out = new DataView(new ArrayBuffer(32));
    H.forEach((v, i) => out.setInt32(4 * i, v));
    return new Uint8Array(out.buffer);
  }

  /** The CID of a record's bytes: CIDv1, dag-cbor, sha2-256, in base32. */
  async function recordCid(bytes) {
    const digest = await sha256(bytes);
    return new Cid(new Uint8Array([0x01, 0x71, 0x12, 0x20, ...digest])).toString();
  }

  /** Reads a record (docs/record-schema.md) from its bytes, keeping what the pages show:
   * {site, id, url, files: [{role, name, cid, size}], title, uploader, date, ms, description,
   * tags}. A record that breaks the schema's shape is a LoadError naming the file. */
  function parseRecord(bytes, p) {
    const bad = (why) => new LoadError(`${p} is not a valid record: ${why}.`);
    let r;
    try {
      r = decodeCbor(bytes);
    } catch (e) {
      throw bad(`not DAG-CBOR (${e.message})`);
    }
    if (!isObj(r) || r.version !== 1) throw bad('not a version 1 record');
    const src = isObj(r.source) ? r.source : {};
    const meta = isObj(r.meta) ? r.meta : {};
    if (!Array.isArray(r.files)) throw bad('no list of files');
    const files = r.files.map((f, i) => {
      if (!isObj(f) || typeof f.role !== 'string' || !okSeg(f.name) || !(f.cid instanceof Cid) ||
          nat(f.size) === null) throw bad(`files[${i}] is not a file`);
      return { role: f.role, name: f.name, cid: f.cid.toString(), size: f.size };
    }).filter((f) => !active(f.name));
    const withheld = r.files.length - files.length;
    return {
      site: str(src.site),
      id: str(src.id),
      url: str(src.url),
      files,
      withheld,
      title: str(meta.title),
      uploader: str(meta.uploader),
      date: str(meta.upload_date),
      ms: nat(meta.duration_ms),
      description: str(meta.description),
      tags: Array.isArray(meta.tags) ? meta.tags.filter((t) => typeof t === 'string') : [],
    };
  }

  /** Fetches and reads catalogue/<site>/<id>/record.cbor: {rec, bytes}. A 404 says the video is
   * not in the catalogue; another error status may say so too (js-ipfs answers 500 for a path
   * that does not exist). */
  async function fetchRecord(site, id) {
    const p = catPath(site, id, 'record.cbor');
    let bytes;
    try {
      bytes = await fetchBytes(p, MAX_RECORD);
    } catch (e) {
      if (e.status === 404) {
        throw new LoadError(`The video “${id}” of “${site}” is not in the catalogue (the gateway answered 404 for ${p}).`, 404);
      }
      if (e.status) {
        throw new LoadError(`Either the video “${id}” of “${site}” is not in the catalogue, or the gateway failed: it answered ${e.status} for ${p}.`, e.status);
      }
      throw e;
    }
    return { rec: parseRecord(bytes, p), bytes };
  }

  // ---------- Formatting ----------

  const fmtInt = (n) => n.toLocaleString('en-US');
  const plural = (n, one, many) => `${fmtInt(n)} ${n === 1 ? one : many}`;

  /** YYYYMMDD as 2024-01-31 ('' unless 8 digits). */
  const fmtDate = (d) => (/^\d{8}$/.test(d || '') ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : '');

  /** Milliseconds as m:ss or h:mm:ss ('' when unknown). */
  function fmtDuration(ms) {
    if (nat(ms) === null) return '';
    const s = Math.round(ms / 1000);
    const two = (n) => String(n).padStart(2, '0');
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    return hh ? `${hh}:${two(mm)}:${two(s % 60)}` : `${mm}:${two(s % 60)}`;
  }

  /** Bytes in binary units: 61.6 KiB. */
  function fmtSize(n) {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
    return i ? `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}` : plural(n, 'byte', 'bytes');
  }

  // ---------- The archive's index ----------

  /** data/index.json, checked: {title, generator, catalogue, videos, sites: [{name, videos,
   * pages}], search: {shards, cap, minLen, maxLen}, buckets}. A site's position in `sites` is
   * its number in search results. */
  async function loadIndex() {
    const p = 'data/index.json';
    const x = await fetchJson(p);
    const bad = () => new LoadError(`${p} is not valid.`);
    if (!Array.isArray(x.sites) || !isObj(x.search) || !isObj(x.conflicts)) throw bad();
    const sites = x.sites.map((s) => {
      if (!isObj(s) || !okSeg(s.name) || nat(s.videos) === null || !(nat(s.pages) >= 1)) throw bad();
      return { name: s.name, videos: s.videos, pages: s.pages };
    });
    const search = {
      shards: nat(x.search.shards),
      cap: nat(x.search.cap),
      minLen: nat(x.search.min_len),
      maxLen: nat(x.search.max_len),
    };
    const buckets = nat(x.conflicts.buckets);
    if (!(search.shards >= 1) || search.minLen === null || !search.maxLen || !(buckets >= 1)) throw bad();
    const idx = {
      title: str(x.title) || 'Video archive',
      generator: str(x.generator),
      catalogue: str(x.catalogue),
      videos: nat(x.videos) || 0,
      sites,
      search,
      buckets,
    };
    $('brand').textContent = idx.title;
    const foot = [idx.catalogue && `Catalogue ${idx.catalogue}`, idx.generator && `built by ${idx.generator}`];
    const built = foot.filter(Boolean).join(', ');
    $('built').textContent = built && `${built}.`;
    return idx;
  }

  /** The site named `name`, or a LoadError saying there is none. */
  function findSite(idx, name) {
    const site = idx.sites.find((s) => s.name === name);
    if (!site) throw new LoadError(name ? `There is no site “${name}” in this archive.` : 'No site was given.');
    return site;
  }

  const setTitle = (text, idx) => {
    $('title').textContent = text;
    document.title = text === idx.title ? text : `${text} · ${idx.title}`;
  };

  // ---------- Pieces of pages ----------

  /** A thumbnail box: the lazily loaded image (or "No thumbnail" when there is none or it fails
   * to load) and the duration over it. */
  function thumbBox(src, title, ms) {
    const box = h('div', { class: 'thumb' });
    const none = () => h('span', { class: 'nothumb' }, 'No thumbnail');
    if (src) {
      const img = h('img', { alt: `Thumbnail: ${title}`, loading: 'lazy', decoding: 'async', width: 320, height: 180 });
      img.addEventListener('error', () => img.replaceWith(none()), { once: true });
      img.src = src;
      box.append(img);
    } else box.append(none());
    const d = fmtDuration(ms);
    if (d) box.append(h('span', { class: 'dur' }, d));
    return box;
  }

  /** A <time> for YYYYMMDD (null when not a date). */
  function dateEl(d) {
    const iso = fmtDate(d);
    return iso ? h('time', { datetime: iso }, iso) : null;
  }

  /** One video as a card: thumbnail, title linking to its page, uploader and date. `v` is
   * {id, t, u, d, ms, th} (a listing entry, or made from a record). */
  function card(site, v, extra) {
    const title = v.t || v.id;
    const meta = h('p', { class: 'meta' }, v.u ? h('span', {}, v.u) : null, dateEl(v.d));
    return h('li', { class: 'card', 'data-id': v.id, ...extra },
      thumbBox(v.th && !active(v.th) ? catPath(site, v.id, v.th) : null, title, v.ms),
      h('h2', {}, h('a', { href: videoHref(site, v.id) }, title)),
      meta);
  }

  // ---------- Home ----------

  async function pageHome() {
    const idx = await loadIndex();
    setTitle(idx.title, idx);
    say(`${plural(idx.videos, 'video', 'videos')} from ${plural(idx.sites.length, 'site', 'sites')}.`);
    $('sites').replaceChildren(...idx.sites.map((s) => h('li', { 'data-site': s.name, 'data-count': s.videos },
      h('a', { href: siteHref(s.name, 1) }, s.name), ' ',
      h('span', { class: 'count' }, plural(s.videos, 'video', 'videos')))));
    setState('ready');
  }

  // ---------- A site, one page of its listing ----------

  /** A listing page's entries, checked (an entry without an id is refused). */
  function listing(x, p) {
    if (!Array.isArray(x.videos)) throw new LoadError(`${p} is not valid.`);
    return x.videos.map((v) => {
      if (!isObj(v) || !okSeg(v.id)) throw new LoadError(`${p} is not valid: an entry has no id.`);
      return { id: v.id, t: str(v.t), u: str(v.u), d: str(v.d), ms: nat(v.ms), th: okSeg(v.th) ? v.th : '' };
    });
  }

  async function pageSite() {
    const idx = await loadIndex();
    const site = findSite(idx, params.get('s'));
    const raw = params.get('p');
    const n = raw === null ? 1 : /^[0-9]{1,9}$/.test(raw) ? Number(raw) : 0;
    if (n < 1 || n > site.pages) {
      throw new LoadError(`There is no page ${raw} of “${site.name}”: it has ${plural(site.pages, 'page', 'pages')}.`);
    }
    setTitle(site.name, idx);
    const of = `Page ${n} of ${site.pages}`;
    say(`${of}, loading…`);
    const p = `data/sites/${path(site.name)}/${n}.json`;
    const videos = listing(await fetchJson(p), p);
    $('videos').replaceChildren(...videos.map((v) => card(site.name, v)));
    say(`${of}: ${plural(videos.length, 'video', 'videos')} of ${fmtInt(site.videos)}.`);
    const link = (k, text, rel) => (k >= 1 && k <= site.pages
      ? h('a', { href: siteHref(site.name, k), rel }, text)
      : h('span', { class: 'off', 'aria-disabled': 'true' }, text));
    $('pager').replaceChildren(link(n - 1, '← Previous', 'prev'), ' ', h('span', { 'aria-current': 'page' }, of), ' ',
      link(n + 1, 'Next →', 'next'));
    setState('ready');
  }

  // ---------- A video ----------

  async function pageVideo() {
    const idx = await loadIndex();
    const site = findSite(idx, params.get('s')).name;
    const id = params.get('id') || '';
    if (!okSeg(id)) throw new LoadError('No valid video id was given.');
    setTitle(id, idx);
    say('Loading the record…');
    const { rec, bytes } = await fetchRecord(site, id);
    const cid = await recordCid(bytes);
    const title = rec.title || id;
    setTitle(title, idx);
    const at = (name) => catPath(site, id, name);
    const out = $('video');

    // The player: the first video file, else the first audio file.
    const media = rec.files.find((f) => f.role === 'video') || rec.files.find((f) => f.role === 'audio');
    const thumb = rec.files.find((f) => f.role === 'thumbnail');
    if (media) {
      const player = h(media.role, { id: 'player', controls: true, preload: 'metadata',
        poster: media.role === 'video' && thumb ? at(thumb.name) : null });
      player.addEventListener('error', () => {
        const e = player.error;
        out.querySelector('.player').append(h('p', { class: 'error', role: 'alert' },
          `${media.name} could not be played${e ? ` (${e.message || `error ${e.code}`})` : ''}.`));
      });
      player.src = at(media.name);
      out.append(h('div', { class: 'player' }, player));
    } else out.append(h('p', { class: 'note' }, 'This record has no video or audio file.'));

    // About: thumbnail, uploader, date, duration, tags, source, description.
    const img = thumb ? h('img', { id: 'thumb', alt: `Thumbnail: ${title}` }) : null;
    const noThumb = () => h('span', { class: 'nothumb side' }, 'No thumbnail');
    if (img) {
      img.addEventListener('error', () => {
        img.replaceWith(noThumb());
        const p = $('player');
        if (p) p.removeAttribute('poster');
      }, { once: true });
      img.src = at(thumb.name);
    }
    const dl = h('dl', { class: 'facts' });
    const fact = (k, ...v) => dl.append(h('dt', {}, k), h('dd', {}, ...v));
    if (rec.uploader) fact('Uploader', rec.uploader);
    if (fmtDate(rec.date)) fact('Date', dateEl(rec.date));
    if (fmtDuration(rec.ms)) fact('Duration', fmtDuration(rec.ms));
    fact('Site', h('a', { href: siteHref(site, 1) }, site));
    fact('Id', h('code', {}, id));
    if (rec.url) {
      fact('Source', /^https?:\/\//i.test(rec.url)
        ? h('a', { href: rec.url, rel: 'noopener noreferrer nofollow' }, rec.url) : rec.url);
    }
    if (rec.tags.length) fact('Tags', h('ul', { class: 'tags' }, rec.tags.map((t) => h('li', {}, t))));
    out.append(h('section', { class: 'about', 'aria-label': 'About' }, img || noThumb(), dl));
    if (rec.description) {
      out.append(h('section', { 'aria-labelledby': 'h-desc' }, h('h2', { id: 'h-desc' }, 'Description'),
        h('p', { class: 'desc' }, rec.description)));
    }

    // Every file, the record, the conflicting records.
    const rows = rec.files.map((f) => h('tr', { 'data-cid': f.cid },
      h('td', {}, f.role),
      h('td', {}, h('a', { href: at(f.name) }, f.name)),
      h('td', { class: 'num' }, fmtSize(f.size), h('br'), h('small', {}, plural(f.size, 'byte', 'bytes'))),
      h('td', {}, h('code', {}, f.cid))));
    out.append(h('section', { 'aria-labelledby': 'h-files' }, h('h2', { id: 'h-files' }, 'Files'),
      h('div', { class: 'scroll' }, h('table', { id: 'files' },
        h('thead', {}, h('tr', {}, ['Role', 'Name', 'Size', 'CID'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows))),
      rec.withheld ? h('p', { class: 'error' }, `${plural(rec.withheld, 'file is', 'files are')} not shown: a browser would run ${rec.withheld === 1 ? 'it' : 'them'} as a page.`) : null,
      h('p', { id: 'record', 'data-cid': cid }, 'The record: ', h('a', { href: at('record.cbor') }, 'record.cbor'),
        ` (${plural(bytes.length, 'byte', 'bytes')}), CID `, h('code', {}, cid))));
    const conf = h('section', { 'aria-labelledby': 'h-conf' }, h('h2', { id: 'h-conf' }, 'Conflicting records'));
    out.append(conf);
    say('');
    try {
      const others = await conflicts(idx, site, id);
      conf.append(h('p', {}, others.length
        ? `Other volunteers archived this video with different records (${others.length}):`
        : 'No other record of this video.'),
      h('ul', { id: 'conflicts' }, others.map((c) => h('li', { 'data-cid': c },
        h('a', { href: 'catalogue/_conflicts/' + path(site, id, c, 'record.cbor') }, h('code', {}, c))))));
    } catch (e) {
      conf.append(h('ul', { id: 'conflicts' }));
      showError(e, conf);
      return;
    }
    setState('ready');
  }

  /** The record CIDs that conflict with <site>/<id>, from its conflicts bucket. */
  async function conflicts(idx, site, id) {
    const key = `${site}/${id}`;
    const p = `data/conflicts/${fnv1a(key) % idx.buckets}.json`;
    const x = await fetchJson(p);
    if (!isObj(x.videos)) throw new LoadError(`${p} is not valid.`);
    const list = has(x.videos, key) ? x.videos[key] : [];
    if (!Array.isArray(list) || !list.every((c) => okSeg(c) && /^[A-Za-z0-9]+$/.test(c))) {
      throw new LoadError(`${p} is not valid.`);
    }
    return list;
  }

  // ---------- Search ----------

  async function pageSearch() {
    const idx = await loadIndex();
    const { shards: nShards, minLen, maxLen } = idx.search;
    setTitle('Search', idx);
    const input = $('q');
    const results = $('results');
    const notes = $('notes');
    const more = $('more');
    const shards = new Map(); // shard number -> Promise of its words (a failed fetch is forgotten)
    let seq = 0; // the latest search: an older one finishing late changes nothing
    let timer = 0;
    let found = []; // [{site, id}] of the latest search
    let shown = 0;

    /** Shard k's words, fetched once. */
    const shard = (k) => {
      if (!shards.has(k)) {
        const p = `data/search/${k}.json`;
        const got = fetchJson(p).then((x) => {
          if (!isObj(x.words)) throw new LoadError(`${p} is not valid.`);
          return { p, words: x.words };
        });
        got.catch(() => shards.delete(k));
        shards.set(k, got);
      }
      return shards.get(k);
    };

    /** A word's videos [{site, id}] and total count, or null when no shard has it. */
    async function lookup(word) {
      const { p, words } = await shard(fnv1a(word) % nShards);
      if (!has(words, word)) return null;
      const e = words[word];
      const bad = () => new LoadError(`${p} is not valid.`);
      if (!isObj(e) || !Array.isArray(e.r) || e.r.length % 2) throw bad();
      const list = [];
      for (let i = 0; i < e.r.length; i += 2) {
        const s = idx.sites[e.r[i]];
        if (nat(e.r[i]) === null || !s || !okSeg(e.r[i + 1])) throw bad();
        list.push({ site: s.name, id: e.r[i + 1] });
      }
      return { list, n: nat(e.n) ?? list.length };
    }

    /** Shows the next batch of results, then fetches their records; resolves when all are in. */
    function showMore(my) {
      const batch = found.slice(shown, shown + PER_BATCH);
      shown += batch.length;
      more.hidden = shown >= found.length;
      const loads = batch.map(async ({ site, id }) => {
        const li = h('li', { class: 'card', 'data-site': site, 'data-id': id },
          h('div', { class: 'thumb' }), h('h2', {}, h('a', { href: videoHref(site, id) }, `${site}/${id}`)),
          h('p', { class: 'meta' }, 'Loading…'));
        results.append(li);
        let v;
        try {
          const { rec } = await fetchRecord(site, id);
          const th = rec.files.find((f) => f.role === 'thumbnail');
          v = { id, t: rec.title, u: rec.uploader, d: rec.date, ms: rec.ms, th: th && th.name };
        } catch (e) {
          li.querySelector('.meta').textContent = e instanceof LoadError ? e.message : String(e);
          return;
        }
        if (my === seq) li.replaceWith(card(site, v, { 'data-site': site }));
      });
      return Promise.all(loads);
    }

    /** Runs one search and shows its results. */
    async function run(q) {
      const my = ++seq;
      setState(null);
      clearErrors();
      const url = q ? `?q=${encodeURIComponent(q)}` : location.pathname;
      if (location.search !== (q ? url : '')) history.replaceState(null, '', url);
      document.title = q ? `${q} · Search · ${idx.title}` : `Search · ${idx.title}`;
      results.replaceChildren();
      notes.replaceChildren();
      more.hidden = true;
      found = [];
      shown = 0;
      const words = tokenize(q, minLen, maxLen);
      if (!words.length) {
        say(q ? `Type words of at least ${minLen} letters.` : 'Type a word of a title, an uploader or a tag.');
        setState('ready');
        return;
      }
      say('Searching…');
      try {
        const hits = await Promise.all(words.map(lookup));
        if (my !== seq) return;
        const missing = words.find((w, i) => !hits[i] || !hits[i].list.length);
        if (missing) {
          say(`No video has the word “${missing}”.`);
          setState('ready');
          return;
        }
        // Videos having every word, in the order of the first word's list.
        const sets = hits.slice(1).map((x) => new Set(x.list.map((v) => `${v.site}/${v.id}`)));
        found = hits[0].list.filter((v) => sets.every((s) => s.has(`${v.site}/${v.id}`)));
        words.forEach((w, i) => {
          if (hits[i].n > hits[i].list.length) {
            notes.append(h('li', {}, `The word “${w}” is in ${fmtInt(hits[i].n)} videos: only the newest ${fmtInt(hits[i].list.length)} were searched.`));
          }
        });
        if (!found.length) {
          say(`No video has all the words ${words.map((w) => `“${w}”`).join(', ')}.`);
          setState('ready');
          return;
        }
        say(plural(found.length, 'video', 'videos'));
        await showMore(my);
        if (my === seq) setState('ready');
      } catch (e) {
        if (my === seq) {
          say('The search failed.');
          showError(e);
        }
      }
    }

    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => run(input.value.trim()), 250);
    });
    $('search').addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearTimeout(timer);
      run(input.value.trim());
    });
    more.addEventListener('click', () => showMore(seq));
    input.value = params.get('q') || '';
    await run(input.value.trim());
  }

  // ---------- Start ----------

  const pages = { home: pageHome, site: pageSite, video: pageVideo, search: pageSearch };
  const start = () => {
    const page = pages[document.body.dataset.page];
    if (!page) return;
    page().catch((e) => {
      say('');
      showError(e);
    });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
