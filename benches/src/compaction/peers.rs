//! `kv-bench compaction --peers`: the data libkv's merge gets (every key
//! written twice, so half is dead) compacted in full by RocksDB and fjall, in
//! the same round as libkv's merge and a raw write of the same bytes.
//!
//! Only the compaction call is timed. The fill is not: both write rounds are
//! flushed to on-disk tables before the timer starts (each round flushed on
//! its own, so no memtable ever holds both copies of a key and the dead half
//! reaches the disk, as it does in libkv's log), and automatic compaction is
//! off so nothing drops the dead half before the timed call.

use std::path::Path;
use std::time::Instant;

use super::{dir_bytes, process_cpu_s, raw_write_mb_s, sync_all, Args, Run};
use crate::summarize;

/// One engine's full compaction in one round.
pub(crate) struct PeerCompaction {
    /// Wall time of the compaction call, seconds.
    pub wall_s: f64,
    /// Bytes the compaction read, as the engine counts them (fjall: the size
    /// of its tables before the call).
    pub input_bytes: u64,
    /// Bytes the compaction wrote, as the engine counts them (fjall: the size
    /// of its tables after the call, all of them compaction outputs).
    pub written_bytes: u64,
    /// Bytes in the engine's directory when the call returned (tables,
    /// journal/WAL, manifest, logs, and inputs not yet deleted).
    pub disk_bytes: u64,
    /// Bytes of the engine's table files in the directory when the call
    /// returned: more than `written_bytes` if inputs were not deleted yet.
    pub table_bytes: u64,
    /// CPU time of this process (every thread) during the call, seconds.
    pub cpu_s: f64,
}

/// The peers compiled into this binary, in report order.
pub(crate) fn names() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "peers-rocksdb") {
        v.push("RocksDB");
    }
    if cfg!(feature = "peers") {
        v.push("fjall");
    }
    v
}

/// The peers that are not compiled in, with the feature that adds them.
pub(crate) fn missing() -> Vec<&'static str> {
    let mut v = Vec::new();
    if !cfg!(feature = "peers-rocksdb") {
        v.push("RocksDB (feature peers-rocksdb)");
    }
    if !cfg!(feature = "peers") {
        v.push("fjall (feature peers)");
    }
    v
}

/// How peer `name` is set up and what its timed call is, for the report.
pub(crate) fn setup(name: &str, a: &Args) -> String {
    match name {
        "RocksDB" => format!(
            "system librocksdb (crate rocksdb 0.20.1); kNoCompression at every level; WAL disabled for the fill, \
             each round then flushed (`DB::flush`, waits); auto compactions off; max_background_jobs 2, \
             max_subcompactions {}; flush and compaction output {}; timed: `compact_range(None, None)` with bottommost level \
             compaction kForceOptimized (the bottom level is rewritten, but files this call just wrote are \
             not rewritten a second time); bytes from statistics `rocksdb.compact.read.bytes` / \
             `rocksdb.compact.write.bytes`",
            a.rocksdb_subcompactions,
            if a.rocksdb_direct_io { "O_DIRECT" } else { "buffered (fsync per table file)" },
        ),
        "fjall" => "fjall 2.11.2 (lsm-tree 2.10.4); CompressionType::None; 64 MiB memtables, each round then \
                    flushed (`rotate_memtable_and_wait`); no compaction workers (`compaction_workers(0)`); \
                    50 snapshots opened and closed after the fill so its GC watermark passes every write \
                    (without, fjall 2 keeps every version in a compaction); timed: `PartitionHandle::major_compact()` (public but `#[doc(hidden)]`; runs on the \
                    calling thread, leveled strategy: 64 MiB output tables into the last level); bytes: \
                    `disk_space()` before / after"
            .to_string(),
        other => format!("unknown peer {other}"),
    }
}

