//! libkv itself.

use std::path::Path;

use kv_engine::{Db, Options};

use super::{Engine, Policy};

/// A libkv database with default options (preallocated 256 MiB segments,
/// lz4 for values ≥ 4 KiB) except automatic compaction, which is off so it
/// cannot run in the middle of a measurement.
pub struct Libkv {
    db: Db,
    policy: Policy,
}

impl Libkv {
    /// Opens a database in `dir`.
    pub fn open(dir: &Path, policy: Policy) -> Result<Libkv, String> {
        let db = Db::open(dir, Options { fsync: policy.fsync(), auto_compaction: false, ..Options::default() })
            .map_err(|e| e.to_string())?;
        Ok(Libkv { db, policy })
    }
}

impl Engine for Libkv {
    fn mode(&self) -> String {
        match self.policy {
            Policy::Always => "Fsync::Always (group commit: one fdatasync per group)".into(),
            Policy::EverySec => "Fsync::EverySec (background fdatasync once a second)".into(),
            Policy::No => {
                "Fsync::No (each put copied into the page cache through the segment mapping; sync at rotation/close)"
                    .into()
            }
        }
    }
    fn put(&self, _thread: usize, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.db.put(key, value).map_err(|e| e.to_string())
    }
    fn get(&self, _thread: usize, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.db.get(key).map_err(|e| e.to_string())
    }
    fn load(&self, items: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        let mut batch = kv_engine::WriteBatch::new();
        let mut n = 0;
        for (k, v) in items {
            batch.put(&k, &v);
            n += 1;
            if n == 10_000 {
                self.db.write_batch(&batch).map_err(|e| e.to_string())?;
                batch = kv_engine::WriteBatch::new();
                n = 0;
            }
        }
        if n > 0 {
            self.db.write_batch(&batch).map_err(|e| e.to_string())?;
        }
        self.db.sync().map_err(|e| e.to_string())
    }
    fn fsync_stats(&self) -> Option<(u64, f64)> {
        let st = self.db.stats();
        Some((st.fsyncs, st.mean_group_commit))
    }
}
