//! Key expiry: lazy purge on access and the active expiry cycle.
//!
//! An expired key is invisible from the moment its `expire_at_ms` passes
//! (every lookup compares against [`crate::Clock`] time). Purging it — writing
//! an `ExpireTombstone` record and dropping it from the keydir — happens:
//!
//! - **lazily**, when a command meets it: a write command stages the tombstone
//!   in its own transaction; a read (`get`, `exists`, ...) purges only if the
//!   writer mutex is free at that instant (`try_lock`), so a read never
//!   queues behind writers or an fsync. If the mutex is busy the key stays
//!   invisible and the next access or the active cycle purges it.
//! - **actively**, by a background thread every
//!   `Options::active_expiry_interval_ms` (Redis's `activeExpireCycle`): it
//!   samples 20 keys with a TTL, walking the keydir shards with a cursor,
//!   purges the expired ones in one transaction, and repeats while more than
//!   25% of the sample was expired, within `Options::active_expiry_budget_ms`.
//!
//! Why tombstones: without one, a purged key's `Put` would come back after a
//! restart whose clock is behind (a wall-clock jump backwards), and an older
//! value could resurface once compaction drops the newer expired record.
//!
//! Durability: purge transactions are appended but do not wait for an fsync
//! (under `Fsync::Always` the next write's group commit covers them). Losing
//! one in a power cut is harmless: the key is still expired by its own
//! record's `expire_at_ms`, which recovery checks.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::db::Inner;
use crate::error::Result;
use crate::keydir::{ArenaCursor, SHARDS};
use crate::record::RecordKind;
use crate::stats::Counters;
use crate::writer::{Apply, WriteTxn};

/// Keys with a TTL looked at per sample (Redis `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
pub const KEYS_PER_SAMPLE: usize = 20;
/// A sample with more than this percentage expired is followed by another.
pub const REPEAT_ABOVE_PERCENT: usize = 25;
/// Keydir entries scanned per shard-lock acquisition while sampling, so the
/// cycle never holds a shard's read lock for long.
const MAX_SCAN_PER_LOCK: usize = 1024;

/// Which counter a purge goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PurgeCause {
    /// A command met the key (Redis `expireIfNeeded`).
    Lazy,
    /// The active cycle found it.
    Active,
}

/// Where the active cycle resumes (shared by the background thread and
/// [`crate::Db::run_expiry_cycle`]; the mutex also keeps two cycles from
/// running at once).
#[derive(Default)]
pub(crate) struct ExpiryState {
    cursor: Mutex<Cursor>,
}

#[derive(Default)]
struct Cursor {
    shard: usize,
    in_shard: ArenaCursor,
}

/// What one active expiry cycle did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Samples taken.
    pub samples: u64,
    /// Keys with a TTL looked at.
    pub sampled_keys: u64,
    /// Keys purged.
    pub expired_keys: u64,
    /// The cycle stopped because its time budget ran out.
    pub budget_exhausted: bool,
}

/// Stages the purge of `key`, expired at `now_ms`, in `tx`: an
/// `ExpireTombstone` record whose apply drops the key and counts it.
pub(crate) fn stage_purge(tx: &mut WriteTxn<'_>, key: &[u8], cause: PurgeCause) -> Result<()> {
    let owned = key.to_vec();
    tx.stage(
        RecordKind::ExpireTombstone,
        key,
        &[],
        0,
        Apply::Custom(Box::new(move |inner: &Inner, loc| {
            // For a sorted set, `remove_entry` also drops its members
            // (`Inner::on_replaced` → `zset_dropped`).
            if inner.remove_entry(&owned).is_some() {
                let c = match cause {
                    PurgeCause::Lazy => &inner.counters.expired_lazy,
                    PurgeCause::Active => &inner.counters.expired_active,
                };
                Counters::add(c, 1);
            }
            // A tombstone is garbage once older records are merged away.
            inner.add_dead(loc.seg, loc.len as u64);
        })),
    )
}

/// Commits a purge transaction without waiting for durability (see the
/// module docs for why that is safe).
fn commit_no_wait(tx: WriteTxn<'_>) -> Result<()> {
    tx.commit().map(|_| ())
}

