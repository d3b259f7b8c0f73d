//! # kv-engine
//!
//! The storage engine of libkv: a Bitcask-style log-structured key-value
//! store. See `docs/design.md` for the architecture and the crash-safety
//! argument, and `docs/format.md` for the byte layout of every file.

pub mod error;
pub mod zset;

pub use error::{Error, Result};
