//! A request body written by a producer thread as it goes (a CAR derived from files, or a CAR
//! file checked block by block), handed to the HTTP client through a small bounded channel:
//! memory stays at a few chunks whatever the size of the body. The client takes it as an
//! `http_body::Body` of 256 KiB frames (a blocking reader would be read 8 KiB at a time, a
//! write and a chunk each: three times the system time for a 1 GiB push).
//!
//! The body is one `multipart/form-data` part, as `curl -F file=@x.car` sends it. If the
//! producer fails, the body ends with an error instead of its closing boundary, so the HTTP
//! client aborts the request and the node never sees a complete upload.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use tokio::sync::mpsc::{channel, Receiver, Sender};

/// The size of one chunk handed to the HTTP client.
const CHUNK: usize = 256 * 1024;

/// Chunks in flight between the producer and the HTTP client.
const IN_FLIGHT: usize = 8;

enum Message {
    Data(Vec<u8>),
    End,
}

/// The producer's end: a [`Write`] whose bytes become the body, inside the multipart framing.
pub(crate) struct BodyWriter {
    tx: Sender<Message>,
    buf: Vec<u8>,
    boundary: String,
    stopped: Arc<AtomicBool>,
}

/// The HTTP client's end: the body, as frames.
pub(crate) struct BodyReader {
    rx: Receiver<Message>,
    ended: bool,
}

/// A body of one multipart part named `file`: the writer (preamble already written), the
/// reader, the boundary for the `Content-Type`, and a flag set when the writer found the
/// reader gone (the request stopped: its own error says why, whatever the producer saw).
pub(crate) fn multipart_body(filename: &str) -> (BodyWriter, BodyReader, String, Arc<AtomicBool>) {
    let (tx, rx) = channel(IN_FLIGHT);
    // 32 random alphanumerics: a verified CAR cannot be made to contain a boundary its maker
    // could not know.
    let boundary: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(32)
        .collect();
    let boundary = format!("ingest-{boundary}");
    let stopped = Arc::new(AtomicBool::new(false));
    let mut writer = BodyWriter {
        tx,
        buf: Vec::with_capacity(CHUNK),
        boundary: boundary.clone(),
        stopped: stopped.clone(),
    };
    let filename: String = filename
        .chars()
        .map(|c| if c == '"' || c.is_control() { '_' } else { c })
        .collect();
    writer.buf.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/vnd.ipld.car\r\n\r\n"
        )
        .as_bytes(),
    );
    let reader = BodyReader { rx, ended: false };
    (writer, reader, boundary, stopped)
}

impl BodyWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Message::Data(chunk))
            .map_err(|_| self.gone())
    }

    /// The reader is gone: remembers it, and says so.
    fn gone(&self) -> io::Error {
        self.stopped.store(true, Ordering::Relaxed);
        io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped")
    }

    /// Writes the closing boundary and ends the body. Dropping a writer without finishing it
    /// makes the body end with an error.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        let epilogue = format!("\r\n--{}--\r\n", self.boundary);
        self.buf.extend_from_slice(epilogue.as_bytes());
        self.send()?;
        self.tx.blocking_send(Message::End).map_err(|_| self.gone())
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl http_body::Body for BodyReader {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Message::Data(chunk))) => {
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
            }
            Poll::Ready(Some(Message::End)) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(None) => Poll::Ready(Some(Err(io::Error::other(
                "the body stopped before its end (its producer failed)",
            )))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}

impl BodyReader {
    /// Reads the whole body on this thread (tests).
    #[cfg(test)]
    fn read_all(mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match self.rx.blocking_recv() {
                Some(Message::Data(chunk)) => out.extend_from_slice(&chunk),
                Some(Message::End) => return Ok(out),
                None => return Err(io::Error::other("stopped")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_body_is_one_multipart_part() {
        let (mut w, r, boundary, stopped) = multipart_body("a\"b.car");
        let producer = std::thread::spawn(move || {
            for _ in 0..1000 {
                w.write_all(&[7u8; 1000]).unwrap();
            }
            w.finish().unwrap();
        });
        let body = r.read_all().unwrap();
        producer.join().unwrap();
        let head = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a_b.car\"\r\nContent-Type: application/vnd.ipld.car\r\n\r\n");
        let tail = format!("\r\n--{boundary}--\r\n");
        assert!(body.starts_with(head.as_bytes()));
        assert!(body.ends_with(tail.as_bytes()));
        assert_eq!(body.len(), head.len() + 1_000_000 + tail.len());
        assert!(body[head.len()..body.len() - tail.len()]
            .iter()
            .all(|&b| b == 7));
        assert!(!stopped.load(Ordering::Relaxed));
    }

    #[test]
    fn an_unfinished_body_ends_with_an_error() {
        let (mut w, r, _, _) = multipart_body("x.car");
        let producer = std::thread::spawn(move || {
            w.write_all(&[1u8; CHUNK * 3]).unwrap();
            drop(w);
        });
        assert!(r.read_all().is_err());
        producer.join().unwrap();
    }

    #[test]
    fn a_gone_reader_stops_the_writer() {
        let (mut w, r, _, stopped) = multipart_body("x.car");
        drop(r);
        let e = w.write_all(&[0u8; CHUNK * 2]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        assert!(stopped.load(Ordering::Relaxed));
    }
}
