//! RocksDB through the `rocksdb` crate, linked against the system library.
//!
//! always → `WriteOptions::set_sync(true)` (WAL fsync per write; RocksDB's
//! write thread groups concurrent writers). no → `set_sync(false)` (WAL
//! written with `write(2)` per write group: like libkv `no`). everysec → not
//! offered (RocksDB has no timed WAL sync).

use std::path::Path;

use rocksdb::{DBCompressionType, Options, WriteOptions, DB};

use super::{Engine, Policy};

/// A RocksDB database with default options, compression off (values are
/// random, so it could only cost time).
pub struct Rocks {
    db: DB,
    write: WriteOptions,
    policy: Policy,
}

fn e(err: impl std::fmt::Display) -> String {
    format!("rocksdb: {err}")
}

impl Rocks {
    /// Opens a database in `dir`.
    pub fn open(dir: &Path, policy: Policy) -> Result<Option<Rocks>, String> {
        if policy == Policy::EverySec {
            return Ok(None);
        }
        let mut o = Options::default();
        o.create_if_missing(true);
        o.set_compression_type(DBCompressionType::None);
        let db = DB::open(&o, dir).map_err(e)?;
        let mut write = WriteOptions::default();
        write.set_sync(policy == Policy::Always);
        Ok(Some(Rocks { db, write, policy }))
    }
}

impl Engine for Rocks {
    fn mode(&self) -> String {
        format!("put with WriteOptions sync={}", self.policy == Policy::Always)
    }
    fn put(&self, _thread: usize, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.db.put_opt(key, value, &self.write).map_err(e)
    }
    fn get(&self, _thread: usize, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.db.get(key).map_err(e)
    }
    fn load(&self, items: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        let mut wo = WriteOptions::default();
        wo.set_sync(false);
        for (k, v) in items {
            self.db.put_opt(k, v, &wo).map_err(e)?;
        }
        self.db.flush().map_err(e)
    }
}
