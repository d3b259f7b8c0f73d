//! redb (copy-on-write B-tree): one write transaction per put.
//!
//! always → `Durability::Immediate` (fsync at every commit; redb serialises
//! write transactions, so there is no group commit). no → `Durability::None`
//! (the commit is not persisted until a later durable commit: weaker than
//! libkv `no`, whose write reaches the page cache). everysec → not offered.

use std::path::Path;

use redb::{Database, Durability, TableDefinition};

use super::{Engine, Policy};

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// A redb database file.
pub struct Redb {
    db: Database,
    durability: Durability,
    policy: Policy,
}

fn e(err: impl std::fmt::Display) -> String {
    format!("redb: {err}")
}

impl Redb {
    /// Creates `dir/redb.db`.
    pub fn open(dir: &Path, policy: Policy) -> Result<Option<Redb>, String> {
        let durability = match policy {
            Policy::Always => Durability::Immediate,
            Policy::No => Durability::None,
            Policy::EverySec => return Ok(None),
        };
        std::fs::create_dir_all(dir).map_err(e)?;
        let db = Database::create(dir.join("redb.db")).map_err(e)?;
        let tx = db.begin_write().map_err(e)?;
        tx.open_table(TABLE).map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(Some(Redb { db, durability, policy }))
    }
}

impl Engine for Redb {
    fn mode(&self) -> String {
        match self.policy {
            Policy::Always => "one write txn per put, Durability::Immediate (fsync per commit)".into(),
            _ => "one write txn per put, Durability::None (not persisted until a durable commit)".into(),
        }
    }
    fn put(&self, _thread: usize, key: &[u8], value: &[u8]) -> Result<(), String> {
        let mut tx = self.db.begin_write().map_err(e)?;
        tx.set_durability(self.durability);
        {
            let mut t = tx.open_table(TABLE).map_err(e)?;
            t.insert(key, value).map_err(e)?;
        }
        tx.commit().map_err(e)
    }
    fn get(&self, _thread: usize, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let tx = self.db.begin_read().map_err(e)?;
        let t = tx.open_table(TABLE).map_err(e)?;
        Ok(t.get(key).map_err(e)?.map(|v| v.value().to_vec()))
    }
    fn load(&self, items: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        loop {
            let tx = self.db.begin_write().map_err(e)?;
            let mut n = 0;
            {
                let mut t = tx.open_table(TABLE).map_err(e)?;
                for (k, v) in (&mut *items).take(10_000) {
                    t.insert(k.as_slice(), v.as_slice()).map_err(e)?;
                    n += 1;
                }
            }
            tx.commit().map_err(e)?;
            if n == 0 {
                return Ok(());
            }
        }
    }
}
