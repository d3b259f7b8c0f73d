//! Replays the committed `ffi_calls` fuzz corpus (`fuzz/corpus/ffi_calls/*`)
//! through the same target body libFuzzer runs (`fuzz/src/ffi_calls.rs`,
//! compiled in here by path), on stable Rust.

#[path = "../../fuzz/src/ffi_targets.rs"]
#[allow(dead_code)]
mod kv_fuzz;

use std::path::PathBuf;

#[test]
fn ffi_calls_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ffi_calls");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| kv_fuzz::ffi_calls::run(&bytes));
        assert!(r.is_ok(), "ffi_calls: corpus file {} fails", path.display());
    }
}

/// Writes pseudo-random programs as seeds. Run by hand:
/// `KV_FUZZ_WRITE_SEEDS=1 cargo test -p kv-ffi --test fuzz_replay -- --ignored write_seeds`.
#[test]
#[ignore = "writes files; run by hand to regenerate seeds"]
fn write_seeds() {
    if std::env::var("KV_FUZZ_WRITE_SEEDS").is_err() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ffi_calls");
    std::fs::create_dir_all(&dir).unwrap();
    let mut x: u64 = 0x1234_5678_9ABC_DEF1;
    for (i, len) in [64usize, 200, 400, 800].into_iter().enumerate() {
        let b: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(dir.join(format!("seed-{i:02}")), b).unwrap();
    }
}
