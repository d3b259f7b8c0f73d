//! Offline integrity check of a database directory: every segment header,
//! every record (and every record inside a batch) and every hint file is
//! decoded and its checksum verified, without building an index or
//! changing any file.
//!
//! The directory lock is held for the whole check, so no writer can append
//! to or truncate a file while it is read (it is memory-mapped); a directory
//! in use fails with [`Error::Locked`].
//!
//! What counts as damage mirrors recovery (`recovery.rs`): a bad record in
//! the newest non-empty segment with no valid record after it is a torn
//! tail that open truncates, reported as a warning; any other bad record or
//! segment header is [`Severity::Corruption`]. A hint file whose checksum
//! fails is corruption too (open ignores and rebuilds it, but the disk
//! damaged it); a hint that is intact but no longer matches its segment is
//! a warning (open removes it).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::record::{self, RecordKind};
use crate::segment::{self, SegmentHeader};
use crate::storage::{FsStorage, ReadFile, Storage};

/// How bad a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Damaged bytes: records in them are lost without `RecoveryMode::Salvage`.
    Corruption,
    /// Expected after a crash and handled by open (torn tail, stale hint).
    Warning,
}

/// One finding of [`verify_dir`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// Byte offset inside `file`.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
    /// How bad it is.
    pub severity: Severity,
}

/// What [`verify_dir`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Segment files checked.
    pub segments: u64,
    /// Hint files checked.
    pub hints: u64,
    /// Records with a valid checksum (batch members counted individually).
    pub records: u64,
    /// Bytes of segment and hint files read.
    pub bytes: u64,
    /// Everything wrong, in file order.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when no problem is corruption.
    pub fn is_ok(&self) -> bool {
        self.corruptions().next().is_none()
    }

    /// The corruption problems.
    pub fn corruptions(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.severity == Severity::Corruption)
    }
}

/// Most problems recorded per file: a wholly overwritten file would
/// otherwise produce one per byte.
const MAX_PROBLEMS_PER_FILE: usize = 16;

/// Verifies the database in directory `dir`. See the module docs.
pub fn verify_dir(dir: impl AsRef<Path>) -> Result<Report> {
    verify_dir_with_progress(dir, &mut |_, _| {})
}

/// [`verify_dir`], calling `progress(done_bytes, total_bytes)` after each file.
pub fn verify_dir_with_progress(dir: impl AsRef<Path>, progress: &mut dyn FnMut(u64, u64)) -> Result<Report> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a directory", dir.display()),
        )));
    }
    verify_storage(&FsStorage::new(dir), progress)
}

/// [`verify_dir`] on any [`Storage`].
pub fn verify_storage(storage: &dyn Storage, progress: &mut dyn FnMut(u64, u64)) -> Result<Report> {
    let _lock = storage.lock(segment::LOCK_FILE).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked(storage.path().to_path_buf())
        } else {
            Error::Io(e)
        }
    })?;
    let names = storage.list()?;
    let mut seg_ids: Vec<u32> = names.iter().filter_map(|n| segment::parse_file_name(n, "seg")).collect();
    seg_ids.sort_unstable();
    let hint_ids: Vec<u32> = {
        let mut v: Vec<u32> = names.iter().filter_map(|n| segment::parse_file_name(n, "hint")).collect();
        v.sort_unstable();
        v
    };

    let mut report = Report::default();
    let mut files = Vec::new();
    let mut total_bytes = 0u64;
    for &id in &seg_ids {
        let f = storage.open_read(&segment::segment_file_name(id))?;
        total_bytes += f.len_bytes()?;
        files.push((id, f));
    }
    // The newest segment holding any record gets the torn-tail allowance,
    // as in recovery; the order comes from the headers.
    let mut orders = Vec::new();
    for (id, f) in &files {
        let data = read_all(f.as_ref())?;
        let path = storage.path().join(segment::segment_file_name(*id));
        let order = SegmentHeader::decode(&data, &path).map(|h| h.order).unwrap_or(segment::writer_order(*id));
        let has_records =
            data.len() as u64 > segment::HEADER_LEN && data[segment::HEADER_LEN as usize..].iter().any(|&b| b != 0);
        orders.push((order, *id, has_records));
    }
    let newest = orders.iter().filter(|o| o.2).max_by_key(|o| (o.0, o.1)).map(|o| o.1);
    let newest_id = seg_ids.last().copied();

    let mut done = 0u64;
    for (id, f) in &files {
        let data = read_all(f.as_ref())?;
        let path = storage.path().join(segment::segment_file_name(*id));
        check_segment(&data, &path, *id, Some(*id) == newest, Some(*id) == newest_id, &mut report);
        report.segments += 1;
        report.bytes += data.len() as u64;
        done += data.len() as u64;
        progress(done, total_bytes);
    }
    for id in hint_ids {
        let name = segment::hint_file_name(id);
        let f = storage.open_read(&name)?;
        let data = read_all(f.as_ref())?;
        let path = storage.path().join(&name);
        let seg = files.iter().find(|(sid, _)| *sid == id);
        check_hint(&data, &path, id, seg.map(|(_, f)| f.as_ref()), &mut report)?;
        report.hints += 1;
        report.bytes += data.len() as u64;
    }
    Ok(report)
}

