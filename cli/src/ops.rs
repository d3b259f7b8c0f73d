//! Operations on a whole database: `stats`, `verify`, `repair`, `compact`,
//! `dump` and `load`. Long ones draw a progress bar on stderr (hidden when
//! stderr is not a terminal) and reply with a summary that `--json` prints
//! as an object.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use kv_engine::verify::{self, Severity};
use kv_engine::{Db, Error, Fsync, Options, RecoveryMode, WriteBatch};
use serde_json::json;

use crate::commands::{self, Session};
use crate::dump::{self, DumpError, Item};
use crate::failure::Failure;
use crate::reply::Reply;

/// Strings written per batch by `load` and `repair`.
const LOAD_BATCH_KEYS: usize = 1000;

/// Runs an operations command (arity already checked).
pub fn execute(session: &mut Session, name: &str, a: &[Vec<u8>]) -> Result<Reply, Failure> {
    match name {
        "help" => commands::help(a.first().map(Vec::as_slice)),
        "stats" => {
            let fsync = session.config.fsync;
            Ok(stats(session.db()?, fsync))
        }
        "verify" => {
            // Verification takes the directory lock itself.
            session.close()?;
            let dir = session.config.dir.clone();
            verify_dir(&dir, session.progress)
        }
        "repair" => repair(Path::new(&commands::text(&a[0])), Path::new(&commands::text(&a[1])), session.progress),
        "compact" => compact(session.db()?),
        "dump" => {
            let progress = session.progress;
            dump_to(session.db()?, Path::new(&commands::text(&a[0])), progress)
        }
        "load" => {
            let progress = session.progress;
            load_from(session.db()?, Path::new(&commands::text(&a[0])), progress)
        }
        other => Err(Failure::Other(format!("operation '{other}' is in the table but not implemented"))),
    }
}

fn bar(len: u64, show: bool, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(what.to_string());
    pb
}

/// A report: INFO-like text for people, an object for `--json`.
fn report(sections: Vec<(&str, Vec<(&str, serde_json::Value)>)>) -> Reply {
    let mut text = String::new();
    let mut obj = serde_json::Map::new();
    for (i, (title, fields)) in sections.into_iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("# {title}\n"));
        let mut sec = serde_json::Map::new();
        for (k, v) in fields {
            let shown = match &v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            text.push_str(&format!("{k}:{shown}\n"));
            sec.insert(k.to_string(), v);
        }
        obj.insert(title.to_lowercase(), serde_json::Value::Object(sec));
    }
    Reply::Report { text, json: serde_json::Value::Object(obj) }
}

/// `stats`: INFO-style sections from `Db::stats()`.
pub fn stats(db: &Db, fsync: Fsync) -> Reply {
    let s = db.stats();
    let r = &s.recovery;
    let sealed = s.segments.iter().filter(|x| !x.active).count();
    report(vec![
        (
            "Keyspace",
            vec![
                ("db0", json!(format!("keys={},expires={}", s.keys, s.keys_with_ttl))),
                ("keys", json!(s.keys)),
                ("keys_with_ttl", json!(s.keys_with_ttl)),
                ("expired_keys", json!(s.expired_keys())),
                ("keydir_heap_bytes", json!(s.keydir_heap_bytes)),
            ],
        ),
        (
            "Persistence",
            vec![
                ("fsync_policy", json!(format!("{fsync:?}").to_lowercase())),
                ("segments", json!(s.segments.len())),
                ("sealed_segments", json!(sealed)),
                ("disk_bytes", json!(s.disk_bytes)),
                ("dead_bytes", json!(s.dead_bytes)),
                ("fsyncs", json!(s.fsyncs)),
                ("synced_writes", json!(s.synced_writes)),
                ("mean_group_commit", json!((s.mean_group_commit * 100.0).round() / 100.0)),
                ("merges", json!(s.merges)),
                ("merge_reclaimed_bytes", json!(s.merge_reclaimed_bytes)),
                ("last_merge_duration_ms", json!(s.last_merge_duration_ms)),
                ("merge_failures", json!(s.merge_failures)),
                ("recovery_segments_scanned", json!(r.segments_scanned)),
                ("recovery_segments_from_hints", json!(r.segments_from_hints)),
                ("recovery_records_replayed", json!(r.records_replayed)),
                ("recovery_torn_tail_bytes_truncated", json!(r.torn_tail_bytes_truncated)),
                ("recovery_salvaged_bytes_skipped", json!(r.salvaged_bytes_skipped)),
                ("recovery_duration_ms", json!(r.duration_ms)),
                ("poisoned", json!(u8::from(s.poisoned))),
            ],
        ),
        (
            "Stats",
            vec![
                ("reads", json!(s.reads)),
                ("read_bytes", json!(s.read_bytes)),
                ("writes", json!(s.writes)),
                ("written_bytes", json!(s.written_bytes)),
                ("keyspace_hits", json!(s.keyspace_hits)),
                ("keyspace_misses", json!(s.keyspace_misses)),
                ("expired_keys_lazy", json!(s.expired_keys_lazy)),
                ("expired_keys_active", json!(s.expired_keys_active)),
                ("rotations", json!(s.rotations)),
            ],
        ),
    ])
}