/// Fills peer `name` in a fresh directory under `parent` with `a.keys` keys
/// written twice (`a.value_bytes`-byte values, the same as libkv's), times
/// its full compaction, and deletes the directory.
pub(crate) fn run(name: &str, parent: &Path, a: &Args) -> Result<PeerCompaction, String> {
    let root = tempfile::tempdir_in(parent).map_err(|e| e.to_string())?;
    let dir = root.path().join(name);
    match name {
        #[cfg(feature = "peers-rocksdb")]
        "RocksDB" => rocksdb(&dir, a),
        #[cfg(feature = "peers")]
        "fjall" => fjall(&dir, a),
        other => Err(format!("peer {other:?} is not compiled in")),
    }
}

/// The value of ticker `name` in a RocksDB statistics dump
/// (`name COUNT : 123`).
#[cfg(feature = "peers-rocksdb")]
fn ticker(dump: &str, name: &str) -> Option<u64> {
    dump.lines().find_map(|l| l.strip_prefix(name)?.trim().strip_prefix("COUNT :")?.trim().parse().ok())
}

#[cfg(feature = "peers-rocksdb")]
fn rocksdb(dir: &Path, a: &Args) -> Result<PeerCompaction, String> {
    use rocksdb::{
        BottommostLevelCompaction, CompactOptions, DBCompressionType, Options, WriteBatch, WriteOptions, DB,
    };

    use crate::open::{fill_value, key};

    let e = |err: rocksdb::Error| format!("rocksdb: {err}");
    let mut o = Options::default();
    o.create_if_missing(true);
    o.set_compression_type(DBCompressionType::None);
    o.set_compression_per_level(&[DBCompressionType::None; 7]);
    o.set_bottommost_compression_type(DBCompressionType::None);
    // Nothing may compact before the timed call; with auto compactions off
    // RocksDB also ignores its L0 slowdown/stop triggers.
    o.set_disable_auto_compactions(true);
    o.set_max_background_jobs(2);
    o.set_max_subcompactions(a.rocksdb_subcompactions);
    o.set_use_direct_io_for_flush_and_compaction(a.rocksdb_direct_io);
    o.enable_statistics();
    let db = DB::open(&o, dir).map_err(e)?;
    let mut w = WriteOptions::default();
    w.disable_wal(true);
    for round in 0..2 {
        let value = fill_value(a.value_bytes, round);
        let mut b = WriteBatch::default();
        for i in 0..a.keys {
            b.put(key(i), &value);
            if b.len() == 1000 {
                db.write_opt(std::mem::take(&mut b), &w).map_err(e)?;
            }
        }
        if !b.is_empty() {
            db.write_opt(b, &w).map_err(e)?;
        }
        db.flush().map_err(e)?;
    }
    let counters = |o: &Options| {
        let dump = o.get_statistics().unwrap_or_default();
        (ticker(&dump, "rocksdb.compact.read.bytes"), ticker(&dump, "rocksdb.compact.write.bytes"))
    };
    let (read0, written0) = counters(&o);
    let mut c = CompactOptions::default();
    c.set_bottommost_level_compaction(BottommostLevelCompaction::ForceOptimized);
    sync_all();
    let (t, cpu0) = (Instant::now(), process_cpu_s());
    db.compact_range_opt(None::<&[u8]>, None::<&[u8]>, &c);
    let (wall_s, cpu_s) = (t.elapsed().as_secs_f64(), process_cpu_s() - cpu0);
    let (disk_bytes, table_bytes) = (dir_bytes(dir, ""), dir_bytes(dir, ".sst"));
    let (read1, written1) = counters(&o);
    let (Some(read0), Some(read1), Some(written0), Some(written1)) = (read0, read1, written0, written1) else {
        return Err("rocksdb: no compaction byte counters in the statistics dump".to_string());
    };
    // The crate's compact_range returns no status: a compaction that wrote
    // nothing failed (or had nothing to do), either way no figure.
    if written1 <= written0 {
        return Err("rocksdb: compact_range wrote nothing".to_string());
    }
    drop(db);
    Ok(PeerCompaction {
        wall_s,
        input_bytes: read1 - read0,
        written_bytes: written1 - written0,
        disk_bytes,
        table_bytes,
        cpu_s,
    })
}

