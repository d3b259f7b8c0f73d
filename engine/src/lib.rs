//! # kv-engine
//!
//! The storage engine of libkv: a Bitcask-style log-structured key-value
//! store. See `docs/design.md` for the architecture and the crash-safety
//! argument, and `docs/format.md` for the byte layout of every file.

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
pub mod stats;

mod db;
pub mod expiry;
pub mod long_double;
mod recovery;
pub mod strings;
mod writer;

pub use batch::WriteBatch;
pub use compaction::CompactionSummary;
pub use db::{Db, KeyIter};
pub use stats::{RecoveryStats, SegmentStats, Stats};
pub use storage::{FsStorage, SimStorage, Storage};
pub use strings::{Condition, ExpireCondition, Expiry, GetExOption, SetOptions, SetResult};
