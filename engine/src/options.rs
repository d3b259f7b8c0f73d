//! Per-database options and the limits they enforce.
//!
//! Every limit here is checked on every call that could exceed it; see
//! [`Options::validate`] for the hard ceilings no option may pass.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};

/// When acknowledged writes reach stable storage.
///
/// Every policy survives a process crash (kill -9): a write is handed to the
/// kernel with `write(2)` before it is acknowledged. The policies differ only
/// in what a power cut or kernel crash can take back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fsync {
    /// A write returns only after an `fdatasync` covering it succeeded.
    /// Concurrent writers share fsyncs (group commit). A power cut loses no
    /// acknowledged write.
    Always,
    /// A background thread syncs once per second. A power cut loses at most
    /// about one second of acknowledged writes (up to ~2 s under load).
    EverySec,
    /// The OS decides when to write back; libkv syncs only on segment rotation,
    /// `Db::sync` and close. A power cut may lose any unsynced write.
    No,
}

impl Fsync {
    /// Parses `"always"`, `"everysec"` or `"no"` (the Redis `appendfsync` words).
    pub fn parse(s: &str) -> Result<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(Fsync::Always),
            "everysec" => Ok(Fsync::EverySec),
            "no" => Ok(Fsync::No),
            other => Err(Error::invalid(format!("unknown fsync policy {other:?}: use always, everysec or no"))),
        }
    }
}

/// What open does with a damaged record that is not a torn tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecoveryMode {
    /// Refuse to open with [`Error::Corruption`] naming file and offset.
    /// A torn tail of the newest segment is still truncated: it is the normal
    /// result of a crash, not damage.
    Strict,
    /// Skip damaged bytes up to the next record with a valid checksum and count
    /// them in `Stats::recovery`. Records in the skipped range are lost.
    Salvage,
}

/// Hard ceiling on `max_key_size_bytes` (64 KiB).
pub const MAX_KEY_SIZE_BYTES: usize = 64 * 1024;
/// Hard ceiling on `max_value_size_bytes` (1 GiB): record offsets are `u32`.
pub const MAX_VALUE_SIZE_BYTES: usize = 1024 * 1024 * 1024;
/// Hard ceiling on `max_segment_size_bytes` (2 GiB): record offsets are `u32`
/// and a record may overflow a segment by at most one maximum-size value.
pub const MAX_SEGMENT_SIZE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Hard ceiling on `max_batch_size_bytes` (1 GiB), for the same reason.
pub const MAX_BATCH_SIZE_BYTES: usize = 1024 * 1024 * 1024;