/// `verify`: checks every checksum; fails with exit code 4 naming the first
/// damaged file and offset.
pub fn verify_dir(dir: &Path, progress: bool) -> Result<Reply, Failure> {
    let pb = bar(0, progress, "verify");
    let start = Instant::now();
    let rep = verify::verify_dir_with_progress(dir, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    let corrupt: Vec<&verify::Problem> = rep.corruptions().collect();
    let mut text = format!(
        "verified {}: {} segments, {} hint files, {} records, {} bytes in {} ms\n",
        dir.display(),
        rep.segments,
        rep.hints,
        rep.records,
        rep.bytes,
        start.elapsed().as_millis()
    );
    for p in &rep.problems {
        let sev = if p.severity == Severity::Corruption { "CORRUPT" } else { "warning" };
        text.push_str(&format!("{sev}: {} at offset {}: {}\n", p.file.display(), p.offset, p.reason));
    }
    match corrupt.first() {
        None => {
            text.push_str("OK: every checksum matches\n");
            let problems: Vec<_> = rep
                .problems
                .iter()
                .map(|p| json!({"file": p.file.display().to_string(), "offset": p.offset, "reason": p.reason, "severity": "warning"}))
                .collect();
            let json = json!({"ok": true, "segments": rep.segments, "hints": rep.hints, "records": rep.records, "bytes": rep.bytes, "problems": problems});
            Ok(Reply::Report { text, json })
        }
        Some(first) => {
            // The full list goes to stdout; the failure names the first one.
            print!("{text}");
            Err(Failure::Corrupt(format!(
                "{} corrupt place(s); first: {} at offset {}: {}",
                corrupt.len(),
                first.file.display(),
                first.offset,
                first.reason
            )))
        }
    }
}

/// Reads every live key of `db` as dump items, in key order. Keys that
/// vanish meanwhile (expired, deleted) are skipped.
fn export(db: &Db, mut sink: impl FnMut(Item) -> Result<(), Failure>, pb: &ProgressBar) -> Result<(u64, u64), Failure> {
    let keys = db.keys_with_prefix(b"")?;
    pb.set_length(keys.len() as u64);
    let (mut exported, mut unreadable) = (0u64, 0u64);
    for key in keys {
        pb.inc(1);
        let expire_at_ms = match db.pexpiretime(&key)? {
            -2 => continue,
            -1 => 0,
            t => t as u64,
        };
        let item = match db.get(&key) {
            Ok(Some(value)) => Item::String { key, expire_at_ms, value },
            Ok(None) => continue,
            Err(Error::WrongType) => {
                let members = db.zrange_by_rank(&key, 0, -1)?;
                if members.is_empty() {
                    continue;
                }
                Item::ZSet { key, expire_at_ms, members }
            }
            // A damaged record under Salvage: count it and go on.
            Err(Error::Corruption { .. }) => {
                unreadable += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        sink(item)?;
        exported += 1;
    }
    Ok((exported, unreadable))
}

/// Writes items into `db`: strings in batches, each sorted set on its own.
/// Existing keys are replaced. Items already expired are skipped.
struct Importer<'a> {
    db: &'a Db,
    batch: WriteBatch,
    now_ms: u64,
    last_zset: Option<Vec<u8>>,
    loaded: u64,
    expired: u64,
}

impl<'a> Importer<'a> {
    fn new(db: &'a Db) -> Importer<'a> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Importer { db, batch: WriteBatch::new(), now_ms, last_zset: None, loaded: 0, expired: 0 }
    }

    fn add(&mut self, item: Item) -> Result<(), Failure> {
        let (expire_at_ms, key) = match &item {
            Item::String { expire_at_ms, key, .. } | Item::ZSet { expire_at_ms, key, .. } => (*expire_at_ms, key),
        };
        let continues = self.last_zset.as_deref() == Some(key.as_slice());
        if expire_at_ms != 0 && expire_at_ms <= self.now_ms {
            if !continues {
                self.expired += 1;
            }
            return Ok(());
        }
        match item {
            Item::String { key, value, expire_at_ms } => {
                self.last_zset = None;
                // A put replaces a key of any type (a sorted set's members too).
                self.batch.put_with_expiry(&key, &value, expire_at_ms);
                self.loaded += 1;
                if self.batch.len() >= LOAD_BATCH_KEYS {
                    self.flush()?;
                }
            }
            Item::ZSet { key, members, expire_at_ms } => {
                self.flush()?;
                if !continues {
                    self.db.delete(&key)?;
                    self.loaded += 1;
                }
                let pairs: Vec<(f64, &[u8])> = members.iter().map(|(m, s)| (*s, m.as_slice())).collect();
                let r = self.db.zadd(&key, &pairs);
                commands::reply_of(r.map(|_| Reply::ok()))?;
                if expire_at_ms != 0 {
                    self.db.pexpireat(&key, expire_at_ms as i64, kv_engine::ExpireCondition::None)?;
                }
                self.last_zset = Some(key);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Failure> {
        if !self.batch.is_empty() {
            self.db.write_batch(&self.batch)?;
            self.batch.clear();
        }
        Ok(())
    }
}

/// `dump FILE`.
pub fn dump_to(db: &Db, file: &Path, progress: bool) -> Result<Reply, Failure> {
    let start = Instant::now();
    let tmp = file.with_extension("dump-tmp");
    let out = File::create(&tmp).map_err(|e| Failure::Other(format!("cannot create {}: {e}", tmp.display())))?;
    let mut w = dump::Writer::new(BufWriter::new(out))?;
    let pb = bar(0, progress, "dump");
    let (n, _) = export(db, |item| w.write(&item).map_err(Failure::from), &pb)?;
    pb.finish_and_clear();
    let out = w.finish()?.into_inner().map_err(|e| Failure::Other(format!("write failed: {e}")))?;
    out.sync_all()?;
    // Rename only a complete, synced dump into place.
    std::fs::rename(&tmp, file)?;
    let bytes = std::fs::metadata(file)?.len();
    let ms = start.elapsed().as_millis() as u64;
    Ok(Reply::Report {
        text: format!("dumped {n} keys ({bytes} bytes) to {} in {ms} ms", file.display()),
        json: json!({"keys": n, "bytes": bytes, "file": file.display().to_string(), "duration_ms": ms}),
    })
}

/// `load FILE`.
pub fn load_from(db: &Db, file: &Path, progress: bool) -> Result<Reply, Failure> {
    let start = Instant::now();
    let f = File::open(file).map_err(|e| Failure::Other(format!("cannot open {}: {e}", file.display())))?;
    let total = f.metadata()?.len();
    let corrupt = |e: DumpError| match e {
        DumpError::Io(e) => Failure::Other(format!("reading {}: {e}", file.display())),
        DumpError::Corrupt { offset, reason } => {
            Failure::Corrupt(format!("corrupt dump {} at offset {offset}: {reason}", file.display()))
        }
    };
    let mut r = dump::Reader::new(BufReader::new(f)).map_err(corrupt)?;
    let pb = bar(total, progress, "load");
    let mut imp = Importer::new(db);
    // Items are applied as they are read: a dump damaged half way leaves the
    // keys before the damage loaded, and the error says where it stopped.
    while let Some(item) = r.next_item().map_err(corrupt)? {
        imp.add(item)?;
        pb.set_position(r.offset());
    }
    imp.flush()?;
    pb.finish_and_clear();
    let ms = start.elapsed().as_millis() as u64;
    Ok(Reply::Report {
        text: format!(
            "loaded {} keys from {} in {ms} ms ({} already expired, skipped)",
            imp.loaded,
            file.display(),
            imp.expired
        ),
        json: json!({"keys": imp.loaded, "expired_skipped": imp.expired, "file": file.display().to_string(), "duration_ms": ms}),
    })
}

/// `repair SRC DST`: opens SRC under `RecoveryMode::Salvage` (skipping
/// damaged bytes) and copies every readable live key into DST, which must
/// not hold a database yet.
pub fn repair(src: &Path, dst: &Path, progress: bool) -> Result<Reply, Failure> {
    let start = Instant::now();
    if !src.is_dir() {
        return Err(Failure::Other(format!("{} is not a directory", src.display())));
    }
    if dst.exists() && std::fs::read_dir(dst)?.next().is_some() {
        return Err(Failure::Usage(format!("ERR destination {} exists and is not empty", dst.display())));
    }
    let src_db =
        Db::open(src, Options { recovery: RecoveryMode::Salvage, auto_compaction: false, ..Options::default() })?;
    let dst_db = Db::open(dst, Options { fsync: Fsync::No, ..Options::default() })?;
    let skipped = src_db.stats().recovery.salvaged_bytes_skipped;
    let pb = bar(0, progress, "repair");
    let mut imp = Importer::new(&dst_db);
    let (_, unreadable) = export(&src_db, |item| imp.add(item), &pb)?;
    imp.flush()?;
    pb.finish_and_clear();
    let (copied, expired) = (imp.loaded, imp.expired);
    dst_db.sync()?;
    dst_db.close()?;
    src_db.close()?;
    let ms = start.elapsed().as_millis() as u64;
    let verdict =
        if skipped == 0 && unreadable == 0 { "nothing was lost" } else { "records in the skipped bytes are lost" };
    Ok(Reply::Report {
        text: format!(
            "repaired {} into {}: {copied} keys copied, {skipped} damaged bytes skipped, \
             {unreadable} unreadable keys, {expired} expired keys dropped, in {ms} ms ({verdict})",
            src.display(),
            dst.display()
        ),
        json: json!({
            "src": src.display().to_string(), "dst": dst.display().to_string(), "keys_copied": copied,
            "salvaged_bytes_skipped": skipped, "unreadable_keys": unreadable, "expired_dropped": expired, "duration_ms": ms
        }),
    })
}

/// `compact`: merges every sealed segment.
pub fn compact(db: &Db) -> Result<Reply, Failure> {
    let s = db.compact()?;
    // The inputs are freed in the background: wait, so that the bytes
    // reported reclaimed are free when this returns. A failed removal is no
    // failure of the merge (the next open removes the file): reported only.
    let removal_error = db.wait_for_removals().err().map(|e| e.to_string());
    Ok(Reply::Report {
        text: format!(
            "compacted {} segments ({} bytes) into {} ({} bytes): {} bytes reclaimed, {} records copied, {} dropped, in {} ms \
             ({} ms retiring the inputs; {} inputs copied from the index's list)",
            s.input_segments.len(),
            s.input_bytes,
            s.output_segments.len(),
            s.output_bytes,
            s.reclaimed_bytes(),
            s.records_copied,
            s.records_dropped,
            s.duration_ms,
            s.removal_ms,
            s.inputs_copied_from_index
        ) + &removal_error.as_ref().map_or(String::new(), |e| format!("; {e} (the next open removes it)")),
        json: json!({
            "input_segments": s.input_segments.len(), "input_bytes": s.input_bytes,
            "output_segments": s.output_segments.len(), "output_bytes": s.output_bytes,
            "reclaimed_bytes": s.reclaimed_bytes(), "records_copied": s.records_copied,
            "records_dropped": s.records_dropped, "duration_ms": s.duration_ms,
            "removal_ms": s.removal_ms, "inputs_copied_from_index": s.inputs_copied_from_index,
            "removal_error": removal_error
        }),
    })
}
