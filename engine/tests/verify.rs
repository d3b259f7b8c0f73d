//! `kv_engine::verify`: the offline checksum scan used by `kv verify`.

mod common;

use std::path::{Path, PathBuf};

use common::small_opts;
use kv_engine::verify::{verify_dir, Severity};
use kv_engine::{Db, Error, Fsync};

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// A database of several sealed segments, some merged (with hint files).
fn build(dir: &Path) {
    let db = Db::open(dir, small_opts(Fsync::No)).unwrap();
    for i in 0..400u32 {
        db.put(format!("k{i}").as_bytes(), &[b'v'; 100]).unwrap();
    }
    db.compact().unwrap();
    for i in 0..200u32 {
        db.put(format!("k{i}").as_bytes(), &[b'w'; 100]).unwrap();
    }
    db.zadd(b"z", &[(1.0, b"a"), (2.0, b"b")]).unwrap();
    db.close().unwrap();
}

#[test]
fn a_clean_directory_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let r = verify_dir(tmp.path()).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.segments >= 3 && r.hints >= 1, "{r:?}");
    assert!(r.records >= 602, "{r:?}");
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_corruption_at_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let seg = files(tmp.path(), "seg")[0].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[32 + 50] ^= 1;
    std::fs::write(&seg, bytes).unwrap();
    let r = verify_dir(tmp.path()).unwrap();
    assert!(!r.is_ok());
    let p = r.corruptions().next().unwrap();
    assert_eq!((p.file.as_path(), p.offset), (seg.as_path(), 32), "{p:?}");
    assert!(p.reason.contains("checksum"), "{p:?}");
}

#[test]
fn a_torn_tail_of_the_newest_segment_is_only_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let seg = files(tmp.path(), "seg").pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let len = bytes.len();
    bytes.extend_from_slice(&[7u8; 20]);
    std::fs::write(&seg, bytes).unwrap();
    let r = verify_dir(tmp.path()).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.problems.len(), 1);
    assert_eq!((r.problems[0].severity, r.problems[0].offset), (Severity::Warning, len as u64));
}

#[test]
fn a_damaged_hint_file_is_corruption() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let hint = files(tmp.path(), "hint")[0].clone();
    let mut bytes = std::fs::read(&hint).unwrap();
    bytes[45] ^= 0x10;
    std::fs::write(&hint, bytes).unwrap();
    let r = verify_dir(tmp.path()).unwrap();
    let p = r.corruptions().next().expect("hint damage found");
    assert_eq!(p.file, hint);
}

#[test]
fn verify_refuses_a_directory_in_use() {
    let tmp = tempfile::tempdir().unwrap();
    let _db = Db::open(tmp.path(), small_opts(Fsync::No)).unwrap();
    assert!(matches!(verify_dir(tmp.path()), Err(Error::Locked(_))));
}