/// fjall's `SnapshotTrackerInner::safety_gap`: its GC watermark moves when
/// this many snapshots have closed.
#[cfg(feature = "peers")]
const FJALL_SNAPSHOT_GC_GAP: usize = 50;

#[cfg(feature = "peers")]
fn fjall(dir: &Path, a: &Args) -> Result<PeerCompaction, String> {
    use fjall::{CompressionType, Config, PartitionCreateOptions, PersistMode};

    use crate::open::{fill_value, key};

    let e = |err: fjall::Error| format!("fjall: {err}");
    // No compaction workers: nothing compacts before the timed call (L0 stays
    // well under fjall's 20-table write stall with 64 MiB memtables).
    let ks = Config::new(dir)
        .compaction_workers(0)
        .max_write_buffer_size(256 << 20)
        .manual_journal_persist(true)
        .open()
        .map_err(e)?;
    let part = ks
        .open_partition(
            "kv",
            PartitionCreateOptions::default()
                .compression(CompressionType::None)
                .max_memtable_size(64 << 20)
                .manual_journal_persist(true),
        )
        .map_err(e)?;
    for round in 0..2 {
        let value = fill_value(a.value_bytes, round);
        let mut b = ks.batch();
        for i in 0..a.keys {
            b.insert(&part, &key(i)[..], &value[..]);
            if b.len() == 1000 {
                std::mem::replace(&mut b, ks.batch()).commit().map_err(e)?;
            }
        }
        b.commit().map_err(e)?;
        part.rotate_memtable_and_wait().map_err(e)?;
    }
    // The journal was written without syncs: put it on disk now rather than
    // have write-back land in the timed call.
    ks.persist(PersistMode::SyncAll).map_err(e)?;
    // fjall 2 drops an older version of a key in a compaction only below its
    // snapshot GC watermark, which moves only when every 50th snapshot closes
    // (`SnapshotTracker::close`): in a database that never opened a snapshot
    // the watermark stays 0 and a major compaction keeps both copies of every
    // key. Open and close 50 at the current sequence number (untimed), so the
    // watermark passes every write and the dead half is dropped, as in the
    // other engines.
    for _ in 0..FJALL_SNAPSHOT_GC_GAP {
        drop(part.snapshot());
    }
    let input_bytes = part.disk_space();
    sync_all();
    let (t, cpu0) = (Instant::now(), process_cpu_s());
    part.major_compact().map_err(e)?;
    let (wall_s, cpu_s) = (t.elapsed().as_secs_f64(), process_cpu_s() - cpu0);
    let written_bytes = part.disk_space();
    // fjall's layout: `journals/`, `partitions/<name>/segments/<id>`.
    let disk_bytes = dir_bytes(dir, "");
    let table_bytes = dir_bytes(&dir.join("partitions").join("kv").join("segments"), "");
    drop(part);
    drop(ks);
    Ok(PeerCompaction { wall_s, input_bytes, written_bytes, disk_bytes, table_bytes, cpu_s })
}

/// The peers' side of one round.
pub(super) struct Round {
    /// A buffered sequential write + one fdatasync of as many bytes as
    /// libkv's merge (alone) wrote in this round, MB/s.
    raw_same_mb_s: f64,
    /// One per [`names`], in that order.
    engines: Vec<PeerCompaction>,
}

/// Runs every compiled-in peer once, each in a directory of its own that is
/// deleted afterwards, then the raw write of the bytes libkv's merge wrote in
/// `libkv` (the round's libkv figures, its directories already deleted).
pub(super) fn round(a: &Args, libkv: &Run) -> Result<Round, String> {
    let parent = Path::new(".");
    let engines = names().iter().map(|n| run(n, parent, a)).collect::<Result<Vec<_>, _>>()?;
    let raw_dir = tempfile::tempdir_in(parent).map_err(|e| e.to_string())?;
    let raw_same_mb_s = raw_write_mb_s(&raw_dir.path().join("raw-same.bin"), libkv.alone_output_bytes, false)?;
    Ok(Round { raw_same_mb_s, engines })
}

