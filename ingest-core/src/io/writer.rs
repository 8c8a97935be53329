//! Writing large files without stalling the pipeline: a [`FileWriter`] hands the data to a
//! thread that writes it, and a [`Writeback`] pushes what was written to the disk every
//! 100 ms, so the final sync only has the tail left.
//!
//! Copying into the page cache is not free: on the 2-core machine this was measured on, a
//! buffered write costs about a second of CPU per GiB, as much as hashing it. So a writer made
//! with [`FileWriter::direct`] writes whole 4 KiB blocks with `O_DIRECT` (Linux): the disk
//! reads them from memory and the CPU does not copy them. The unaligned tail is written
//! through the page cache whenever the writer drains, and a file system that refuses
//! `O_DIRECT` gets buffered writes instead.
//!
//! This pays where several streams compete for the cores: `ingest fetch` receives, hashes and
//! writes a file and a CAR at once (1 GiB from 127.0.0.1: 2.0–2.6 s with buffered writes on the
//! receiving thread, 1.6–1.9 s with these writers, which is the disk's own limit for 2 GiB; the
//! file alone 1.2–1.4 s). For one stream read from disk (`ingest add
//! --car`) a plain buffered write with a [`Writeback`] measured as fast or faster (1 GiB:
//! 0.93–1.07 s, against 0.99–1.32 s), so that is what `add` and `merge` keep using.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes gathered before they are handed to the writing thread.
const BUF_LEN: usize = 1 << 20;
/// Buffers in flight: at most this many MiB wait to be written.
const IN_FLIGHT: usize = 8;
/// Bytes are handed to the thread at least this often, however slowly they come.
const HANDOVER_INTERVAL: Duration = Duration::from_millis(250);
/// How often a [`Writeback`] syncs.
const WRITEBACK_INTERVAL: Duration = Duration::from_millis(100);

enum Msg {
    Data(Vec<u8>),
    /// Answered once everything before it is written.
    Drain(SyncSender<()>),
}

/// Direct writes are whole blocks of this size, from memory aligned to it, at offsets aligned
/// to it (4096 covers disks of 512- and 4096-byte sectors).
const ALIGN: usize = 4096;
/// Bytes staged for one direct write.
const STAGE_LEN: usize = 4 << 20;

/// A file written, in order, by a background thread. Reading, seeking and
/// [`FileWriter::drain`] first wait for every byte written so far to reach the file.
///
/// A write error ends the thread; it is returned by the next call that waits for it (a write
/// once the queue is full, a drain, a seek) with its original kind.
#[derive(Debug)]
pub struct FileWriter {
    file: File,
    buf: Vec<u8>,
    tx: Option<SyncSender<Msg>>,
    recycled: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<()>>>,
    /// When bytes were last handed to the thread.
    sent: Instant,
}

impl FileWriter {
    /// Writes `file` from its current position, through the page cache.
    pub fn new(file: File) -> io::Result<FileWriter> {
        FileWriter::start(file, None)
    }

    /// Writes `file` (opened at `path`) from its current position, whole blocks with
    /// `O_DIRECT` where the system and file system allow it.
    pub fn direct(file: File, path: &Path) -> io::Result<FileWriter> {
        let direct = open_direct(path);
        FileWriter::start(file, direct)
    }

    fn start(file: File, direct: Option<File>) -> io::Result<FileWriter> {
        let mut out = Out {
            file: file.try_clone()?,
            direct: direct.map(Stage::new),
        };
        let (tx, rx) = mpsc::sync_channel::<Msg>(IN_FLIGHT);
        let (give_back, recycled) = mpsc::sync_channel(IN_FLIGHT + 1);
        let thread = std::thread::Builder::new()
            .name("file-writer".into())
            .spawn(move || -> io::Result<()> {
                loop {
                    let msg = match rx.try_recv() {
                        Ok(msg) => msg,
                        Err(mpsc::TryRecvError::Disconnected) => break,
                        Err(mpsc::TryRecvError::Empty) => {
                            // Nothing waiting: a slow download's bytes reach the disk now.
                            out.write_blocks()?;
                            match rx.recv() {
                                Ok(msg) => msg,
                                Err(_) => break,
                            }
                        }
                    };
                    match msg {
                        Msg::Data(mut buf) => {
                            out.write(&buf)?;
                            buf.clear();
                            let _ = give_back.try_send(buf);
                        }
                        Msg::Drain(done) => {
                            out.flush()?;
                            let _ = done.send(());
                        }
                    }
                }
                out.flush()
            })?;
        Ok(FileWriter {
            file,
            buf: Vec::with_capacity(BUF_LEN),
            tx: Some(tx),
            recycled,
            thread: Some(thread),
            sent: Instant::now(),
        })
    }

