//! The targets that need only `kv_engine`: the module list compiled into
//! `engine/tests/fuzz_replay.rs` (by `#[path]`). Keep in step with `lib.rs`.

pub mod bytes;
pub mod hint_decode;
pub mod ops_model;
pub mod record_decode;
pub mod recovery_open;
pub mod seeds;
pub mod zset_model;
