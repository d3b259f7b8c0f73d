//! sled 0.34 (Bw-tree-like, log-structured pages).
//!
//! always → insert + `Db::flush()` per put. On Linux sled 0.34 makes its
//! log "durable" with `sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER)`
//! (`pagecache/iobuf.rs`), not fsync/fdatasync: the data pages are written
//! but the device cache is not flushed and no metadata is synced, so a
//! power cut can still lose acknowledged puts. That is weaker than every
//! other engine's `always` and why sled can beat the raw write+fdatasync
//! loop; the mode string says so in every results table. everysec →
//! insert, sled's background flush every 1000 ms (`flush_every_ms`). no →
//! insert, background flush disabled: writes stay in sled's memory buffers
//! until a flush (weaker than libkv `no`: kill -9 can lose them).

use std::path::Path;

use super::{Engine, Policy};

/// A sled database.
pub struct Sled {
    db: sled::Db,
    policy: Policy,
}

fn e(err: impl std::fmt::Display) -> String {
    format!("sled: {err}")
}

impl Sled {
    /// Opens a database in `dir`.
    pub fn open(dir: &Path, policy: Policy) -> Result<Option<Sled>, String> {
        let flush = match policy {
            Policy::EverySec => Some(1000),
            Policy::Always | Policy::No => None,
        };
        let db = sled::Config::new().path(dir).flush_every_ms(flush).open().map_err(e)?;
        Ok(Some(Sled { db, policy }))
    }
}

impl Engine for Sled {
    fn mode(&self) -> String {
        match self.policy {
            Policy::Always => {
                "insert + flush() per put; WEAKER: sled syncs with sync_file_range (no device-cache flush), not fdatasync"
                    .into()
            }
            Policy::EverySec => "insert, flush_every_ms(1000)".into(),
            Policy::No => "insert, flush_every_ms(None) (buffered in process memory)".into(),
        }
    }
    fn put(&self, _thread: usize, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.db.insert(key, value).map_err(e)?;
        if self.policy == Policy::Always {
            self.db.flush().map_err(e)?;
        }
        Ok(())
    }
    fn get(&self, _thread: usize, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        Ok(self.db.get(key).map_err(e)?.map(|v| v.to_vec()))
    }
    fn load(&self, items: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        for (k, v) in items {
            self.db.insert(k, v).map_err(e)?;
        }
        self.db.flush().map(|_| ()).map_err(e)
    }
}