    /// Waits until every byte written so far is in the file, and returns the file (positioned
    /// after them) for direct use.
    pub fn drain(&mut self) -> io::Result<&mut File> {
        self.send_buf()?;
        let (done, wait) = mpsc::sync_channel(1);
        self.send(Msg::Drain(done))?;
        if wait.recv().is_err() {
            return Err(self.stopped());
        }
        Ok(&mut self.file)
    }

    /// Drains, stops the thread and returns the file.
    pub fn into_inner(mut self) -> io::Result<File> {
        self.send_buf()?;
        self.tx = None;
        let result = self.thread.take().map(JoinHandle::join);
        match result {
            Some(Ok(Err(e))) => return Err(e),
            Some(Err(_)) => return Err(io::Error::other("the file-writing thread panicked")),
            _ => {}
        }
        let file = self.file.try_clone()?;
        Ok(file)
    }

    fn send_buf(&mut self) -> io::Result<()> {
        self.sent = Instant::now();
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUF_LEN));
        let full = std::mem::replace(&mut self.buf, next);
        self.send(Msg::Data(full))
    }

    fn send(&mut self, msg: Msg) -> io::Result<()> {
        let sent = match &self.tx {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.stopped())
        }
    }

    /// The thread's error, once it has stopped.
    fn stopped(&mut self) -> io::Error {
        self.tx = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => io::Error::other("the file-writing thread panicked"),
            _ => io::Error::other("the file-writing thread has stopped"),
        }
    }
}

/// The writing thread's side: the file, and the staging area of direct writes.
struct Out {
    file: File,
    direct: Option<Stage>,
}

/// Bytes waiting for a whole block, to be written with `O_DIRECT`.
struct Stage {
    fd: File,
    /// `STAGE_LEN` bytes from `base` are aligned to `ALIGN`.
    mem: Vec<u8>,
    base: usize,
    len: usize,
    /// The file offset of the first staged byte (aligned), once known.
    at: Option<u64>,
    /// The file system refused a direct write: write through the page cache from then on.
    refused: bool,
}

impl Stage {
    fn new(fd: File) -> Stage {
        let mem = vec![0u8; STAGE_LEN + ALIGN];
        let base = mem.as_ptr().align_offset(ALIGN);
        Stage {
            fd,
            mem,
            base,
            len: 0,
            at: None,
            refused: false,
        }
    }

    fn staged(&mut self) -> &mut [u8] {
        &mut self.mem[self.base..self.base + STAGE_LEN]
    }

    /// Writes the whole blocks staged, keeping the rest at the front.
    fn write_blocks(&mut self, file: &File) -> io::Result<()> {
        let n = self.len / ALIGN * ALIGN;
        let Some(at) = self.at.filter(|_| n > 0) else {
            return Ok(());
        };
        let (base, len) = (self.base, self.len);
        let blocks = &self.mem[base..base + n];
        let direct = if self.refused {
            None
        } else {
            Some(self.fd.write_all_at(blocks, at))
        };
        match direct {
            Some(Ok(())) => {}
            Some(Err(e)) if e.kind() != io::ErrorKind::InvalidInput => return Err(e),
            _ => {
                self.refused = true;
                file.write_all_at(blocks, at)?;
            }
        }
        self.mem.copy_within(base + n..base + len, base);
        self.len -= n;
        self.at = Some(at + n as u64);
        Ok(())
    }
}

