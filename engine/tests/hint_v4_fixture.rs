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
    let got = common::hint_fixture::check_fixture_loads_like_a_scan("hint_v4", 4, WRITTEN_MS + 60_000);
    let has = |k: &[u8]| got.contains_key(k);
    assert!(has(b"user:0001") && !has(b"user:0007"), "deleted keys gone, others kept");
    assert!(has(b"session:1") && !has(b"session:0"), "the 5 s TTLs expired, the day-long ones not");
    assert!(has(b"board:2") && has(b"a") && has(&[0xffu8; 300]));
    let last_round = format!("{:?}", Some(b"value-2-59".to_vec()));
    assert_eq!(got.get(&b"user:0059"[..]), Some(&last_round), "the last overwrite wins");
}
