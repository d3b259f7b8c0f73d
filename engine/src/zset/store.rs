//! The engine's sorted sets: every set in memory, keyed by its key, plus the
//! glue between a [`ZSet`] and the log (record payloads, member tags, dead
//! bytes, and the compaction hooks).
//!
//! A sorted-set key has a keydir entry of kind [`ValueKind::ZSet`] whose
//! `expire_at_ms` is the key's expiry and whose `loc` is its newest
//! `KeyMeta` record (zero if none); its members live here. Each member's tag
//! is the packed location ([`tag_of`]) of its `ZAdd` record. `ZAdd`, `ZRem`
//! and `KeyMeta` records are never compressed, so a record's length follows
//! from the key and member lengths ([`zadd_record_len`]) and the tag alone
//! locates it. See `docs/design.md`, "Sorted sets".
//!
//! Invariant (under the writer mutex): a key has a keydir entry of kind
//! `ZSet` if and only if it has a non-empty set here.

use std::collections::HashMap as StdHashMap;
use std::hash::BuildHasher;

use hashbrown::HashMap;
use parking_lot::{RwLock, RwLockReadGuard};

use super::{UpdatePlan, ZSet};
use crate::db::Inner;
use crate::keydir::{Entry, Loc, ValueKind};
use crate::record::{self, RecordKind, RecordRef};

/// Number of shards of the store (spreads lock contention).
const SHARDS: usize = 64;

/// One shard: key to set.
type Shard = HashMap<Vec<u8>, ZSet>;

/// Every sorted set of the database, sharded by key hash.
pub(crate) struct ZSetStore {
    shards: Box<[RwLock<Shard>]>,
    hasher: hashbrown::DefaultHashBuilder,
    /// Keys whose set recovery dropped because it had expired, without a
    /// durable tombstone. Their member records are still in the log and
    /// would replay as a live set if the clock went back, so the first write
    /// that recreates such a key writes an `ExpireTombstone` first.
    purged: parking_lot::Mutex<hashbrown::HashSet<Vec<u8>>>,
}

impl Default for ZSetStore {
    fn default() -> Self {
        ZSetStore {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hasher: Default::default(),
            purged: Default::default(),
        }
    }
}

/// Dead bytes per segment, gathered before being added to the counters.
pub(crate) type DeadBytes = StdHashMap<u32, u64>;

/// The tag stored with a member: its `ZAdd` record's location, `seg << 32 | off`.
pub(crate) fn tag_of(loc: Loc) -> u64 {
    ((loc.seg as u64) << 32) | loc.off as u64
}

/// Encoded length of a `ZAdd` record (never compressed).
pub(crate) fn zadd_record_len(key_len: usize, member_len: usize) -> u32 {
    (record::HEADER_LEN + key_len + 8 + member_len) as u32
}

/// The location a member's tag stands for.
pub(crate) fn loc_of_tag(tag: u64, key_len: usize, member_len: usize) -> Loc {
    Loc { seg: (tag >> 32) as u32, off: tag as u32, len: zadd_record_len(key_len, member_len) }
}

/// The value of a `ZAdd` record: score (f64 LE) then member.
pub(crate) fn encode_zadd_value(score: f64, member: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + member.len());
    v.extend_from_slice(&score.to_le_bytes());
    v.extend_from_slice(member);
    v
}

/// Splits a `ZAdd` value into score and member; `None` if malformed (too
/// short, or a NaN score, which no writer produces).
pub(crate) fn decode_zadd_value(v: &[u8]) -> Option<(f64, &[u8])> {
    let score = f64::from_le_bytes(v.get(..8)?.try_into().ok()?);
    if score.is_nan() {
        return None;
    }
    Some((score, &v[8..]))
}

fn add_dead(dead: &mut DeadBytes, loc: Loc) {
    if loc.len != 0 {
        *dead.entry(loc.seg).or_default() += loc.len as u64;
    }
}

impl ZSetStore {
    fn shard(&self, key: &[u8]) -> &RwLock<Shard> {
        let h = self.hasher.hash_one(key);
        &self.shards[(h >> 32) as usize & (SHARDS - 1)]
    }

