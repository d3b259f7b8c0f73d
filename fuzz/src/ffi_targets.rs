//! The target that needs `kv-ffi`: the module list compiled into
//! `ffi/tests/fuzz_replay.rs` (by `#[path]`).

pub mod bytes;
pub mod ffi_calls;
