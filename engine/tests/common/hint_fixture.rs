//! Opening the committed databases under `tests/fixtures/` that hold hint
//! files written by earlier builds, with and without their hints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use kv_engine::{Db, Error, Fsync, ManualClock, Options, SimStorage};

/// The files of `tests/fixtures/<name>/`, sorted by name.
pub fn fixture_files(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// Opens `files` on simulated storage with 4 KiB segments (what the
/// fixtures were written with) and the clock at `now_ms`.
pub fn open(files: &[(String, Vec<u8>)], now_ms: u64) -> (SimStorage, Db) {
    let sim = SimStorage::new();
    for (name, bytes) in files {
        sim.write_file(name, bytes);
    }
    let opts = Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: 4096,
        auto_compaction: false,
        active_expiry: false,
        clock: Arc::new(ManualClock::new(now_ms)),
        ..Options::default()
    };
    let db = Db::open_with_storage(Arc::new(sim.clone()), opts).unwrap();
    (sim, db)
}

/// Every key's value, or its sorted set rendered.
pub fn contents(db: &Db) -> BTreeMap<Vec<u8>, String> {
    let mut out = BTreeMap::new();
    for key in db.keys().unwrap() {
        let v = match db.get(&key) {
            Ok(v) => format!("{v:?}"),
            Err(Error::WrongType) => format!("{:?}", db.zrange_by_rank(&key, 0, -1).unwrap()),
            Err(e) => panic!("{key:?}: {e}"),
        };
        out.insert(key, v);
    }
    out
}

/// Opens the fixture `name`, whose hint files must all be of format
/// `version`, with the clock at `now_ms`: every hint must be used and kept
/// unchanged, and the contents must equal those of opening the segments
/// alone (a scan). Returns the contents.
pub fn check_fixture_loads_like_a_scan(name: &str, version: u32, now_ms: u64) -> BTreeMap<Vec<u8>, String> {
    let files = fixture_files(name);
    let hints: Vec<&(String, Vec<u8>)> = files.iter().filter(|(n, _)| n.ends_with(".hint")).collect();
    assert!(!hints.is_empty(), "the fixture has hint files");
    for (name, bytes) in &hints {
        assert_eq!(&bytes[0..8], b"LIBKVHNT", "{name}");
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), version, "{name} is format v{version}");
    }
    let (sim, db) = open(&files, now_ms);
    let r = db.stats().recovery;
    assert_eq!(r.segments_from_hints, hints.len() as u64, "{r:?}");
    let from_hints = contents(&db);
    assert!(from_hints.len() > 10, "{from_hints:?}");
    drop(db);
    // Valid hints are kept as they are.
    for (name, bytes) in &hints {
        assert_eq!(sim.read_file(name).as_ref(), Some(bytes), "{name}");
    }
    let without: Vec<(String, Vec<u8>)> = files.iter().filter(|(n, _)| !n.ends_with(".hint")).cloned().collect();
    let (_, db) = open(&without, now_ms);
    assert_eq!(db.stats().recovery.segments_from_hints, 0);
    assert_eq!(contents(&db), from_hints, "hint-built index differs from the scan");
    from_hints
}

/// Writes the fixture database the committed `hint_v*` fixtures hold (see
/// `hint_v4_fixture.rs`) with this build, on simulated storage, compacts
/// it, and returns its files: the generator for a new fixture when the
/// hint format changes (`write_hint_fixture` in `hint_v5_fixture.rs`).
#[allow(dead_code)] // Only the fixture tests that generate use it.
pub fn build_fixture(written_ms: u64) -> Vec<(String, Vec<u8>)> {
    let sim = SimStorage::new();
    let opts = Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: 4096,
        auto_compaction: false,
        active_expiry: false,
        clock: Arc::new(ManualClock::new(written_ms)),
        ..Options::default()
    };
    let db = Db::open_with_storage(Arc::new(sim.clone()), opts).unwrap();
    for round in 0..3 {
        for i in 0..60 {
            db.put(format!("user:{i:04}").as_bytes(), format!("value-{round}-{i}").as_bytes()).unwrap();
        }
    }
    for i in (0..60).step_by(7) {
        db.delete(format!("user:{i:04}").as_bytes()).unwrap();
    }
    for i in 0..20 {
        let ttl_ms = if i % 2 == 0 { 5_000 } else { 86_400_000 };
        let o = kv_engine::SetOptions::new().px(ttl_ms);
        db.set(format!("session:{i}").as_bytes(), format!("token-{i}").as_bytes(), &o).unwrap();
    }
    for b in 0..3 {
        let key = format!("board:{b}");
        let members: Vec<String> = (0..8).map(|m| format!("player-{m}")).collect();
        let pairs: Vec<(f64, &[u8])> =
            members.iter().enumerate().map(|(m, p)| (m as f64 * 1.5, p.as_bytes())).collect();
        db.zadd(key.as_bytes(), &pairs).unwrap();
        db.zrem(key.as_bytes(), &[b"player-3"]).unwrap();
    }
    db.put(b"a", b"one byte key").unwrap();
    db.put(&[0xffu8; 300], b"binary key").unwrap();
    db.compact().unwrap();
    db.wait_for_removals().unwrap();
    drop(db);
    use kv_engine::Storage as _;
    let mut files: Vec<(String, Vec<u8>)> = sim
        .list()
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".seg") || n.ends_with(".hint"))
        .map(|n| {
            let bytes = sim.read_file(&n).unwrap();
            (n, bytes)
        })
        .collect();
    files.sort();
    files
}

/// [`check_fixture_loads_like_a_scan`] for a fixture of the database
/// [`build_fixture`] writes (the v4 and v5 fixtures), opened a minute after
/// it was written at `written_ms`, and what that database must hold.
#[allow(dead_code)] // Not every fixture test uses it.
pub fn check_built_fixture(name: &str, version: u32, written_ms: u64) {
    let got = check_fixture_loads_like_a_scan(name, version, written_ms + 60_000);
    let has = |k: &[u8]| got.contains_key(k);
    assert!(has(b"user:0001") && !has(b"user:0007"), "deleted keys gone, others kept");
    assert!(has(b"session:1") && !has(b"session:0"), "the 5 s TTLs expired, the day-long ones not");
    assert!(has(b"board:2") && has(b"a") && has(&[0xffu8; 300]));
    let last_round = format!("{:?}", Some(b"value-2-59".to_vec()));
    assert_eq!(got.get(&b"user:0059"[..]), Some(&last_round), "the last overwrite wins");
}
