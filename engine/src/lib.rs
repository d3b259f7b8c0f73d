//! # kv-engine
//!
//! The storage engine of libkv: a Bitcask-style log-structured key-value
//! store with Redis 7 semantics for strings, TTLs and sorted sets. See
//! `docs/design.md` for the architecture and the crash-safety argument, and
//! `docs/format.md` for the byte layout of every file.
//!
//! ```
//! use kv_engine::{Db, Fsync, Options, SetOptions, WriteBatch};
//! # fn main() -> kv_engine::Result<()> {
//! # let dir = tempfile::tempdir()?;
//! let db = Db::open(dir.path(), Options { fsync: Fsync::Always, ..Options::default() })?;
//! db.put(b"user:1", b"Ada")?; // on disk when put() returns
//! db.set(b"session:42", b"token", &SetOptions::new().ex(1800))?; // SET ... EX 1800
//! assert_eq!(db.incr(b"rate:1.2.3.4")?, 1); // INCR
//! db.expire(b"rate:1.2.3.4", 60, Default::default())?; // EXPIRE
//! db.zadd(b"leaderboard", &[(4200.0, b"ada"), (3100.0, b"grace")])?;
//! let top = db.zrevrange(b"leaderboard", 0, 9)?; // ZREVRANGE 0 9 WITHSCORES
//! assert_eq!(top[0], (b"ada".to_vec(), 4200.0));
//! let mut batch = WriteBatch::new();
//! batch.put(b"user:2", b"Grace").delete(b"user:1");
//! db.write_batch(&batch)?; // all or nothing, also across a crash
//! assert_eq!(db.get(b"user:1")?, None);
//! # Ok(())
//! # }
//! ```

pub mod error;
pub mod zset;

pub use error::{Error, Result};
pub mod clock;
pub mod keydir;
pub mod options;
pub mod record;
pub mod segment;
pub mod storage;

pub use clock::{Clock, ManualClock, SystemClock};
pub use options::{Fsync, Options, RecoveryMode};
pub mod batch;
pub mod compaction;
mod hint;
mod merge_live;
mod merge_writer;
mod packed_int;
mod prefetch;
mod radix;
pub mod stats;

mod db;
pub mod expiry;
pub mod long_double;
mod recovery;
mod remover;
pub mod strings;
pub mod verify;
mod writer;

pub use batch::WriteBatch;
pub use compaction::CompactionSummary;
pub use db::{Db, KeyIter};
pub use stats::{RecoveryStats, SegmentStats, Stats};
pub use storage::{FsStorage, SimStorage, Storage};
pub use strings::{Condition, ExpireCondition, Expiry, GetExOption, SetOptions, SetResult};
