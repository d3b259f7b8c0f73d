//! Hint files in format v4, as builds before v5 wrote them, still load.
//!
//! `fixtures/hint_v4/` holds every segment and hint file of a small
//! compacted database written by the build at commit a9ced1c, the last to
//! write v4 hints: 60 `user:NNNN` keys overwritten three times and every
//! seventh deleted, 20 `session:N` keys with TTLs (half of them 5 s, the
//! rest a day), three sorted sets with a removed member, a 1-byte key and
//! a 300-byte binary key; 4 KiB segments, the clock at 1_700_000_000_000
//! ms. Opening it (a minute later, so the 5-second TTLs have passed) must
//! load its merge outputs from those hints and give exactly what opening
//! the same files without the hints (a scan of every segment) gives.

mod common;

/// The fixture database's clock when it was written.
const WRITTEN_MS: u64 = 1_700_000_000_000;

#[test]
fn v4_hint_files_written_by_an_earlier_build_load() {
    common::hint_fixture::check_built_fixture("hint_v4", 4, WRITTEN_MS);
}