impl Inner {
    /// Lazy expiry from a read path: if `key` is expired and the writer mutex
    /// is free right now, purges it. Never blocks on the writer; errors are
    /// ignored because the key is invisible either way and the active cycle
    /// retries.
    pub(crate) fn expire_if_needed_from_read(&self, key: &[u8]) {
        let now = self.now_ms();
        if !self.keydir.get(key).is_some_and(|e| e.is_expired(now)) {
            return;
        }
        let Ok(Some(mut tx)) = self.try_begin() else { return };
        // Re-check under the mutex: a writer may have replaced the key.
        if !self.keydir.get(key).is_some_and(|e| e.is_expired(now)) {
            return;
        }
        if stage_purge(&mut tx, key, PurgeCause::Lazy).is_ok() {
            let _ = commit_no_wait(tx);
        }
    }

    /// Runs one active expiry cycle (see the module docs). Returns what it did.
    pub(crate) fn active_expire_cycle(&self, budget: Duration) -> Result<CycleReport> {
        let mut report = CycleReport::default();
        self.check_writable()?;
        if self.keydir.ttl_len() == 0 {
            return Ok(report);
        }
        let started = Instant::now();
        let mut cursor = self.expiry.cursor.lock();
        let mut expired = Vec::with_capacity(KEYS_PER_SAMPLE);
        loop {
            let now = self.now_ms();
            expired.clear();
            let mut sampled = 0usize;
            let mut shards_finished = 0usize;
            // Gather one sample, crossing shard boundaries; stop after one full
            // lap so a keydir with few TTL keys does not spin.
            while sampled < KEYS_PER_SAMPLE && shards_finished <= SHARDS {
                let cur = &mut *cursor;
                let s = self.keydir.sample_ttl_keys(
                    cur.shard,
                    &mut cur.in_shard,
                    now,
                    KEYS_PER_SAMPLE - sampled,
                    MAX_SCAN_PER_LOCK,
                    &mut expired,
                );
                sampled += s.sampled;
                if s.at_end {
                    cur.shard = (cur.shard + 1) % SHARDS;
                    cur.in_shard = ArenaCursor::default();
                    shards_finished += 1;
                }
                if started.elapsed() >= budget {
                    break;
                }
            }
            // A sample that laps back into its starting shard rescans that
            // shard from the top and can meet a key twice; purge (and count)
            // each once. Found by the C test
            // `test_run_expiry_cycle_counts_each_key_once`.
            expired.sort_unstable();
            expired.dedup();
            report.samples += 1;
            report.sampled_keys += sampled as u64;
            if !expired.is_empty() {
                let mut tx = self.begin()?;
                for key in &expired {
                    // Re-check under the writer mutex: the key may have been
                    // rewritten since it was sampled.
                    if self.keydir.get(key).is_some_and(|e| e.is_expired(now)) {
                        stage_purge(&mut tx, key, PurgeCause::Active)?;
                        report.expired_keys += 1;
                    }
                }
                commit_no_wait(tx)?;
            }
            if started.elapsed() >= budget {
                report.budget_exhausted = true;
                break;
            }
            if sampled == 0 || expired.len() * 100 <= sampled * REPEAT_ABOVE_PERCENT {
                break;
            }
        }
        Ok(report)
    }
}

/// Starts the background thread running [`Inner::active_expire_cycle`]
/// every `active_expiry_interval_ms` until shutdown.
pub(crate) fn spawn_active_expiry(inner: Arc<Inner>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("kv-expiry".into()).spawn(move || {
        let interval = Duration::from_millis(inner.opts.active_expiry_interval_ms);
        let budget = Duration::from_millis(inner.opts.active_expiry_budget_ms);
        while !inner.sleep_or_shutdown(interval) {
            if inner.check_writable().is_ok() {
                // An error here poisoned the handle or is transient; the next
                // tick (or the caller's next write) reports it.
                let _ = inner.active_expire_cycle(budget);
            }
        }
    })
}

/// Number of live (not yet expired) keys carrying a TTL.
pub(crate) fn live_ttl_keys(inner: &Inner) -> u64 {
    if inner.keydir.ttl_len() == 0 {
        return 0;
    }
    let now = inner.now_ms();
    let mut n = 0u64;
    for s in 0..SHARDS {
        inner.keydir.for_each_in_shard(s, |_, e| n += (e.expire_at_ms != 0 && !e.is_expired(now)) as u64);
    }
    n
}

impl crate::Db {
    /// Runs one active expiry cycle now, on the calling thread, with the
    /// configured time budget (for tests and the CLI; the background thread
    /// does the same every `active_expiry_interval_ms`).
    pub fn run_expiry_cycle(&self) -> Result<CycleReport> {
        self.inner.check_open()?;
        self.inner.active_expire_cycle(Duration::from_millis(self.inner.opts.active_expiry_budget_ms))
    }
}