impl Out {
    fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        let Some(stage) = &mut self.direct else {
            return self.file.write_all(data);
        };
        if stage.at.is_none() {
            // Start at the file's position: re-stage the start of its block, to write it whole.
            let pos = self.file.stream_position()?;
            let head = (pos % ALIGN as u64) as usize;
            let start = pos - head as u64;
            self.file
                .read_exact_at(&mut stage.staged()[..head], start)?;
            stage.len = head;
            stage.at = Some(start);
        }
        while !data.is_empty() {
            let n = data.len().min(STAGE_LEN - stage.len);
            let len = stage.len;
            stage.staged()[len..len + n].copy_from_slice(&data[..n]);
            stage.len += n;
            data = &data[n..];
            if stage.len == STAGE_LEN {
                stage.write_blocks(&self.file)?;
            }
        }
        Ok(())
    }

    /// Writes the whole blocks staged.
    fn write_blocks(&mut self) -> io::Result<()> {
        match &mut self.direct {
            Some(stage) => stage.write_blocks(&self.file),
            None => Ok(()),
        }
    }

    /// Writes everything staged; the file's position is then right after it, where the owner
    /// expects it.
    fn flush(&mut self) -> io::Result<()> {
        let Some(stage) = &mut self.direct else {
            return Ok(());
        };
        let Some(_) = stage.at else { return Ok(()) };
        stage.write_blocks(&self.file)?;
        let at = stage.at.take().expect("known while staging");
        let tail_len = stage.len;
        let tail = &stage.staged()[..tail_len];
        self.file.write_all_at(tail, at)?;
        stage.len = 0;
        self.file.seek(SeekFrom::Start(at + tail_len as u64))?;
        Ok(())
    }
}

/// `path` opened for writing with `O_DIRECT`, if the system allows it.
#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_: &Path) -> Option<File> {
    None
}

impl Write for FileWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BUF_LEN - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        // Bytes that arrive slowly are not kept waiting: a killed download loses little.
        if self.buf.len() == BUF_LEN || self.sent.elapsed() >= HANDOVER_INTERVAL {
            self.send_buf()?;
        }
        Ok(n)
    }

    /// Hands what is buffered to the thread (without waiting for it to be written).
    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

impl Read for FileWriter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.drain()?.read(buf)
    }
}

impl Seek for FileWriter {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.drain()?.seek(pos)
    }
}

impl Drop for FileWriter {
    /// Writes what is left (as `BufWriter` does, ignoring errors) and stops the thread.
    fn drop(&mut self) {
        let _ = self.send_buf();
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Syncs a file's data every 100 ms on a thread of its own until dropped, so the disk works
/// while the file is written and the final `sync_all` has only the tail left.
#[derive(Debug)]
pub struct Writeback {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Writeback {
    /// Starts syncing `file` (a handle of its own, as from `try_clone`).
    pub fn start(file: File) -> Writeback {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::park_timeout(WRITEBACK_INTERVAL);
                // An error here resurfaces in the final sync_all, which the owner checks.
                let _ = file.sync_data();
            }
        });
        Writeback {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffered_writer_writes_in_order_and_reads_after_draining() {
        in_order(false);
    }

    #[test]
    fn a_direct_writer_writes_in_order_and_reads_after_draining() {
        in_order(true);
    }

    fn in_order(direct: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // An unaligned start: the first block is re-read and written whole.
        std::fs::write(&path, b"abc").unwrap();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        file.seek(SeekFrom::End(0)).unwrap();
        let mut w = if direct {
            FileWriter::direct(file, &path).unwrap()
        } else {
            FileWriter::new(file).unwrap()
        };
        let mut expected = b"abc".to_vec();
        for i in 0..3000u32 {
            let piece = vec![(i % 251) as u8; (i as usize * 7) % 5000];
            w.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
        }
        let end = w.stream_position().unwrap();
        assert_eq!(end, expected.len() as u64);
        w.seek(SeekFrom::Start(0)).unwrap();
        let mut first = [0u8; 10];
        w.read_exact(&mut first).unwrap();
        assert_eq!(first, expected[..10]);
        w.seek(SeekFrom::Start(end)).unwrap();
        w.write_all(b"tail").unwrap();
        expected.extend_from_slice(b"tail");
        // The header of a CAR is patched in place, as `CarWriter::finish_with_root` does.
        w.seek(SeekFrom::Start(1)).unwrap();
        w.write_all(b"XY").unwrap();
        expected[1..3].copy_from_slice(b"XY");
        w.seek(SeekFrom::End(0)).unwrap();
        w.write_all(&[7u8; 10_000]).unwrap();
        expected.extend_from_slice(&[7u8; 10_000]);
        drop(w.into_inner().unwrap());
        assert!(
            std::fs::read(&path).unwrap() == expected,
            "direct: {direct}"
        );
    }

    #[test]
    fn a_write_error_is_returned() {
        // /dev/full fails every write with ENOSPC.
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let mut w = FileWriter::new(full).unwrap();
        let mut result = Ok(());
        for _ in 0..(IN_FLIGHT + 4) {
            result = w.write_all(&vec![1u8; BUF_LEN]);
            if result.is_err() {
                break;
            }
        }
        let err = result.and_then(|_| w.drain().map(drop)).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28), "{err}");
    }
}