/// Options for [`crate::Db::open`]. Start from `Options::default()`.
#[derive(Clone)]
pub struct Options {
    /// Durability policy. Default [`Fsync::Always`].
    pub fsync: Fsync,
    /// Active segment is rotated once it would grow past this. Default 256 MiB.
    pub max_segment_size_bytes: u64,
    /// Preallocate each new segment to `max_segment_size_bytes` so that an
    /// fdatasync does not also have to update the file size (≈1.4× more
    /// synced writes per second on ext4). Default true.
    pub preallocate: bool,
    /// Longest accepted key. Default and ceiling 64 KiB.
    pub max_key_size_bytes: usize,
    /// Longest accepted value. Default 512 MiB, ceiling 1 GiB.
    pub max_value_size_bytes: usize,
    /// Most operations in one atomic batch. Default 100,000.
    pub max_batch_ops: usize,
    /// Most encoded bytes in one atomic batch. Default 64 MiB, ceiling 1 GiB.
    pub max_batch_size_bytes: usize,
    /// Values at least this long are lz4-compressed when that makes them
    /// smaller. Default 4096; `usize::MAX` disables compression.
    pub compression_threshold_bytes: usize,
    /// What open does with damaged records. Default [`RecoveryMode::Strict`].
    pub recovery: RecoveryMode,
    /// Run automatic background compaction. Default true.
    pub auto_compaction: bool,
    /// A sealed segment becomes a compaction candidate when at least this
    /// fraction of its bytes is dead. Default 0.5.
    pub compaction_min_dead_ratio: f64,
    /// ... and the database holds at least this many dead bytes. Default 64 MiB.
    pub compaction_min_dead_bytes: u64,
    /// Throttle for the merge's writes in bytes per second; 0 = unthrottled.
    /// Default 0.
    pub compaction_rate_limit_bytes_per_sec: u64,
    /// Throttle for the merge's writes while foreground commits are
    /// running (`Fsync::Always` writes waiting for their fsync, or done
    /// within the last 20 ms), in
    /// bytes per second; 0 = unthrottled. Every byte a
    /// merge writes between two foreground fsyncs is flushed by the second
    /// one, so this bounds what a merge adds to commit latency; with no
    /// commits the merge runs at full speed. Default 64 MB/s (see
    /// `benches/README.md` for the measured trade-off).
    pub compaction_busy_rate_limit_bytes_per_sec: u64,
    /// Threads that merge a large merge's inputs (two halves of about equal
    /// work side by side, when the inputs total at least 16 MiB or two
    /// segments' worth: of the inputs' bytes, or, for inputs of string puts
    /// only, of the index's shards; the liveness walk and the index switch
    /// are split the same way): 1 or 2. Default 2 (1 on a one-CPU machine).
    pub compaction_threads: usize,
    /// Write merge output around the page cache (`O_DIRECT`, where the file
    /// system supports it). Merges then run near the device's speed instead
    /// of the kernel's page-copy speed, and do not evict the cached working
    /// set or leave a flood of dirty pages whose write-back stalls
    /// foreground fsyncs. The cost: the first read of a moved record after
    /// a merge comes from the device, not from memory. Default true.
    pub compaction_direct_io: bool,
    /// Run the active expiry cycle in the background. Default true.
    pub active_expiry: bool,
    /// Interval between active expiry cycles. Default 100 ms (Redis `hz 10`).
    pub active_expiry_interval_ms: u64,
    /// CPU budget of one active expiry cycle. Default 25 ms (Redis: 25% of a
    /// 100 ms tick).
    pub active_expiry_budget_ms: u64,
    /// Source of wall-clock time for TTLs. Tests replace it.
    pub clock: Arc<dyn Clock>,
    /// The index's hash seed for a database without hint files; `None`
    /// (the default): a random one. A database with hint files hashes with
    /// theirs. A merge of string puts copies records in hash order, so a
    /// fixed seed makes merge outputs, and the storage operations that
    /// write them, the same from run to run (tests that cut power at every
    /// operation need that). A random seed keeps keys chosen by an
    /// attacker from piling up in one part of the index.
    pub hash_seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fsync: Fsync::Always,
            max_segment_size_bytes: 256 * 1024 * 1024,
            preallocate: true,
            max_key_size_bytes: MAX_KEY_SIZE_BYTES,
            max_value_size_bytes: 512 * 1024 * 1024,
            max_batch_ops: 100_000,
            max_batch_size_bytes: 64 * 1024 * 1024,
            compression_threshold_bytes: 4096,
            recovery: RecoveryMode::Strict,
            auto_compaction: true,
            compaction_min_dead_ratio: 0.5,
            compaction_min_dead_bytes: 64 * 1024 * 1024,
            compaction_rate_limit_bytes_per_sec: 0,
            compaction_busy_rate_limit_bytes_per_sec: 64_000_000,
            compaction_direct_io: true,
            // A second thread only helps with a second CPU.
            compaction_threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
            active_expiry: true,
            active_expiry_interval_ms: 100,
            active_expiry_budget_ms: 25,
            clock: Arc::new(SystemClock),
            hash_seed: None,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("fsync", &self.fsync)
            .field("max_segment_size_bytes", &self.max_segment_size_bytes)
            .field("preallocate", &self.preallocate)
            .field("max_key_size_bytes", &self.max_key_size_bytes)
            .field("max_value_size_bytes", &self.max_value_size_bytes)
            .field("max_batch_ops", &self.max_batch_ops)
            .field("max_batch_size_bytes", &self.max_batch_size_bytes)
            .field("compression_threshold_bytes", &self.compression_threshold_bytes)
            .field("recovery", &self.recovery)
            .field("auto_compaction", &self.auto_compaction)
            .field("compaction_min_dead_ratio", &self.compaction_min_dead_ratio)
            .field("compaction_min_dead_bytes", &self.compaction_min_dead_bytes)
            .field("compaction_rate_limit_bytes_per_sec", &self.compaction_rate_limit_bytes_per_sec)
            .field("compaction_busy_rate_limit_bytes_per_sec", &self.compaction_busy_rate_limit_bytes_per_sec)
            .field("compaction_threads", &self.compaction_threads)
            .field("compaction_direct_io", &self.compaction_direct_io)
            .field("active_expiry", &self.active_expiry)
            .field("hash_seed", &self.hash_seed)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// Checks every option against its hard ceiling.
    pub fn validate(&self) -> Result<()> {
        let check = |ok: bool, msg: &str| if ok { Ok(()) } else { Err(Error::invalid(msg.to_string())) };
        check((1..=MAX_KEY_SIZE_BYTES).contains(&self.max_key_size_bytes), "max_key_size_bytes must be in 1..=65536")?;
        check(
            (1..=MAX_VALUE_SIZE_BYTES).contains(&self.max_value_size_bytes),
            "max_value_size_bytes must be in 1..=1 GiB",
        )?;
        check(
            (4096..=MAX_SEGMENT_SIZE_BYTES).contains(&self.max_segment_size_bytes),
            "max_segment_size_bytes must be in 4 KiB..=2 GiB",
        )?;
        check(self.max_batch_ops >= 1, "max_batch_ops must be at least 1")?;
        check(
            (1..=MAX_BATCH_SIZE_BYTES).contains(&self.max_batch_size_bytes),
            "max_batch_size_bytes must be in 1..=1 GiB",
        )?;
        check(
            self.compaction_min_dead_ratio.is_finite() && (0.0..=1.0).contains(&self.compaction_min_dead_ratio),
            "compaction_min_dead_ratio must be in 0.0..=1.0",
        )?;
        check((1..=2).contains(&self.compaction_threads), "compaction_threads must be 1 or 2")?;
        check(self.active_expiry_interval_ms >= 1, "active_expiry_interval_ms must be at least 1")?;
        Ok(())
    }
}
