//! Hint files in format v5, as an earlier build wrote them, load.
//!
//! `fixtures/hint_v5/` holds every segment and hint file of the small
//! compacted database `common::hint_fixture::build_fixture` writes (as the
//! v4 fixture describes), written by the build at commit 152eee1 (v5 hints
//! from `HintBuilder`, in file order; later builds also write v5 from
//! `HintStream`). Opening it a minute later must load its merge outputs
//! from those hints and give exactly what a scan of the segments gives; it
//! is kept for when the format next changes.

mod common;

/// The fixture database's clock when it was written.
const WRITTEN_MS: u64 = 1_700_000_000_000;

#[test]
fn v5_hint_files_written_by_an_earlier_build_load() {
    common::hint_fixture::check_built_fixture("hint_v5", 5, WRITTEN_MS);
}

/// Writes the fixture database with this build into `$KV_WRITE_HINT_FIXTURE`
/// (run by hand when the hint format changes:
/// `KV_WRITE_HINT_FIXTURE=dir cargo test -p kv-engine --test hint_v5_fixture -- --ignored`).
#[test]
#[ignore]
fn write_hint_fixture() {
    let Some(dir) = std::env::var_os("KV_WRITE_HINT_FIXTURE") else { return };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in common::hint_fixture::build_fixture(WRITTEN_MS) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
