//! # kv-ffi
//!
//! The C ABI of libkv, built as `libkv.so` / `libkv.a` with the header
//! `include/kv.h` (generated from these sources by cbindgen).
//!
//! Conventions, after rustls-ffi:
//! - every `extern "C"` function wraps its body in the panic boundary
//!   ([`panic`]): a Rust panic becomes `KV_INTERNAL`, never an unwind into C;
//! - every fallible function returns a stable [`status::kv_status`] and sets
//!   the thread's last-error message;
//! - handles are opaque; every pointer argument is checked for NULL
//!   ([`args`]); ownership is stated on each function;
//! - every change to a struct of `kv.h` bumps [`abi::KV_ABI_VERSION`], which
//!   callers compare with `kv_abi_version()` at startup ([`abi`]).
//!
//! See `docs/c-api.md` for the user-facing guide.

#![allow(clippy::missing_safety_doc)] // each function's `# Safety` is in its doc comment

pub mod abi;
pub mod args;
pub mod batch;
pub mod buf;
pub mod compaction;
pub mod db;
pub mod expiry;
pub mod iter;
pub mod options;
pub mod panic;
pub mod stats;
pub mod status;
pub mod strings;
pub mod zset;

pub use abi::{kv_abi_version, KV_ABI_VERSION};
pub use batch::kv_batch;
pub use buf::{kv_buf, kv_slice};
pub use db::kv_db;
pub use iter::kv_iter;
pub use options::{kv_fsync, kv_options, kv_recovery};
pub use stats::kv_stats;
pub use status::kv_status;
pub use zset::kv_zset_entries;
