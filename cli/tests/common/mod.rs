//! Helpers for the `kv` integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A fresh temporary directory holding a database directory `db`.
pub struct TestDir {
    pub tmp: tempfile::TempDir,
    pub db: PathBuf,
}

pub fn test_dir() -> TestDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("db");
    TestDir { tmp, db }
}

/// `kv --dir DIR args...`.
pub fn kv(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("kv").expect("kv binary");
    c.arg("--dir").arg(dir).args(args).env_remove("KV_DIR");
    c
}

/// Runs `kv --dir DIR args...`, asserting success, and returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = kv(dir, args).output().expect("run kv");
    assert!(
        out.status.success(),
        "kv {args:?} failed with {:?}: stdout {} stderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs a command and asserts its exact stdout and exit code.
pub fn expect(dir: &Path, args: &[&str], stdout: &str, code: i32) {
    kv(dir, args).assert().code(code).stdout(stdout.to_string());
}

/// Segment files of `dir`, sorted.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

/// Asserts that `kv ttl KEY` answers `want_s` less at most what elapsed
/// since `set_at`, an instant taken before the command that gave the TTL:
/// each `kv` run is a process of its own, and a loaded machine can spend
/// over half a second on a few of them (TTL rounds to the nearest second).
/// Exact whenever they took less than half a second.
pub fn expect_ttl(dir: &Path, key: &str, want_s: i64, set_at: std::time::Instant) {
    let out = ok(dir, &["ttl", key]);
    let got: i64 = out
        .trim()
        .strip_prefix("(integer) ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("ttl {key}: {out:?}"));
    // A millisecond for the clock's rounding.
    let elapsed_ms = set_at.elapsed().as_millis() as i64 + 1;
    let lowest_s = (want_s * 1000 - elapsed_ms + 500).div_euclid(1000);
    assert!((lowest_s..=want_s).contains(&got), "ttl {key} = {got}, want {lowest_s}..={want_s} ({elapsed_ms} ms on)");
}