fn read_all(f: &dyn ReadFile) -> Result<std::borrow::Cow<'_, [u8]>> {
    if let Some(s) = f.as_slice() {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    let len = usize::try_from(f.len_bytes()?).map_err(|_| Error::Internal("file larger than memory".into()))?;
    let mut buf = vec![0u8; len];
    f.read_exact_at(&mut buf, 0)?;
    Ok(std::borrow::Cow::Owned(buf))
}

fn push(report: &mut Report, count: &mut usize, file: &Path, offset: u64, reason: String, severity: Severity) {
    *count += 1;
    if *count <= MAX_PROBLEMS_PER_FILE {
        report.problems.push(Problem { file: file.to_path_buf(), offset, reason, severity });
    }
}

/// Checks one segment file's header and records.
fn check_segment(data: &[u8], path: &Path, id: u32, is_newest_nonempty: bool, is_last_id: bool, report: &mut Report) {
    let mut count = 0usize;
    match SegmentHeader::decode(data, path) {
        Ok(h) if h.id == id => {}
        Ok(h) => {
            let reason = format!("segment header names id {}, file name says {id}", h.id);
            push(report, &mut count, path, 12, reason, Severity::Corruption);
            return;
        }
        Err(e) => {
            // Recovery drops a newest segment whose header never became durable.
            let blank = data.len() >= segment::HEADER_LEN as usize
                && data[8..segment::HEADER_LEN as usize].iter().all(|&b| b == 0);
            let sev = if is_last_id && (blank || data.len() < segment::HEADER_LEN as usize) {
                Severity::Warning
            } else {
                Severity::Corruption
            };
            let reason = match &e {
                Error::Corruption { reason, .. } => reason.clone(),
                other => other.to_string(),
            };
            push(report, &mut count, path, 0, reason, sev);
            return;
        }
    }
    let nonzero_end = data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1).max(segment::HEADER_LEN as usize);
    let mut off = segment::HEADER_LEN as usize;
    while off < nonzero_end {
        match record::decode(&data[off..]) {
            Ok(rec) => {
                report.records += 1;
                if rec.header.kind == RecordKind::Batch {
                    check_batch(rec.stored_value, off as u64, path, report, &mut count);
                }
                off += rec.len() as usize;
            }
            Err(e) => {
                let next = (off + 1..nonzero_end).find(|&o| record::decode(&data[o..nonzero_end]).is_ok());
                match next {
                    None if is_newest_nonempty => {
                        let reason =
                            format!("torn tail of {} bytes ({}); open truncates it", nonzero_end - off, e.reason());
                        push(report, &mut count, path, off as u64, reason, Severity::Warning);
                        return;
                    }
                    None => {
                        let reason =
                            format!("{} ({} bytes up to the end are unreadable)", e.reason(), nonzero_end - off);
                        push(report, &mut count, path, off as u64, reason, Severity::Corruption);
                        return;
                    }
                    Some(n) => {
                        let reason = format!("{} ({} bytes skipped up to the next valid record)", e.reason(), n - off);
                        push(report, &mut count, path, off as u64, reason, Severity::Corruption);
                        off = n;
                    }
                }
            }
        }
    }
}

/// Checks the records inside a batch at `batch_off` (already checksummed as
/// a whole, so damage here means a writer bug or an impossible collision).
fn check_batch(body: &[u8], batch_off: u64, path: &Path, report: &mut Report, count: &mut usize) {
    let mut pos = 0usize;
    while pos < body.len() {
        let at = batch_off + (record::HEADER_LEN + pos) as u64;
        match record::decode(&body[pos..]) {
            Ok(inner) if inner.header.kind == RecordKind::Batch => {
                push(report, count, path, at, "nested batch".into(), Severity::Corruption);
                return;
            }
            Ok(inner) => {
                report.records += 1;
                pos += inner.len() as usize;
            }
            Err(e) => {
                push(report, count, path, at, format!("in batch: {}", e.reason()), Severity::Corruption);
                return;
            }
        }
    }
}

/// Checks one hint file: its own checksum, then whether it still matches
/// its segment.
fn check_hint(data: &[u8], path: &Path, id: u32, seg: Option<&dyn ReadFile>, report: &mut Report) -> Result<()> {
    let mut count = 0usize;
    if data.len() < crate::hint::MIN_HINT_FILE_LEN || data[0..8] != crate::hint::HINT_MAGIC {
        push(report, &mut count, path, 0, "hint header: bad magic or truncated".into(), Severity::Corruption);
        return Ok(());
    }
    let (body, crc) = data.split_at(data.len() - 4);
    let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != stored {
        let reason = "hint checksum mismatch (open ignores the hint and scans the segment)".to_string();
        push(report, &mut count, path, (data.len() - 4) as u64, reason, Severity::Corruption);
        return Ok(());
    }
    let Some(seg) = seg else {
        push(report, &mut count, path, 0, "hint of a missing segment; open removes it".into(), Severity::Warning);
        return Ok(());
    };
    let seg_len = seg.len_bytes()?;
    let order = {
        let mut head = [0u8; segment::HEADER_LEN as usize];
        seg.read_exact_at(&mut head, 0).ok().and_then(|()| SegmentHeader::decode(&head, path).ok()).map(|h| h.order)
    };
    let tied = order.is_some_and(|o| crate::hint::validate(data, id, o, seg, seg_len).is_some());
    if !tied {
        let reason = "hint does not match its segment (stale); open removes it and scans".to_string();
        push(report, &mut count, path, 0, reason, Severity::Warning);
    }
    Ok(())
}
