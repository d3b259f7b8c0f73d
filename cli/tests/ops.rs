//! Operations: verify (good and corrupted), repair, dump/load round trip,
//! compact, stats, and the locked-directory exit code.

mod common;

use std::path::Path;

use common::{expect, expect_ttl, kv, ok, segments, test_dir};
use predicates::prelude::*;

/// Writes one key per invocation, so each lands in its own segment.
fn fill(d: &Path, n: usize) {
    for i in 0..n {
        ok(d, &["set", &format!("key:{i}"), &format!("value-{i}")]);
    }
}

fn flip_byte(file: &Path, offset: u64) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn verify_passes_on_a_good_directory() {
    let t = test_dir();
    fill(&t.db, 3);
    ok(&t.db, &["zadd", "z", "1", "a", "2", "b"]);
    kv(&t.db, &["verify"]).assert().success().stdout(predicate::str::contains("OK: every checksum matches"));
    let json = ok(&t.db, &["--json", "verify"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["records"], 6, "3 puts + 1 batch of 2 zadds + 2 members: {json}");
}

#[test]
fn verify_names_file_and_offset_of_a_flipped_byte() {
    let t = test_dir();
    fill(&t.db, 3);
    let segs = segments(&t.db);
    assert!(segs.len() >= 3, "{segs:?}");
    // A byte inside the first record of the oldest segment (header is 32 bytes).
    let victim = &segs[0];
    flip_byte(victim, 32 + 40);
    let name = victim.file_name().unwrap().to_str().unwrap().to_string();
    kv(&t.db, &["verify"]).assert().code(4).stderr(
        predicate::str::contains(name.as_str())
            .and(predicate::str::contains("offset 32"))
            .and(predicate::str::contains("checksum")),
    );
    // Opening refuses too, with the same exit code.
    kv(&t.db, &["get", "key:1"]).assert().code(4).stderr(predicate::str::contains(name.as_str()));
}

#[test]
fn verify_reports_a_damaged_segment_header() {
    let t = test_dir();
    fill(&t.db, 2);
    let victim = segments(&t.db)[0].clone();
    flip_byte(&victim, 3);
    kv(&t.db, &["verify"]).assert().code(4).stderr(predicate::str::contains("offset 0"));
}

#[test]
fn repair_recovers_every_intact_key() {
    let t = test_dir();
    fill(&t.db, 4);
    let set_at = std::time::Instant::now();
    ok(&t.db, &["set", "ttl-key", "v", "EX", "1000"]);
    let victim = segments(&t.db)[0].clone();
    flip_byte(&victim, 32 + 40);
    let dst = t.tmp.path().join("repaired");
    let out = ok(&t.db, &["repair", t.db.to_str().unwrap(), dst.to_str().unwrap()]);
    assert!(out.contains("4 keys copied"), "{out}");
    assert!(out.contains("damaged bytes skipped"), "{out}");
    assert!(!out.contains(" 0 damaged bytes skipped"), "{out}");
    expect(&dst, &["get", "key:0"], "(nil)\n", 0);
    for i in 1..4 {
        expect(&dst, &["get", &format!("key:{i}")], &format!("\"value-{i}\"\n"), 0);
    }
    expect_ttl(&dst, "ttl-key", 1000, set_at);
    kv(&dst, &["verify"]).assert().success();
    // A destination holding data is refused.
    kv(&t.db, &["repair", t.db.to_str().unwrap(), dst.to_str().unwrap()]).assert().code(2);
}

#[test]
fn dump_load_round_trip_with_ttls_and_sorted_sets() {
    let t = test_dir();
    let d = &t.db;
    ok(d, &["mset", "plain", "v", "bin", "\u{1}\u{2}"]);
    let set_at = std::time::Instant::now();
    ok(d, &["set", "session", "s", "EX", "500"]);
    ok(d, &["zadd", "lb", "10", "alice", "20.5", "bob", "-inf", "zed"]);
    ok(d, &["expire", "lb", "700"]);
    ok(d, &["set", "gone", "x", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(10));
    let file = t.tmp.path().join("db.dump");
    let out = ok(d, &["dump", file.to_str().unwrap()]);
    assert!(out.contains("dumped 4 keys"), "{out}");
    let d2 = t.tmp.path().join("db2");
    let out = ok(&d2, &["load", file.to_str().unwrap()]);
    assert!(out.contains("loaded 4 keys"), "{out}");
    expect(&d2, &["get", "plain"], "\"v\"\n", 0);
    expect(&d2, &["get", "bin"], "\"\\x01\\x02\"\n", 0);
    expect(&d2, &["ttl", "plain"], "(integer) -1\n", 0);
    expect_ttl(&d2, "session", 500, set_at);
    expect(
        &d2,
        &["zrange", "lb", "0", "-1", "WITHSCORES"],
        "1) \"zed\"\n2) \"-inf\"\n3) \"alice\"\n4) \"10\"\n5) \"bob\"\n6) \"20.5\"\n",
        0,
    );
    expect_ttl(&d2, "lb", 700, set_at);
    expect(&d2, &["exists", "gone"], "(integer) 0\n", 0);
    // Loading again replaces rather than merges.
    ok(&d2, &["zadd", "lb", "1", "extra"]);
    ok(&d2, &["load", file.to_str().unwrap()]);
    expect(&d2, &["zcard", "lb"], "(integer) 3\n", 0);
}

#[test]
fn load_rejects_a_corrupt_or_truncated_dump_with_exit_4() {
    let t = test_dir();
    ok(&t.db, &["set", "a", "1"]);
    let file = t.tmp.path().join("x.dump");
    ok(&t.db, &["dump", file.to_str().unwrap()]);
    let bytes = std::fs::read(&file).unwrap();
    let d2 = t.tmp.path().join("d2");
    std::fs::write(&file, &bytes[..bytes.len() - 3]).unwrap();
    kv(&d2, &["load", file.to_str().unwrap()]).assert().code(4).stderr(predicate::str::contains("truncated"));
    let mut flipped = bytes.clone();
    flipped[30] ^= 1;
    std::fs::write(&file, &flipped).unwrap();
    kv(&d2, &["load", file.to_str().unwrap()]).assert().code(4).stderr(predicate::str::contains("offset 16"));
}

#[test]
fn compact_shrinks_overwritten_data_and_keeps_values() {
    let t = test_dir();
    let d = &t.db;
    for i in 0..5 {
        ok(d, &["set", "k", &"x".repeat(1000 + i)]);
    }
    let out = ok(d, &["compact"]);
    assert!(out.contains("bytes reclaimed"), "{out}");
    // Five segments of puts only, counted by the open that scanned them.
    assert!(out.contains("; 5 inputs copied from the index's list)"), "{out}");
    let json = ok(d, &["--json", "compact"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The merge output was loaded from its hint: scanned, not listed.
    assert_eq!(v["inputs_copied_from_index"], 0, "{json}");
    assert!(v["removal_ms"].as_u64().is_some_and(|ms| ms <= v["duration_ms"].as_u64().unwrap()), "{json}");
    expect(d, &["strlen", "k"], "(integer) 1004\n", 0);
    kv(d, &["verify"]).assert().success();
}

#[test]
fn stats_prints_info_sections() {
    let t = test_dir();
    ok(&t.db, &["set", "a", "1", "EX", "100"]);
    kv(&t.db, &["stats"]).assert().success().stdout(
        predicate::str::contains("# Keyspace\ndb0:keys=1,expires=1\n")
            .and(predicate::str::contains("# Persistence\nfsync_policy:always\n"))
            .and(predicate::str::contains("# Stats\n")),
    );
}

#[test]
fn a_locked_directory_exits_3_naming_it() {
    let t = test_dir();
    let _held = kv_engine::Db::open(&t.db, kv_engine::Options::default()).unwrap();
    let shown = t.db.display().to_string();
    kv(&t.db, &["get", "k"]).assert().code(3).stderr(predicate::str::contains(shown.as_str()));
    kv(&t.db, &["verify"]).assert().code(3);
    kv(&t.db, &["--json", "get", "k"]).assert().code(3).stdout(predicate::str::contains("\"exit_code\":3"));
}

#[test]
fn load_replaces_a_sorted_set_with_a_dumped_string_of_the_same_key() {
    let t = test_dir();
    ok(&t.db, &["set", "k", "string"]);
    let file = t.tmp.path().join("k.dump");
    ok(&t.db, &["dump", file.to_str().unwrap()]);
    let d2 = t.tmp.path().join("d2");
    ok(&d2, &["zadd", "k", "1", "member"]);
    ok(&d2, &["load", file.to_str().unwrap()]);
    expect(&d2, &["get", "k"], "\"string\"\n", 0);
    expect(&d2, &["zcard", "k"], "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n", 1);
}
