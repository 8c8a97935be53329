//! Downloading and archiving a list of videos, several at a time: a pool of threads shares one
//! [`Fetcher`] (so its per-host limits hold across them), each takes the next download from the
//! list, and every result comes back to the calling thread as it ends.

use std::num::NonZeroUsize;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};

use super::archive::{archive_download, ArchiveTo, Download, DownloadError, Downloaded};
use super::{Event, Fetcher};

/// Follows the downloads of [`archive_many`] as they run, for progress displays. Called from
/// the downloading threads.
pub trait BatchObserver: Sync {
    /// What follows one download (a progress bar, say).
    type Item;
    /// The download at `index` in the list starts.
    fn started(&self, index: usize, download: &Download) -> Self::Item;
    /// Something happened during a download (see [`Event`]).
    fn event(&self, item: &Self::Item, event: Event<'_>);
    /// A download ended; its result goes to the calling thread next.
    fn finished(&self, item: Self::Item);
}

/// No one follows.
impl BatchObserver for () {
    type Item = ();
    fn started(&self, _: usize, _: &Download) {}
    fn event(&self, _: &(), _: Event<'_>) {}
    fn finished(&self, _: ()) {}
}

/// Downloads and archives every one of `downloads` with `fetcher` as `to` says
/// ([`archive_download`]), `jobs` at a time. `observer` follows each download from the
/// downloading threads; `done` gets each one's index in the list, the download and its result
/// on the calling thread, in the order they end. A failed download does not stop the others.
///
/// If `done` fails, no download starts after it (the ones under way end) and its error is
/// returned.
pub fn archive_many<O: BatchObserver, E>(
    fetcher: &Fetcher,
    downloads: Vec<Download>,
    to: &ArchiveTo<'_>,
    jobs: NonZeroUsize,
    observer: &O,
    mut done: impl FnMut(usize, Download, Result<Downloaded, DownloadError>) -> Result<(), E>,
) -> Result<(), E> {
    let workers = jobs.get().min(downloads.len());
    let queue = Mutex::new(downloads.into_iter().enumerate());
    let (sender, results) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
                let Some((index, download)) = next else {
                    return;
                };
                let item = observer.started(index, &download);
                let result = archive_download(fetcher, &download, to, &mut |event| {
                    observer.event(&item, event)
                });
                observer.finished(item);
                // The caller stopped listening: start nothing more.
                if sender.send((index, download, result)).is_err() {
                    return;
                }
            });
        }
        drop(sender);
        for (index, download, result) in results {
            done(index, download, result)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{Meta, Source};
    use crate::fetch::FetchOptions;
    use crate::unixfs::{ImportOptions, Profile};

    fn download(id: &str) -> Download {
        Download {
            // Nothing listens on port 1: every download fails at once, without a retry.
            url: format!("http://127.0.0.1:1/{id}.mp4"),
            source: Source {
                site: "example".into(),
                id: id.into(),
                url: None,
            },
            meta: Meta::default(),
            name: None,
        }
    }

    /// Counts what it is told.
    #[derive(Default)]
    struct Count {
        started: Mutex<Vec<usize>>,
        finished: Mutex<usize>,
    }

    impl BatchObserver for Count {
        type Item = usize;
        fn started(&self, index: usize, _: &Download) -> usize {
            self.started.lock().unwrap().push(index);
            index
        }
        fn event(&self, _: &usize, _: Event<'_>) {}
        fn finished(&self, _: usize) {
            *self.finished.lock().unwrap() += 1;
        }
    }

    fn fetcher() -> Fetcher {
        Fetcher::new(FetchOptions {
            retries: 0,
            ..FetchOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn every_download_is_followed_and_its_result_returned() {
        let out = tempfile::tempdir().unwrap();
        let profile = Profile::UNIXFS_V1_2025;
        let to = ArchiveTo {
            out: out.path(),
            profile: &profile,
            import: ImportOptions::default(),
            car: false,
        };
        let count = Count::default();
        let mut results = Vec::new();
        let downloads = vec![download("a"), download("b"), download("c")];
        let jobs = NonZeroUsize::new(2).unwrap();
        archive_many(&fetcher(), downloads, &to, jobs, &count, |i, d, result| {
            results.push((i, d.source.id, result.is_err()));
            Ok::<(), ()>(())
        })
        .unwrap();
        results.sort();
        let ids = |i: usize, id: &str| (i, id.to_owned(), true);
        assert_eq!(results, [ids(0, "a"), ids(1, "b"), ids(2, "c")]);
        let mut started = count.started.into_inner().unwrap();
        started.sort();
        assert_eq!(started, [0, 1, 2]);
        assert_eq!(count.finished.into_inner().unwrap(), 3);
    }

    #[test]
    fn a_failing_caller_stops_the_batch() {
        let out = tempfile::tempdir().unwrap();
        let profile = Profile::UNIXFS_V1_2025;
        let to = ArchiveTo {
            out: out.path(),
            profile: &profile,
            import: ImportOptions::default(),
            car: false,
        };
        let downloads: Vec<Download> = (0..20).map(|i| download(&i.to_string())).collect();
        let count = Count::default();
        let one = NonZeroUsize::MIN;
        let result = archive_many(&fetcher(), downloads, &to, one, &count, |_, _, _| {
            Err("stop")
        });
        assert_eq!(result, Err("stop"));
        // The first download ended and was refused; at most the one after it had started.
        assert!(count.started.into_inner().unwrap().len() <= 2);
    }
}
