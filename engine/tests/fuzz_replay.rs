//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`)
//! through the same target bodies libFuzzer runs (`fuzz/src/*.rs`, compiled
//! in here by path), on stable Rust. A corpus file that once crashed a
//! target stays in the corpus, so this is also the fuzzers' regression suite.

#[path = "../../fuzz/src/engine_targets.rs"]
#[allow(dead_code)]
mod kv_fuzz;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    files
}

fn replay(target: &str, body: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let r = std::panic::catch_unwind(|| body(&bytes));
        assert!(r.is_ok(), "{target}: corpus file {} fails", path.display());
    }
}

#[test]
fn record_decode_corpus() {
    replay("record_decode", kv_fuzz::record_decode::run);
}

#[test]
fn recovery_open_corpus() {
    replay("recovery_open", kv_fuzz::recovery_open::run);
}

#[test]
fn ops_model_corpus() {
    replay("ops_model", kv_fuzz::ops_model::run);
}

#[test]
fn hint_decode_corpus() {
    replay("hint_decode", kv_fuzz::hint_decode::run);
}

#[test]
fn zset_model_corpus() {
    replay("zset_model", kv_fuzz::zset_model::run);
}

/// Writes the generated seeds into the corpus directories. Run by hand:
/// `KV_FUZZ_WRITE_SEEDS=1 cargo test -p kv-engine --test fuzz_replay -- --ignored write_seeds`.
#[test]
#[ignore = "writes files; run by hand to regenerate seeds"]
fn write_seeds() {
    if std::env::var("KV_FUZZ_WRITE_SEEDS").is_err() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let sets: [(&str, Vec<Vec<u8>>); 5] = [
        ("record_decode", kv_fuzz::seeds::record_decode()),
        ("recovery_open", kv_fuzz::seeds::recovery_open()),
        ("ops_model", kv_fuzz::seeds::ops_model()),
        ("hint_decode", kv_fuzz::seeds::hint_decode()),
        ("zset_model", kv_fuzz::seeds::zset_model()),
    ];
    for (target, seeds) in sets {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:02}")), s).unwrap();
        }
    }
}

/// The strong property of `recovery_open` (contents equal an independent
/// replay) only applies to well-formed files: make sure seeds reach it.
#[test]
fn recovery_open_seeds_reach_the_replay_oracle() {
    let seeds = kv_fuzz::seeds::recovery_open();
    assert!(kv_fuzz::recovery_open::oracle_applies(&seeds[6]), "strings-only seed is well formed");
    assert!(!kv_fuzz::recovery_open::oracle_applies(&seeds[5]), "damaged seed is not well formed");
}

/// Found by `recovery_open` right after the torn-batch recovery fix: the
/// newest segment (by replay order) held only a torn first record, so the
/// first Salvage open truncated and removed it and the next open gave the
/// torn-tail allowance to the previous segment, reading its damaged batch
/// differently: a key reappeared across a power cut after open. Recovery now
/// drops such a segment before choosing the newest.
#[test]
fn recovery_open_salvage_reopen_keeps_contents_when_newest_segment_changes() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/recovery_open/salvage-reopen-differs");
    kv_fuzz::recovery_open::run(&std::fs::read(path).unwrap());
}

/// Found by `recovery_open` (200 s run, 83,811 execs): in the newest
/// segment, Salvage skipped a damaged batch header (replaying its inner
/// sorted-set record) because valid records followed, but those were the
/// inner records of a later torn batch that the same open truncated away.
/// After a power cut the reopen read the first batch as the torn tail and
/// cut it too, so the sorted-set key vanished. Recovery now replays the
/// newest segment only up to the end a reopen would keep (`settled_end`).
#[test]
fn recovery_open_salvage_skip_decided_by_a_truncated_torn_tail_survives_power_cut_after_open() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/recovery_open/salvage-skip-decided-by-truncated-torn-tail");
    kv_fuzz::recovery_open::run(&std::fs::read(path).unwrap());
}