    /// Runs `f` on the set of `key`, if any, under a shared lock. Recursive
    /// read, so a caller may hold several sets (of one shard) at once.
    pub fn read<R>(&self, key: &[u8], f: impl FnOnce(&ZSet) -> R) -> Option<R> {
        self.shard(key).read_recursive().get(key).map(f)
    }

    /// A read guard on the shard holding `key` (for reading several sets at once).
    pub fn guard(&self, key: &[u8]) -> RwLockReadGuard<'_, Shard> {
        self.shard(key).read_recursive()
    }

    /// Sets `member` of `key` (creating the set) to `score` with the record at
    /// `loc`; returns the location of the record it superseded.
    pub fn insert_member(&self, key: &[u8], member: &[u8], score: f64, loc: Loc) -> Option<Loc> {
        self.insert_member_planned(key, member, score, loc, None)
    }

    /// [`ZSetStore::insert_member`] with the update planned while the
    /// record was staged (see [`ZSet::score_planning`]).
    pub fn insert_member_planned(
        &self,
        key: &[u8],
        member: &[u8],
        score: f64,
        loc: Loc,
        plan: Option<&mut UpdatePlan>,
    ) -> Option<Loc> {
        let mut shard = self.shard(key).write();
        let set = match shard.get_mut(key) {
            Some(s) => s,
            None => shard.entry(key.to_vec()).or_default(),
        };
        set.upsert_planned(member, score, tag_of(loc), plan).map(|(_, t)| loc_of_tag(t, key.len(), member.len()))
    }

    /// Removes `member` of `key`; returns the location of its `ZAdd` record
    /// and whether the set is now empty (and was dropped).
    pub fn remove_member(&self, key: &[u8], member: &[u8]) -> (Option<Loc>, bool) {
        let mut shard = self.shard(key).write();
        let Some(set) = shard.get_mut(key) else { return (None, false) };
        let old = set.tag(member).map(|t| loc_of_tag(t, key.len(), member.len()));
        set.remove(member);
        let emptied = set.is_empty();
        if emptied {
            shard.remove(key);
        }
        (old, emptied)
    }

    /// Drops the whole set of `key`, adding every member record to `dead`.
    pub fn drop_set(&self, key: &[u8], dead: &mut DeadBytes) -> bool {
        let Some(set) = self.shard(key).write().remove(key) else { return false };
        for (member, _, tag) in set.iter() {
            add_dead(dead, loc_of_tag(tag, key.len(), member.len()));
        }
        true
    }

    /// Notes that recovery dropped the expired set of `key` (see `purged`).
    pub fn mark_purged(&self, key: &[u8]) {
        self.purged.lock().insert(key.to_vec());
    }

    /// Whether `key`'s expired set was dropped at open without a tombstone.
    pub fn is_purged(&self, key: &[u8]) -> bool {
        let p = self.purged.lock();
        !p.is_empty() && p.contains(key)
    }

    /// A tombstone for `key` is durable in the log now.
    pub fn unpurge(&self, key: &[u8]) {
        let mut p = self.purged.lock();
        if !p.is_empty() {
            p.remove(key);
        }
    }

    /// Keys of every set (for the post-replay expiry sweep).
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.shards.iter().flat_map(|s| s.read().keys().cloned().collect::<Vec<_>>()).collect()
    }

    /// Number of sets.
    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// Approximate heap bytes of every set (members, skiplists, indexes).
    pub fn heap_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.read().iter().map(|(k, z)| k.capacity() + z.heap_bytes()).sum::<usize>()).sum()
    }
}

impl Inner {
    fn add_dead_map(&self, dead: DeadBytes) {
        for (seg, bytes) in dead {
            self.add_dead(seg, bytes);
        }
    }

    /// A sorted-set key left the keydir (deleted, expired, emptied or
    /// replaced by a string): drop its members and count their records and
    /// its `KeyMeta` record as dead.
    pub(crate) fn zset_dropped(&self, key: &[u8], old: Entry) {
        let mut dead = DeadBytes::new();
        add_dead(&mut dead, old.loc);
        self.zsets.drop_set(key, &mut dead);
        self.add_dead_map(dead);
    }

