//! fjall (LSM tree with a journal).
//!
//! always → insert then `Keyspace::persist(PersistMode::SyncAll)` per put
//! (fsync per write; concurrent callers may share one). everysec → insert +
//! `persist(PersistMode::Buffer)` per put (journal handed to the OS) and
//! fjall's own background fsync every 1000 ms (`Config::fsync_ms`). no →
//! insert + `persist(PersistMode::Buffer)` per put, no periodic fsync.

use std::path::Path;

use fjall::{Config, Keyspace, PartitionCreateOptions, PartitionHandle, PersistMode};

use super::{Engine, Policy};

/// A fjall keyspace with one partition.
pub struct Fjall {
    ks: Keyspace,
    part: PartitionHandle,
    policy: Policy,
}

fn e(err: impl std::fmt::Display) -> String {
    format!("fjall: {err}")
}

impl Fjall {
    /// Opens a keyspace in `dir`.
    pub fn open(dir: &Path, policy: Policy) -> Result<Option<Fjall>, String> {
        let mut cfg = Config::new(dir);
        cfg = cfg.fsync_ms(if policy == Policy::EverySec { Some(1000) } else { None });
        let ks = cfg.open().map_err(e)?;
        let part = ks.open_partition("kv", PartitionCreateOptions::default()).map_err(e)?;
        Ok(Some(Fjall { ks, part, policy }))
    }
}

impl Engine for Fjall {
    fn mode(&self) -> String {
        match self.policy {
            Policy::Always => "insert + persist(SyncAll) per put".into(),
            Policy::EverySec => "insert + persist(Buffer) per put, fsync_ms(1000)".into(),
            Policy::No => "insert + persist(Buffer) per put".into(),
        }
    }
    fn put(&self, _thread: usize, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.part.insert(key, value).map_err(e)?;
        let mode = if self.policy == Policy::Always { PersistMode::SyncAll } else { PersistMode::Buffer };
        self.ks.persist(mode).map_err(e)
    }
    fn get(&self, _thread: usize, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        Ok(self.part.get(key).map_err(e)?.map(|v| v.to_vec()))
    }
    fn load(&self, items: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        for (k, v) in items {
            self.part.insert(k, v).map_err(e)?;
        }
        self.ks.persist(PersistMode::SyncAll).map_err(e)
    }
}
