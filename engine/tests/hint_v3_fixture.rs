//! Hint files in format v3, as builds before v4 wrote them, still load.
//!
//! `fixtures/hint_v3/` holds every file of a small compacted database
//! (strings, TTLs, deletes, sorted sets; 4 KiB segments) written by the
//! build at commit 157244f, the last to write v3 hints. Opening it must
//! load its merge outputs from those hints and give exactly what opening
//! the same files without the hints (a scan of every segment) gives.

mod common;

/// The fixture database's clock when it was written.
const NOW_MS: u64 = 1_700_000_000_000;

#[test]
fn v3_hint_files_written_by_an_earlier_build_load() {
    common::hint_fixture::check_fixture_loads_like_a_scan("hint_v3", 3, NOW_MS);
}
