//! Bodies of the libkv fuzz targets.
//!
//! Each module's `run(&[u8])` is what one libFuzzer target executes. The same
//! files are compiled into `engine/tests/fuzz_replay.rs` (via `#[path]`) so
//! that every committed corpus file is replayed on stable Rust by `make test`.
//! They therefore use only `kv_engine` and `std`.
//!
//! A body panics (assert) exactly when it finds a bug; it never panics on
//! input the engine is entitled to reject.

pub mod bytes;
pub mod hint_decode;
pub mod ops_model;
pub mod record_decode;
pub mod recovery_open;
pub mod seeds;
pub mod zset_model;
