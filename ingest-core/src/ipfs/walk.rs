//! Whole DAGs fetched at once into a [`Remote`]'s cache: a file or a subtree as one CAR stream
//! where the cache has none of it, a directory's HAMT shards level by level.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use cid::Cid;

use super::gateway::Scope;
use super::remote::{Endpoint, Remote, SourceError};
use crate::unixfs::block::DAG_PB;

/// HAMT shards nested at most this deep (64 hash bits at 3 bits a level, the smallest fanout).
const MAX_SHARD_DEPTH: usize = 22;
/// CAR streams asked for at once.
const STREAMS: usize = 4;

impl Remote {
    /// Fetches the DAG under `root` within `scope` as one CAR stream from the first gateway
    /// that serves it, into the cache, then whatever the stream left out block by block. A
    /// gateway whose stream breaks or lies is left for the next; with no gateway (a node only),
    /// the blocks are fetched one by one.
    pub fn fetch_dag(&self, root: &Cid, scope: Scope) -> Result<(), SourceError> {
        if !self.cache.keeps() {
            // Nothing to fetch into: each block is fetched when it is read.
            return Ok(());
        }
        let mut missing = HashSet::new();
        for i in self.order() {
            let Endpoint::Gateway(gateway) = &self.endpoints[i] else {
                continue;
            };
            // Blocks and their bytes are counted as they come, so a stream that breaks or lies
            // later still reports what it delivered.
            let result = gateway.car(root, scope, &mut missing, |cid, block| {
                self.cache.put(cid, block)?;
                self.fetched(i, 1, block.len() as u64);
                Ok(())
            });
            match result {
                Ok(_) => {
                    self.preferred.store(i, Ordering::Relaxed);
                    let rest: Vec<Cid> = missing.into_iter().collect();
                    return self
                        .fetch_many(&rest)
                        .and_then(|()| self.walk_missing(root, scope));
                }
                // Counted; what it sent before failing was checked and kept.
                Err(_) => {
                    self.counters[i].failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // No gateway streamed it: block by block (what was received is cached and verified).
        self.walk_missing(root, scope)
    }

    /// Fetches, level by level and many at a time, every block within `scope` under `root`
    /// that the cache lacks.
    fn walk_missing(&self, root: &Cid, scope: Scope) -> Result<(), SourceError> {
        let mut level = vec![*root];
        let mut seen = HashSet::new();
        while !level.is_empty() {
            self.fetch_many(&level)?;
            let mut next = Vec::new();
            for cid in &level {
                let block = self.block(cid)?;
                let links =
                    super::gateway::links_in_scope(cid, &block, scope).map_err(|reason| {
                        SourceError::Malformed {
                            path: format!("block {cid}"),
                            reason,
                        }
                    })?;
                next.extend(links.into_iter().filter(|l| seen.insert(*l)));
            }
            level = next;
        }
        Ok(())
    }

    /// Fetches every node of the directory `dir` (its HAMT shards, not its entries) that the
    /// cache lacks, level by level, many at a time. A shard the cache holds is not descended
    /// into: its CID names its whole subtree, which is then unchanged. Below the top, a shard
    /// whose sub-shards are nearly all missing (nine in ten) has the rest of its subtree come
    /// as one CAR stream (`dag-scope=entity`; the shard itself is sent again): so a first read
    /// makes a few hundred requests for a million entries, and a read after a change fetches
    /// only the shards that changed (where every second-level shard changes but most below
    /// them do not, the top is no guide, which is why it never asks for a stream).
    pub fn fetch_directory(&self, dir: &Cid) -> Result<(), SourceError> {
        if !self.cache.keeps() {
            return Ok(());
        }
        let has_gateway = self
            .endpoints
            .iter()
            .any(|e| matches!(e, Endpoint::Gateway(_)));
        let mut level = vec![*dir];
        let mut top = true;
        for depth in 0.. {
            if level.is_empty() {
                break;
            }
            if depth > MAX_SHARD_DEPTH {
                return Err(SourceError::Malformed {
                    path: format!("directory {dir}"),
                    reason: format!("HAMT shards nested over {MAX_SHARD_DEPTH} levels"),
                });
            }
            self.fetch_many(&level)?;
            let mut next = Vec::new();
            let mut streams = Vec::new();
            for cid in &level {
                if cid.codec() != DAG_PB {
                    continue;
                }
                let block = self.block(cid)?;
                let shards = super::gateway::links_in_scope(cid, &block, Scope::Entity).map_err(
                    |reason| SourceError::Malformed {
                        path: format!("directory {cid}"),
                        reason,
                    },
                )?;
                let absent: Vec<Cid> = shards
                    .iter()
                    .filter(|c| !self.cache.contains(c))
                    .copied()
                    .collect();
                if has_gateway && !top && absent.len() >= 8 && absent.len() * 10 >= shards.len() * 9
                {
                    streams.push(*cid);
                } else {
                    next.extend(absent);
                }
            }
            self.parallel(&streams, STREAMS, |cid| self.fetch_dag(cid, Scope::Entity))?;
            level = next;
            top = false;
        }
        Ok(())
    }
}