/// One engine's figures in one round.
struct Sample {
    wall_s: f64,
    input_bytes: Option<u64>,
    written_bytes: u64,
    dir_bytes: Option<u64>,
    table_bytes: Option<u64>,
    /// CPU seconds of the process during the call.
    cpu_s: Option<f64>,
}

/// Prints the table of every engine's full compaction, median over the
/// rounds (wall time and MB/s with [min–max]); ratios are taken per round,
/// then their median.
pub(super) fn report(a: &Args, runs: &[Run], rounds: &[Round]) {
    let libkv_wo_s = |r: &Run| (r.alone_wall_s - r.removal_s).max(1e-3);
    let mut rows: Vec<(String, Vec<Sample>)> = vec![
        (
            "libkv `Db::compact()`".into(),
            runs.iter()
                .map(|r| Sample {
                    wall_s: r.alone_wall_s,
                    input_bytes: Some(r.alone_input_bytes),
                    written_bytes: r.alone_output_bytes,
                    dir_bytes: Some(r.alone_dir_bytes),
                    table_bytes: Some(r.alone_segment_bytes),
                    cpu_s: Some(r.alone_cpu_s),
                })
                .collect(),
        ),
        (
            "libkv, without removing the inputs".into(),
            runs.iter()
                .map(|r| Sample {
                    wall_s: libkv_wo_s(r),
                    input_bytes: Some(r.alone_input_bytes),
                    written_bytes: r.alone_output_bytes,
                    dir_bytes: None,
                    table_bytes: None,
                    cpu_s: None,
                })
                .collect(),
        ),
    ];
    for (i, name) in names().iter().enumerate() {
        let samples = rounds
            .iter()
            .map(|p| {
                let e = &p.engines[i];
                Sample {
                    wall_s: e.wall_s,
                    input_bytes: Some(e.input_bytes),
                    written_bytes: e.written_bytes,
                    dir_bytes: Some(e.disk_bytes),
                    table_bytes: Some(e.table_bytes),
                    cpu_s: Some(e.cpu_s),
                }
            })
            .collect();
        rows.push((name.to_string(), samples));
    }
    rows.push((
        "raw buffered write + fdatasync of libkv's written bytes".into(),
        runs.iter()
            .zip(rounds)
            .map(|(r, p)| Sample {
                wall_s: r.alone_output_bytes as f64 / 1e6 / p.raw_same_mb_s,
                input_bytes: None,
                written_bytes: r.alone_output_bytes,
                dir_bytes: None,
                table_bytes: None,
                cpu_s: None,
            })
            .collect(),
    ));

    let range = |v: Vec<f64>, prec: usize| {
        let (m, lo, hi) = summarize(v);
        format!("{m:.prec$} [{lo:.prec$}–{hi:.prec$}]")
    };
    let median = |v: Vec<f64>, prec: usize| format!("{:.prec$}", summarize(v).0);
    let mb = |b: u64| b as f64 / 1e6;
    let direct = runs.iter().all(|r| r.direct_mb_s.is_some());

    println!("## Full compaction beside peers, {} B values\n", a.value_bytes);
    println!(
        "Every engine gets the same data in the same round: {} keys (16 B) written twice with the values of \
         `kv-bench compaction` ({} B, random; one value per write round), so half the data is dead; then one \
         full compaction, alone on the machine, after a sync(2), timed around the call (libkv: the merge-alone \
         database of the table above). Tables after: the engine's table files (libkv `.seg`, RocksDB `.sst`, \
         fjall `segments/`) when the call returned; more than written = inputs not yet deleted. CPU s ÷ wall s: the \
         process's CPU time (all threads, getrusage) during the call over its wall time, i.e. cores kept busy. Written MB/s = bytes the compaction wrote ÷ its wall time; the records differ in \
         size per engine (libkv: 32 B header + key + value; the LSM trees: key + 8 B sequence/type + \
         block overhead), so \"wall ÷ libkv's\" compares the same work (keep {} live records of {}). Raw \
         writes in the same round: the buffered + fdatasync write of libkv's written bytes (measured after \
         the peers), and the ≥ 1 GiB buffered{} writes of the table above. Median over {} rounds; wall and \
         MB/s with [min–max]; ratios per round, then their median. Each engine's directory is deleted after \
         its round.\n",
        a.keys,
        a.value_bytes,
        a.keys,
        2 * a.keys,
        if direct { " and O_DIRECT" } else { "" },
        runs.len(),
    );
    println!(
        "| engine | CPU s ÷ wall s | wall s | read MB | written MB | tables / directory MB after | written MB/s | ÷ raw same bytes | \
         ÷ raw ≥ 1 GiB buffered |{} MB/s ÷ libkv's (with / without removal) | wall ÷ libkv's (with / without removal) |",
        if direct { " ÷ raw O_DIRECT |" } else { "" }
    );
    println!("|---|---|---|---|---|---|---|---|---|{}---|---|", if direct { "---|" } else { "" });
    for (name, samples) in &rows {
        let per = |g: &dyn Fn(&Sample, &Run, &Round) -> f64| -> Vec<f64> {
            samples.iter().zip(runs).zip(rounds).map(|((s, r), p)| g(s, r, p)).collect()
        };
        let mb_s = |s: &Sample| mb(s.written_bytes) / s.wall_s.max(1e-6);
        let opt = |g: &dyn Fn(&Sample) -> Option<u64>| {
            if samples.iter().all(|s| g(s).is_some()) {
                median(samples.iter().map(|s| g(s).map_or(f64::NAN, mb)).collect(), 1)
            } else {
                "–".to_string()
            }
        };
        let direct_cell = if direct {
            format!(" {} |", median(per(&|s, r, _| mb_s(s) / r.direct_mb_s.unwrap_or(f64::NAN)), 2))
        } else {
            String::new()
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} / {} | {} | {} | {} |{direct_cell} {} / {} | {} / {} |",
            if samples.iter().all(|s| s.cpu_s.is_some()) {
                median(samples.iter().map(|s| s.cpu_s.unwrap_or(f64::NAN) / s.wall_s.max(1e-6)).collect(), 2)
            } else {
                "–".to_string()
            },
            range(per(&|s, _, _| s.wall_s), 3),
            opt(&|s| s.input_bytes),
            median(samples.iter().map(|s| mb(s.written_bytes)).collect(), 1),
            opt(&|s| s.table_bytes),
            opt(&|s| s.dir_bytes),
            range(per(&|s, _, _| mb_s(s)), 1),
            median(per(&|s, _, p| mb_s(s) / p.raw_same_mb_s), 2),
            median(per(&|s, r, _| mb_s(s) / r.raw_mb_s), 2),
            median(per(&|s, r, _| mb_s(s) / (mb(r.alone_output_bytes) / r.alone_wall_s)), 2),
            median(per(&|s, r, _| mb_s(s) / (mb(r.alone_output_bytes) / libkv_wo_s(r))), 2),
            median(per(&|s, r, _| s.wall_s / r.alone_wall_s), 2),
            median(per(&|s, r, _| s.wall_s / libkv_wo_s(r)), 2),
        );
    }
    println!();
    println!(
        "- libkv: `Db::compact()` with the options of the table above (merge output {}, scan threads: {}); the \
         call includes removing its inputs (freeing their blocks; the second row subtracts the summary's \
         `removal_ms`); written = `CompactionSummary::output_bytes`.",
        if a.buffered_merge { "through the page cache" } else { "O_DIRECT" },
        median(runs.iter().map(|r| r.alone_threads as f64).collect(), 0),
    );
    for name in names() {
        println!("- {name}: {}.", setup(name, a));
    }
    for name in missing() {
        println!("- not compiled in: {name}.");
    }
    println!();
}