    /// Applies a committed `ZAdd` record at `loc`. `expire_at_ms` is the
    /// key's expiry when the set is created (an existing set keeps its own).
    pub(crate) fn zset_apply_add(
        &self,
        key: &[u8],
        member: &[u8],
        score: f64,
        expire_at_ms: u64,
        loc: Loc,
        plan: Option<&mut UpdatePlan>,
    ) {
        // A plan is made only on a live set (`ZSet::score_planning`), under
        // the writer mutex this apply still holds: the key's entry is there.
        if plan.is_none() {
            match self.keydir.get(key) {
                Some(e) if e.kind == ValueKind::ZSet => {}
                // A string key is replaced (the command layer stages a
                // tombstone first, so this is defensive).
                Some(_) | None => {
                    self.set_entry(key, Entry { loc: Loc::default(), kind: ValueKind::ZSet, expire_at_ms });
                }
            }
        }
        debug_assert!(self.keydir.get(key).is_some_and(|e| e.kind == ValueKind::ZSet), "a sorted set without its key");
        if let Some(old) = self.zsets.insert_member_planned(key, member, score, loc, plan) {
            self.add_dead(old.seg, old.len as u64);
        }
    }

    /// Applies a committed `ZRem` record at `loc`: the member's record and
    /// the tombstone itself are dead; an emptied set removes its key.
    pub(crate) fn zset_apply_rem(&self, key: &[u8], member: &[u8], loc: Loc) {
        let (old, emptied) = self.zsets.remove_member(key, member);
        if let Some(old) = old {
            self.add_dead(old.seg, old.len as u64);
        }
        self.add_dead(loc.seg, loc.len as u64);
        if emptied {
            // The set is already gone from the store; drop the key and its KeyMeta.
            if let Some(e) = self.keydir.remove(key) {
                self.add_dead(e.loc.seg, e.loc.len as u64);
            }
        }
    }

    /// Applies a committed `KeyMeta` record at `loc` (the key's expiry).
    pub(crate) fn zset_apply_meta(&self, key: &[u8], expire_at_ms: u64, loc: Loc) {
        let e = Entry { loc, kind: ValueKind::ZSet, expire_at_ms };
        match self.keydir.insert(key, e) {
            Ok(Some(old)) => self.add_dead(old.loc.seg, old.loc.len as u64),
            Ok(None) => {}
            Err(_) => debug_assert!(false, "keydir shard full"),
        }
    }

    /// Compaction liveness of a sorted-set record (see [`Inner::is_live`]).
    pub(crate) fn zset_is_live(&self, rec: &RecordRef<'_>, loc: Loc) -> bool {
        match rec.header.kind {
            RecordKind::ZAdd => {
                let Some((_, member)) = decode_zadd_value(rec.stored_value) else { return false };
                self.zsets.read(rec.key, |z| z.tag(member) == Some(tag_of(loc))).unwrap_or(false)
            }
            RecordKind::KeyMeta => self.keydir.get(rec.key).is_some_and(|e| e.kind == ValueKind::ZSet && e.loc == loc),
            // A ZRem is a tombstone: never "live", kept or dropped by the
            // compaction's tombstone rule.
            _ => false,
        }
    }

    /// Compaction moved a sorted-set record from `from` to `to` (see
    /// [`Inner::relocate`]); switches only if still pointing at `from`.
    pub(crate) fn zset_relocate(&self, rec: &RecordRef<'_>, from: Loc, to: Loc) -> bool {
        match rec.header.kind {
            RecordKind::ZAdd => {
                let Some((_, member)) = decode_zadd_value(rec.stored_value) else { return false };
                let mut shard = self.zsets.shard(rec.key).write();
                let Some(set) = shard.get_mut(rec.key) else { return false };
                if set.tag(member) != Some(tag_of(from)) {
                    return false;
                }
                set.set_tag(member, tag_of(to))
            }
            RecordKind::KeyMeta => self.keydir.update_loc_if_kind(rec.key, ValueKind::ZSet, from, to),
            _ => false,
        }
    }
}

/// Replay of sorted-set records into a store being rebuilt (see
/// `recovery.rs`); dead bytes go to the caller's map.
#[derive(Default)]
pub(crate) struct ZReplay {
    /// The sets being rebuilt.
    pub store: ZSetStore,
    /// Per sorted-set key, the sequence number of the record that last set
    /// its expiry: a `ZAdd` that compaction moved after a newer `KeyMeta`
    /// must not bring an old expiry back.
    expiry_seq: StdHashMap<Vec<u8>, u64>,
}

