//! Hint files in format v3, as builds before v4 wrote them, still load.
//!
//! `fixtures/hint_v3/` holds every file of a small compacted database
//! (strings, TTLs, deletes, sorted sets; 4 KiB segments) written by the
//! build at commit 157244f, the last to write v3 hints. Opening it must
//! load its merge outputs from those hints and give exactly what opening
//! the same files without the hints (a scan of every segment) gives.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use kv_engine::{Db, Error, Fsync, ManualClock, Options, SimStorage};

/// The fixture database's clock when it was written.
const NOW_MS: u64 = 1_700_000_000_000;

fn fixture_files() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hint_v3");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn open(files: &[(String, Vec<u8>)]) -> (SimStorage, Db) {
    let sim = SimStorage::new();
    for (name, bytes) in files {
        sim.write_file(name, bytes);
    }
    let opts = Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: 4096,
        auto_compaction: false,
        active_expiry: false,
        clock: Arc::new(ManualClock::new(NOW_MS)),
        ..Options::default()
    };
    let db = Db::open_with_storage(Arc::new(sim.clone()), opts).unwrap();
    (sim, db)
}

/// Every key's value, or its sorted set rendered.
fn contents(db: &Db) -> BTreeMap<Vec<u8>, String> {
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

#[test]
fn v3_hint_files_written_by_an_earlier_build_load() {
    let files = fixture_files();
    let hints: Vec<&(String, Vec<u8>)> = files.iter().filter(|(n, _)| n.ends_with(".hint")).collect();
    assert!(!hints.is_empty(), "the fixture has hint files");
    for (name, bytes) in &hints {
        assert_eq!(&bytes[0..8], b"LIBKVHNT", "{name}");
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 3, "{name} is format v3");
    }
    let (sim, db) = open(&files);
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
    let (_, db) = open(&without);
    assert_eq!(db.stats().recovery.segments_from_hints, 0);
    assert_eq!(contents(&db), from_hints, "hint-built index differs from the scan");
}
