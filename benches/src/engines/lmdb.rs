//! LMDB through `heed`: one write transaction per put.
//!
//! always → default environment (fsync at every commit; LMDB serialises
//! writers). no → `MDB_NOSYNC` (commit writes the pages with `write(2)`,
//! no fsync: like libkv `no`). everysec → not offered.

use std::path::Path;

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions};

use super::{Engine, Policy};

/// An LMDB environment with one unnamed database.
pub struct Lmdb {
    env: Env,
    db: Database<Bytes, Bytes>,
    policy: Policy,
}

fn e(err: impl std::fmt::Display) -> String {
    format!("lmdb: {err}")
}

impl Lmdb {
    /// Opens an environment in `dir` (map size 16 GiB, sparse).
    pub fn open(dir: &Path, policy: Policy) -> Result<Option<Lmdb>, String> {
        let flags = match policy {
            Policy::Always => EnvFlags::empty(),
            Policy::No => EnvFlags::NO_SYNC,
            Policy::EverySec => return Ok(None),
        };
        std::fs::create_dir_all(dir).map_err(e)?;
        let mut opts = EnvOpenOptions::new();
        opts.map_size(16 << 30).max_readers(256);
        // SAFETY: NO_SYNC only weakens durability (documented above); no other
        // flag that changes memory safety is set.
        unsafe { opts.flags(flags) };
        // SAFETY: the directory is fresh and opened once in this process, so
        // no other handle maps the same file.
        let env = unsafe { opts.open(dir) }.map_err(e)?;
        let mut tx = env.write_txn().map_err(e)?;
        let db = env.create_database(&mut tx, None).map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(Some(Lmdb { env, db, policy }))
    }
}

impl Engine for Lmdb {
    fn mode(&self) -> String {
        match self.policy {
            Policy::Always => "one write txn per put, default (fsync per commit)".into(),
            _ => "one write txn per put, MDB_NOSYNC".into(),
        }
    }
    fn put(&self, _thread: usize, key: &[u8], value: &[u8]) -> Result<(), String> {
        let mut tx = self.env.write_txn().map_err(e)?;
        self.db.put(&mut tx, key, value).map_err(e)?;
        tx.commit().map_err(e)
    }
    fn get(&self, _thread: usize, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let tx = self.env.read_txn().map_err(e)?;
        Ok(self.db.get(&tx, key).map_err(e)?.map(|v| v.to_vec()))
    }
    fn load(&self, items: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        loop {
            let mut tx = self.env.write_txn().map_err(e)?;
            let mut n = 0;
            for (k, v) in (&mut *items).take(10_000) {
                self.db.put(&mut tx, &k, &v).map_err(e)?;
                n += 1;
            }
            tx.commit().map_err(e)?;
            if n == 0 {
                return Ok(());
            }
        }
    }
}