/// What a replayed sorted-set record asks of the keydir.
pub(crate) enum KeyEffect {
    /// Nothing.
    None,
    /// Set the key's entry to this (replacing whatever it held).
    Set(Entry),
    /// Set the key's expiry (and, for `KeyMeta`, its location).
    Meta(Entry),
    /// The set was emptied: remove the key.
    Remove,
}

impl ZReplay {
    /// A key stopped holding a set (any record replacing or deleting it).
    pub fn dropped(&mut self, key: &[u8], dead: &mut DeadBytes) {
        self.store.drop_set(key, dead);
        self.expiry_seq.remove(key);
    }

    /// Replays a sorted-set record. `current` is the key's keydir entry.
    /// Replaying a no-op (`ZRem` of a missing member) is never an error
    /// (nutsdb#431); a malformed `ZAdd` value is reported as `Err(())`.
    pub fn apply(
        &mut self,
        rec: &RecordRef<'_>,
        loc: Loc,
        current: Option<Entry>,
        dead: &mut DeadBytes,
    ) -> Result<KeyEffect, ()> {
        let key = rec.key;
        let seq = rec.header.seq;
        let is_set = current.is_some_and(|e| e.kind == ValueKind::ZSet);
        match rec.header.kind {
            RecordKind::ZAdd => {
                let (score, member) = decode_zadd_value(rec.stored_value).ok_or(())?;
                if let Some(old) = self.store.insert_member(key, member, score, loc) {
                    add_dead(dead, old);
                }
                let newer = !matches!(self.expiry_seq.get(key), Some(&s) if seq <= s);
                match current {
                    Some(e) if is_set => {
                        if newer && e.expire_at_ms != rec.header.expire_at_ms {
                            self.expiry_seq.insert(key.to_vec(), seq);
                            return Ok(KeyEffect::Meta(Entry { expire_at_ms: rec.header.expire_at_ms, ..e }));
                        }
                        if newer {
                            self.expiry_seq.insert(key.to_vec(), seq);
                        }
                        Ok(KeyEffect::None)
                    }
                    _ => {
                        self.expiry_seq.insert(key.to_vec(), seq);
                        Ok(KeyEffect::Set(Entry {
                            loc: Loc::default(),
                            kind: ValueKind::ZSet,
                            expire_at_ms: rec.header.expire_at_ms,
                        }))
                    }
                }
            }
            RecordKind::ZRem => {
                add_dead(dead, loc);
                if !is_set {
                    return Ok(KeyEffect::None);
                }
                let (old, emptied) = self.store.remove_member(key, rec.stored_value);
                if let Some(old) = old {
                    add_dead(dead, old);
                }
                if emptied {
                    self.expiry_seq.remove(key);
                    if let Some(e) = current {
                        add_dead(dead, e.loc);
                    }
                    return Ok(KeyEffect::Remove);
                }
                Ok(KeyEffect::None)
            }
            RecordKind::KeyMeta => match current {
                Some(e) if is_set => {
                    add_dead(dead, e.loc);
                    let newer = !matches!(self.expiry_seq.get(key), Some(&s) if seq <= s);
                    let expire_at_ms = if newer {
                        self.expiry_seq.insert(key.to_vec(), seq);
                        rec.header.expire_at_ms
                    } else {
                        e.expire_at_ms
                    };
                    Ok(KeyEffect::Meta(Entry { loc, kind: ValueKind::ZSet, expire_at_ms }))
                }
                // Metadata of a key that holds no set: nothing to apply.
                _ => {
                    add_dead(dead, loc);
                    Ok(KeyEffect::None)
                }
            },
            _ => Ok(KeyEffect::None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Db, Fsync, Options, SimStorage};

    /// Every record (batches unwrapped) of segment `id`, with its location.
    fn records(sim: &SimStorage, id: u32) -> Vec<(RecordKind, Vec<u8>, Vec<u8>, Loc)> {
        let data = sim.read_file(&crate::segment::segment_file_name(id)).expect("segment");
        let mut out = Vec::new();
        let mut off = crate::segment::HEADER_LEN as usize;
        while let Ok(rec) = record::decode(&data[off..]) {
            let len = rec.len() as usize;
            if rec.header.kind == RecordKind::Batch {
                let mut pos = off + record::HEADER_LEN;
                while pos < off + len {
                    let inner = record::decode(&data[pos..off + len]).expect("inner record");
                    let loc = Loc { seg: id, off: pos as u32, len: inner.len() as u32 };
                    out.push((inner.header.kind, inner.key.to_vec(), inner.stored_value.to_vec(), loc));
                    pos += inner.len() as usize;
                }
            } else {
                let loc = Loc { seg: id, off: off as u32, len: len as u32 };
                out.push((rec.header.kind, rec.key.to_vec(), rec.stored_value.to_vec(), loc));
            }
            off += len;
        }
        out
    }

    fn with_rec<T>(kind: RecordKind, key: &[u8], value: &[u8], f: impl FnOnce(&RecordRef<'_>) -> T) -> T {
        let mut buf = Vec::new();
        record::encode(&mut buf, kind, 1, 0, key, value, usize::MAX);
        f(&record::decode(&buf).expect("decode"))
    }

    #[test]
    fn zset_compaction_hooks_liveness_and_conditional_relocate() {
        let sim = SimStorage::new();
        let opts = Options { fsync: Fsync::No, auto_compaction: false, active_expiry: false, ..Options::default() };
        let db = Db::open_with_storage(Arc::new(sim.clone()), opts).expect("open");
        db.zadd(b"z", &[(1.0, b"a"), (2.0, b"b")]).expect("zadd");
        db.zadd(b"z", &[(3.0, b"a")]).expect("zadd"); // first ZAdd of a is dead
        db.zrem(b"z", &[b"b"]).expect("zrem");
        db.zset_expire_at(b"z", u64::MAX / 4).expect("expire");
        db.zset_expire_at(b"z", u64::MAX / 3).expect("expire"); // first KeyMeta is dead
        db.zadd(b"gone", &[(1.0, b"x")]).expect("zadd");
        db.delete(b"gone").expect("del");
        let inner = &db.inner;
        let id = inner.writer.lock().active_id;
        let recs = records(&sim, id);
        let live: Vec<(RecordKind, Vec<u8>, bool)> = recs
            .iter()
            .map(|(k, key, v, loc)| (*k, key.clone(), with_rec(*k, key, v, |r| inner.is_live(r, *loc))))
            .collect();
        use RecordKind::*;
        let want = vec![
            (ZAdd, b"z".to_vec(), false), // a@1, superseded
            (ZAdd, b"z".to_vec(), false), // b, removed
            (ZAdd, b"z".to_vec(), true),  // a@3
            (ZRem, b"z".to_vec(), false), // tombstone: never live
            (KeyMeta, b"z".to_vec(), false),
            (KeyMeta, b"z".to_vec(), true),
            (ZAdd, b"gone".to_vec(), false),
            (Delete, b"gone".to_vec(), false),
        ];
        assert_eq!(live, want);

        // Relocation moves the live member record and KeyMeta, once.
        let (_, key, v, from) = &recs[2];
        let to = Loc { seg: 999, off: 64, len: from.len };
        assert!(with_rec(ZAdd, key, v, |r| inner.relocate(r, *from, to)));
        assert!(!with_rec(ZAdd, key, v, |r| inner.relocate(r, *from, to)), "stale source");
        assert_eq!(inner.zsets.read(b"z", |z| z.tag(b"a")), Some(Some(tag_of(to))));
        assert!(!with_rec(ZAdd, key, v, |r| inner.is_live(r, *from)));
        assert!(with_rec(ZAdd, key, v, |r| inner.is_live(r, to)));
        let (_, key, v, from) = &recs[5];
        let to_meta = Loc { seg: 999, off: 200, len: from.len };
        assert!(with_rec(KeyMeta, key, v, |r| inner.relocate(r, *from, to_meta)));
        assert_eq!(inner.keydir.get(b"z").map(|e| e.loc), Some(to_meta));
        let (_, key, v, from) = &recs[0];
        assert!(!with_rec(ZAdd, key, v, |r| inner.relocate(r, *from, to)), "a dead record never moves");
    }
}
