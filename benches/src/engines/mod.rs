//! The engines a benchmark can drive, behind one small trait, so every engine
//! gets the same keys, the same values and the same loop.
//!
//! Each engine maps the three libkv policies onto its own most comparable
//! setting and says how in [`Engine::mode`]; an engine that has no equivalent
//! of a policy returns `None` from its opener and the cell is skipped (never
//! silently replaced by a weaker setting).

use std::path::Path;

pub mod libkv;
pub mod redis;

#[cfg(feature = "peers")]
pub mod fjall;
#[cfg(feature = "peers")]
pub mod lmdb;
#[cfg(feature = "peers")]
pub mod redb;
#[cfg(feature = "peers-rocksdb")]
pub mod rocksdb;
#[cfg(feature = "peers")]
pub mod sled;

/// Durability policy, in Redis `appendfsync` words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Every acknowledged write is on stable storage (fsync per commit, shared
    /// by concurrent writers where the engine can).
    Always,
    /// Synced about once a second by the engine itself.
    EverySec,
    /// Handed to the OS (survives kill -9 where the engine writes through
    /// `write(2)` per commit); the OS decides when it reaches the disk.
    No,
}

impl Policy {
    /// Parses `always`, `everysec` or `no`.
    pub fn parse(s: &str) -> Result<Policy, String> {
        match s.trim() {
            "always" => Ok(Policy::Always),
            "everysec" => Ok(Policy::EverySec),
            "no" => Ok(Policy::No),
            other => Err(format!("unknown policy {other:?}: use always, everysec or no")),
        }
    }

    /// The Redis word.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Always => "always",
            Policy::EverySec => "everysec",
            Policy::No => "no",
        }
    }

    /// The libkv policy.
    pub fn fsync(self) -> kv_engine::Fsync {
        match self {
            Policy::Always => kv_engine::Fsync::Always,
            Policy::EverySec => kv_engine::Fsync::EverySec,
            Policy::No => kv_engine::Fsync::No,
        }
    }
}

/// Parses a comma-separated list of policies.
pub fn parse_policies(s: &str) -> Result<Vec<Policy>, String> {
    s.split(',').map(Policy::parse).collect()
}

/// One open database (or server connection pool) under test.
pub trait Engine: Sync {
    /// How this engine implements the policy it was opened with.
    fn mode(&self) -> String;
    /// Writes one key durably according to the policy; returns when the
    /// engine acknowledges it.
    fn put(&self, thread: usize, key: &[u8], value: &[u8]) -> Result<(), String>;
    /// Reads one key.
    fn get(&self, thread: usize, key: &[u8]) -> Result<Option<Vec<u8>>, String>;
    /// Bulk load for read benchmarks: not timed, may use big transactions.
    fn load(&self, items: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        for (k, v) in items {
            self.put(0, &k, &v)?;
        }
        Ok(())
    }
    /// (fsyncs issued, mean writes per fsync) when the engine counts them.
    fn fsync_stats(&self) -> Option<(u64, f64)> {
        None
    }
}

/// Engine names compiled into this binary, in report order.
pub fn available() -> Vec<&'static str> {
    let mut v = vec!["libkv", "redis"];
    if cfg!(feature = "peers") {
        v.extend(["redb", "fjall", "sled", "lmdb"]);
    }
    if cfg!(feature = "peers-rocksdb") {
        v.push("rocksdb");
    }
    v
}

/// Parses `--engines`: `all`, or a comma list of [`available`] names.
pub fn parse_engines(s: &str) -> Result<Vec<&'static str>, String> {
    let avail = available();
    if s == "all" {
        return Ok(avail);
    }
    s.split(',')
        .map(|n| {
            avail.iter().copied().find(|a| *a == n.trim()).ok_or_else(|| {
                format!("engine {n:?} not built in (available: {}; peers need --features peers)", avail.join(","))
            })
        })
        .collect()
}

/// Opens `name` in a fresh directory `dir` under `policy` for `threads`
/// client threads. `Ok(None)`: the engine has no comparable mode.
pub fn open(name: &str, dir: &Path, policy: Policy, threads: usize) -> Result<Option<Box<dyn Engine>>, String> {
    let _ = threads;
    match name {
        "libkv" => libkv::Libkv::open(dir, policy).map(|e| Some(Box::new(e) as Box<dyn Engine>)),
        "redis" => redis::Redis::open(dir, policy, threads).map(|o| o.map(|e| Box::new(e) as Box<dyn Engine>)),
        #[cfg(feature = "peers")]
        "redb" => redb::Redb::open(dir, policy).map(|o| o.map(|e| Box::new(e) as Box<dyn Engine>)),
        #[cfg(feature = "peers")]
        "fjall" => fjall::Fjall::open(dir, policy).map(|o| o.map(|e| Box::new(e) as Box<dyn Engine>)),
        #[cfg(feature = "peers")]
        "sled" => sled::Sled::open(dir, policy).map(|o| o.map(|e| Box::new(e) as Box<dyn Engine>)),
        #[cfg(feature = "peers")]
        "lmdb" => lmdb::Lmdb::open(dir, policy).map(|o| o.map(|e| Box::new(e) as Box<dyn Engine>)),
        #[cfg(feature = "peers-rocksdb")]
        "rocksdb" => rocksdb::Rocks::open(dir, policy).map(|o| o.map(|e| Box::new(e) as Box<dyn Engine>)),
        other => Err(format!("unknown engine {other:?}")),
    }
}
