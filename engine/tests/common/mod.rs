//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code)]

pub mod hint_fixture;

use std::sync::Arc;

use kv_engine::{Db, Fsync, Options, SimStorage};

/// Options for small, fast test databases.
pub fn small_opts(fsync: Fsync) -> Options {
    Options {
        fsync,
        max_segment_size_bytes: 16 * 1024,
        auto_compaction: false,
        active_expiry: false,
        ..Options::default()
    }
}

/// Opens a database on simulated storage.
pub fn open_sim(sim: &SimStorage, opts: Options) -> kv_engine::Result<Db> {
    Db::open_with_storage(Arc::new(sim.clone()), opts)
}
