//! Bodies of the libkv fuzz targets.
//!
//! Each module's `run(&[u8])` is what one libFuzzer target executes. The same
//! files are compiled into `engine/tests/fuzz_replay.rs` (via `#[path]`) so
//! that every committed corpus file is replayed on stable Rust by `make test`.
//! They use only `kv_engine`, `kv` (the ffi crate, `ffi_calls` only) and `std`;
//! `engine_targets.rs` and `ffi_targets.rs` list the modules each replay
//! test compiles.
//!
//! A body panics (assert) exactly when it finds a bug; it never panics on
//! input the engine is entitled to reject.

pub mod bytes;
pub mod ffi_calls;
pub mod hint_decode;
pub mod ops_model;
pub mod record_decode;
pub mod recovery_open;
pub mod seeds;
pub mod zset_model;
