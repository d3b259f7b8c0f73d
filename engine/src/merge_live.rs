//! Which string records a merge reads are live, without a keydir probe per
//! record: one walk of the keydir ([`KeyDir::string_locs`]) collects every
//! live string entry that points into the merge's inputs; sorted by (input,
//! offset) it is joined with the scan, which visits records in that same
//! order. Each entry's keydir slot is kept, so that switching the index to
//! the copy after the commit needs no probe either
//! ([`KeyDir::update_locs_at`]).
//!
//! The walk is a snapshot: a write after it only makes a copy dead, which
//! the slot update detects (the entry no longer points at the input). No
//! write can make an input record live again (writes go to the active
//! segment), so every record live at the switch was live at the walk.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::keydir::{self, KeyDir, Loc, Slot, SlotGenerations};

/// Segment ids up to this are mapped to input indexes by a dense table
/// (4 bytes per id); larger ones by a hash map.
const DENSE_IDS_MAX: u32 = 1 << 22;

/// Keydir entries from which [`LiveStrings::collect`] walks with two threads.
const PARALLEL_MIN_KEYS: usize = 1 << 18;

/// `(input index << 32 | offset, record length, slot)`.
type Item = (u64, u32, Slot);

/// One sorted run of items, shared by the mergers: each sees the window
/// `next..end` of it (splitting a run copies nothing).
#[derive(Clone)]
struct Run {
    items: Arc<Vec<Item>>,
    /// First item not yet matched or passed.
    next: usize,
    end: usize,
}

impl Run {
    fn new(items: Vec<Item>) -> Run {
        let end = items.len();
        Run { items: Arc::new(items), next: 0, end }
    }

    fn head(&self) -> Option<&Item> {
        self.items.get(self.next).filter(|_| self.next < self.end)
    }

    fn window(&self) -> &[Item] {
        self.items.get(self.next..self.end).unwrap_or_default()
    }
}

/// The live string entries of a merge's inputs, joined with its scan.
///
/// The entries come in one or two runs sorted by key (one per walking
/// thread); the join reads them as one sorted list by always taking the
/// smaller head, so the runs are never merged into a copy (at 1M keys that
/// copy was ~15 ms of a ~240 ms merge, on one thread).
pub(crate) struct LiveStrings {
    runs: Vec<Run>,
    /// Segment id of each input (for error messages).
    input_ids: Vec<u32>,
    /// An item the scan passed without finding its record.
    unmatched: Option<(u64, u32)>,
    /// The shard generations the walk saw (the slots' validity).
    pub(crate) generations: SlotGenerations,
    /// Entries and their record bytes per input, as collected (before
    /// any split or match): what balancing and sizing estimates go by.
    per_input: Vec<InputLive>,
}

/// The live string entries the walk found in one input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct InputLive {
    /// Entries (an entry that moved during the walk counts twice).
    pub(crate) entries: u64,
    /// Their records' bytes.
    pub(crate) bytes: u64,
}

/// Maps segment ids to input indexes.
pub(crate) enum InputIndex {
    Dense(Vec<u32>),
    Sparse(HashMap<u32, u32>),
}

impl InputIndex {
    /// The index of inputs `input_ids` (in merge order).
    pub(crate) fn new(input_ids: &[u32]) -> InputIndex {
        let max = input_ids.iter().copied().max().unwrap_or(0);
        if max <= DENSE_IDS_MAX {
            let mut t = vec![u32::MAX; max as usize + 1];
            for (i, &id) in input_ids.iter().enumerate() {
                t[id as usize] = i as u32;
            }
            InputIndex::Dense(t)
        } else {
            InputIndex::Sparse(input_ids.iter().enumerate().map(|(i, &id)| (id, i as u32)).collect())
        }
    }

    /// The input index of segment `seg`, if it is an input.
    #[inline]
    pub(crate) fn get(&self, seg: u32) -> Option<u32> {
        match self {
            InputIndex::Dense(t) => t.get(seg as usize).copied().filter(|&i| i != u32::MAX),
            InputIndex::Sparse(m) => m.get(&seg).copied(),
        }
    }
}

/// Where a [`LiveStrings`] list stands: its runs' positions. The records
/// the list names from a position on can be named again by
/// [`LiveStrings::replay`], so a merge that copies them back to back need
/// not keep one move per record (at 1M records those moves were 36 MB of
/// fresh memory, a tenth of a 100-byte merge's time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListPos {
    next: [usize; MAX_RUNS],
}

/// Runs a list has at most (one per walking thread).
const MAX_RUNS: usize = 2;

/// The items of `runs` (their windows) in key order.
#[cfg(test)]
fn merged<'a>(runs: &'a [Run]) -> impl Iterator<Item = &'a Item> + 'a {
    let mut at: Vec<usize> = runs.iter().map(|r| r.next).collect();
    std::iter::from_fn(move || {
        let (r, item) = runs
            .iter()
            .enumerate()
            .filter_map(|(r, run)| run.items.get(at[r]).filter(|_| at[r] < run.end).map(|it| (r, it)))
            .min_by_key(|(_, it)| it.0)?;
        at[r] += 1;
        Some(item)
    })
}

impl LiveStrings {
    /// Walks the keydir for the live string entries in segments `input_ids`
    /// (the merge scans them in this order); with `threads` 2 and a large
    /// keydir, two threads walk and sort half of the shards each.
    pub(crate) fn collect(keydir: &KeyDir, input_ids: &[u32], threads: usize) -> LiveStrings {
        Self::collect_with(keydir, input_ids, threads, PARALLEL_MIN_KEYS)
    }

    /// [`LiveStrings::collect`], walking with two threads from `parallel_min_keys` keys.
    fn collect_with(keydir: &KeyDir, input_ids: &[u32], threads: usize, parallel_min_keys: usize) -> LiveStrings {
        let index = InputIndex::new(input_ids);
        // The item is built during the walk: no second pass over the finds.
        let pick = |loc: Loc, slot: Slot| Some((((index.get(loc.seg)? as u64) << 32) | loc.off as u64, loc.len, slot));
        let walk = |shards: std::ops::Range<usize>| -> (Vec<Item>, SlotGenerations, Vec<InputLive>) {
            let mut items = Vec::new();
            let generations = keydir.string_locs_in(shards, &pick, &mut items);
            crate::radix::sort_by_u64_key(&mut items, &mut Vec::new(), |it| it.0);
            let mut per_input = vec![InputLive::default(); input_ids.len()];
            for &(k, len, _) in &items {
                if let Some(p) = per_input.get_mut((k >> 32) as usize) {
                    p.entries += 1;
                    p.bytes += len as u64;
                }
            }
            (items, generations, per_input)
        };
        let (runs, generations, per_input) = if threads >= 2 && keydir.len() >= parallel_min_keys {
            let half = keydir::SHARDS / 2;
            let (mine, theirs) = std::thread::scope(|s| {
                let other = std::thread::Builder::new()
                    .name("kv-merge-walk".into())
                    .spawn_scoped(s, || walk(half..keydir::SHARDS));
                let mine = walk(0..half);
                (mine, other.ok().and_then(|h| h.join().ok()))
            });
            // A thread that could not start (or failed) is walked here.
            let theirs = theirs.unwrap_or_else(|| walk(half..keydir::SHARDS));
            let generations = mine.1.combine(&theirs.1, half..keydir::SHARDS);
            let per_input = mine
                .2
                .iter()
                .zip(&theirs.2)
                .map(|(a, b)| InputLive { entries: a.entries + b.entries, bytes: a.bytes + b.bytes })
                .collect();
            (vec![Run::new(mine.0), Run::new(theirs.0)], generations, per_input)
        } else {
            let (items, generations, per_input) = walk(0..keydir::SHARDS);
            (vec![Run::new(items)], generations, per_input)
        };
        debug_assert!(runs.len() <= MAX_RUNS);
        LiveStrings { runs, input_ids: input_ids.to_vec(), unmatched: None, generations, per_input }
    }

    /// An empty list, for a merge of inputs `input_ids` that copies in
    /// keydir order instead (it needs none).
    pub(crate) fn empty(input_ids: &[u32]) -> LiveStrings {
        LiveStrings {
            runs: Vec::new(),
            input_ids: input_ids.to_vec(),
            unmatched: None,
            generations: SlotGenerations([0; keydir::SHARDS]),
            per_input: vec![InputLive::default(); input_ids.len()],
        }
    }

    /// Where the list stands now (see [`ListPos`]).
    pub(crate) fn position(&self) -> ListPos {
        let mut next = [0usize; MAX_RUNS];
        for (n, run) in next.iter_mut().zip(&self.runs) {
            *n = run.next;
        }
        ListPos { next }
    }

    /// Names again, in the same order, the `count` entries
    /// [`LiveStrings::next_listed`] named for input `input` from position
    /// `from` on: calls `f` with each one's location and slot. Stops early
    /// if the list holds fewer.
    pub(crate) fn replay(&self, from: ListPos, input: u32, count: usize, mut f: impl FnMut(Loc, Slot)) {
        let seg = self.input_ids.get(input as usize).copied().unwrap_or(u32::MAX);
        let (lo, hi) = ((input as u64) << 32, (input as u64 + 1) << 32);
        let empty = Vec::new();
        let a: &[Item] = self.runs.first().map_or(&empty, |r| &r.items);
        let b: &[Item] = self.runs.get(1).map_or(&empty, |r| &r.items);
        let (mut i, mut j) = (from.next[0], from.next[1]);
        for _ in 0..count {
            // The smaller head (as `head` picks: the first run on a tie).
            let (x, y) = (a.get(i), b.get(j));
            let &(k, len, slot) = match (x, y) {
                (Some(x), Some(y)) if y.0 < x.0 => y,
                (Some(x), _) => x,
                (None, Some(y)) => y,
                (None, None) => return,
            };
            if k < lo || k >= hi {
                return;
            }
            // Pass every item with this key (as `skip_key` does).
            while a.get(i).is_some_and(|it| it.0 == k) {
                i += 1;
            }
            while b.get(j).is_some_and(|it| it.0 == k) {
                j += 1;
            }
            f(Loc { seg, off: k as u32, len }, slot);
        }
    }

    /// The run holding the smallest unmatched item, and that item.
    fn head(&self) -> Option<(usize, Item)> {
        let mut best: Option<(usize, Item)> = None;
        for (r, run) in self.runs.iter().enumerate() {
            if let Some(&it) = run.head() {
                if best.is_none_or(|(_, b)| it.0 < b.0) {
                    best = Some((r, it));
                }
            }
        }
        best
    }

    /// Passes the head item of run `r`.
    fn advance(&mut self, r: usize) {
        if let Some(run) = self.runs.get_mut(r) {
            run.next += 1;
        }
    }

    /// Passes every item with key `key` (an entry that moved to another
    /// slot during the walk is listed twice; either slot serves, and the
    /// slot update tells a stale one apart).
    fn skip_key(&mut self, key: u64) {
        while let Some((r, _)) = self.head().filter(|(_, it)| it.0 == key) {
            self.advance(r);
        }
    }

    /// Splits off the entries from offset `off` of input `input` on (the
    /// scan of those records then runs on the returned list, the rest on
    /// this one).
    pub(crate) fn split_off(&mut self, input: u32, off: u32) -> LiveStrings {
        let key = ((input as u64) << 32) | off as u64;
        let mut second = Vec::with_capacity(self.runs.len());
        for run in &mut self.runs {
            let at = run.next + run.window().partition_point(|it| it.0 < key);
            second.push(Run { items: run.items.clone(), next: at, end: run.end });
            run.end = at;
        }
        LiveStrings {
            runs: second,
            input_ids: self.input_ids.clone(),
            unmatched: None,
            generations: self.generations.clone(),
            per_input: self.per_input.clone(),
        }
    }

    /// The live string entries of input `input`, as collected.
    pub(crate) fn collected(&self, input: usize) -> InputLive {
        self.per_input.get(input).copied().unwrap_or_default()
    }

    /// The mean record size of the entries collected, in bytes (0 if none).
    pub(crate) fn mean_entry_bytes(&self) -> u64 {
        let (entries, bytes) = self.per_input.iter().fold((0u64, 0u64), |(e, b), p| (e + p.entries, b + p.bytes));
        bytes.checked_div(entries).unwrap_or(0)
    }

    /// Entries not yet matched or passed that point into input `input`
    /// below offset `off`.
    pub(crate) fn entries_below(&self, input: u32, off: u32) -> u64 {
        let (from, to) = ((input as u64) << 32, ((input as u64) << 32) | off as u64);
        self.runs
            .iter()
            .map(|r| {
                let w = r.window();
                (w.partition_point(|it| it.0 < to) - w.partition_point(|it| it.0 < from)) as u64
            })
            .sum()
    }

    /// (offset, length) of the live string records of input `input`, in
    /// offset order.
    #[cfg(test)]
    pub(crate) fn entries_of(&self, input: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        // Each run's window from the input's first item on, merged.
        let from: Vec<Run> = self
            .runs
            .iter()
            .map(|r| Run { next: r.next + r.window().partition_point(|it| it.0 < (input as u64) << 32), ..r.clone() })
            .collect();
        let items: Vec<(u32, u32)> =
            merged(&from).take_while(|it| (it.0 >> 32) as u32 == input).map(|&(k, len, _)| (k as u32, len)).collect();
        items.into_iter()
    }

    /// Live string entries not yet matched or passed (duplicates included).
    pub(crate) fn len(&self) -> usize {
        self.runs.iter().map(|r| r.window().len()).sum()
    }

    /// Whether the string record at `loc`, in input `input`, is live: if so
    /// returns the slot of its entry. Calls must come in (input, offset)
    /// order.
    pub(crate) fn take(&mut self, input: u32, loc: Loc) -> Option<Slot> {
        let key = ((input as u64) << 32) | loc.off as u64;
        while let Some((r, (k, len, _))) = self.head() {
            if k >= key {
                break;
            }
            self.unmatched.get_or_insert((k, len));
            self.advance(r);
        }
        let (r, (k, len, slot)) = self.head()?;
        if k != key {
            return None;
        }
        self.advance(r);
        self.skip_key(key);
        if len != loc.len {
            self.unmatched.get_or_insert((k, len));
            return None;
        }
        Some(slot)
    }

    /// The next listed entry of input `input` at an offset below `end`, as
    /// (offset, length, slot), for a merge that copies what the list names
    /// instead of scanning. An entry listed twice (it moved to another slot
    /// during the walk) is returned once; either slot serves.
    pub(crate) fn next_listed(&mut self, input: u32, end: u32) -> Option<(u32, u32, Slot)> {
        let (from, to) = ((input as u64) << 32, ((input as u64) << 32) | end as u64);
        let (r, (k, len, slot)) = self.head()?;
        if k < from || k >= to {
            return None;
        }
        self.advance(r);
        self.skip_key(k);
        Some((k as u32, len, slot))
    }

    /// Ends the scan of input `input`: every live entry pointing into it
    /// must have met its record, or the merge would drop live data.
    pub(crate) fn finish_input(&mut self, input: u32) -> Result<()> {
        let end = (input as u64 + 1) << 32;
        while let Some((r, (k, len, _))) = self.head() {
            if k >= end {
                break;
            }
            self.unmatched.get_or_insert((k, len));
            self.advance(r);
        }
        match self.unmatched {
            None => Ok(()),
            Some((k, len)) => {
                let seg = self.input_ids.get((k >> 32) as usize).copied().unwrap_or(u32::MAX);
                Err(Error::Internal(format!(
                    "merge: the index points at a {len}-byte record at offset {} of segment {seg}, which the scan \
                     did not find; merge abandoned",
                    k as u32
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keydir::{Entry, ValueKind};

    fn kd_with(locs: &[(&[u8], Loc)]) -> KeyDir {
        let kd = KeyDir::new();
        for &(k, loc) in locs {
            kd.insert(k, Entry { loc, kind: ValueKind::String, expire_at_ms: 0 }).unwrap();
        }
        kd
    }

    #[test]
    fn compact_live_join_matches_records_in_scan_order() {
        let a = Loc { seg: 7, off: 40, len: 30 };
        let b = Loc { seg: 7, off: 70, len: 30 };
        let c = Loc { seg: 3, off: 40, len: 30 };
        let elsewhere = Loc { seg: 9, off: 40, len: 30 };
        let kd = kd_with(&[(b"a", a), (b"b", b), (b"c", c), (b"x", elsewhere)]);
        // Inputs scanned in the order 7, 3.
        let mut live = LiveStrings::collect(&kd, &[7, 3], 1);
        assert_eq!(live.len(), 3);
        assert!(live.take(0, Loc { off: 10, ..a }).is_none(), "a dead record before a live one");
        assert!(live.take(0, a).is_some());
        assert!(live.take(0, b).is_some());
        assert!(live.take(0, Loc { off: 100, ..a }).is_none());
        live.finish_input(0).unwrap();
        assert!(live.take(1, c).is_some());
        live.finish_input(1).unwrap();
    }

    /// Two threads walking half of the shards each find exactly the
    /// entries, in the same order, and the same generations, as one.
    #[test]
    fn compact_live_collect_with_two_threads_matches_one() {
        let kd = KeyDir::new();
        // Enough deletes (64 KiB dead per shard) that every arena is rebuilt.
        for i in 0..200_000u32 {
            let loc = Loc { seg: 1 + i % 5, off: 32 + (i / 5) * 40, len: 40 };
            let kind = if i % 11 == 0 { ValueKind::ZSet } else { ValueKind::String };
            kd.insert(format!("a-longer-key-name-{i}").as_bytes(), Entry { loc, kind, expire_at_ms: 0 }).unwrap();
        }
        // Deleting most keys rebuilds shard arenas: generations move on.
        for i in (0..200_000u32).filter(|i| i % 4 != 0) {
            kd.remove(format!("a-longer-key-name-{i}").as_bytes());
        }
        let one = LiveStrings::collect_with(&kd, &[4, 2, 1], 1, 0);
        let two = LiveStrings::collect_with(&kd, &[4, 2, 1], 2, 0);
        assert!(one.len() > 20_000);
        let half = keydir::SHARDS / 2;
        assert!(one.generations.0[half..].iter().any(|&g| g != 0), "no rebuilt shard in the second half");
        let keys = |l: &LiveStrings| merged(&l.runs).copied().collect::<Vec<_>>();
        assert_eq!(keys(&one), keys(&two));
        assert!(keys(&one).windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(two.runs.len(), 2, "two walks, two runs");
        assert_eq!(one.generations, two.generations);
    }

    /// After a walk by two threads, the join matches every live record of
    /// a scan in offset order, lists the entries of an input in offset
    /// order, and splits in two for two mergers.
    #[test]
    fn compact_live_join_after_a_two_thread_walk_and_a_split() {
        let kd = KeyDir::new();
        let mut locs = Vec::new();
        for i in 0..5_000u32 {
            let loc = Loc { seg: 1 + i % 3, off: 32 + (i / 3) * 50, len: 40 };
            kd.insert(format!("key-{i}").as_bytes(), Entry { loc, kind: ValueKind::String, expire_at_ms: 0 }).unwrap();
            locs.push(loc);
        }
        let inputs = [3u32, 1, 2];
        // The live records of segment `seg`, in scan (offset) order.
        let sorted_of = |seg: u32| -> Vec<Loc> {
            let mut v: Vec<Loc> = locs.iter().copied().filter(|l| l.seg == seg).collect();
            v.sort_by_key(|l| l.off);
            v
        };
        let one = LiveStrings::collect_with(&kd, &inputs, 1, 0);
        let two = LiveStrings::collect_with(&kd, &inputs, 2, 0);
        for input in 0..3u32 {
            let a: Vec<_> = one.entries_of(input).collect();
            assert_eq!(a, two.entries_of(input).collect::<Vec<_>>());
            assert!(a.windows(2).all(|w| w[0].0 < w[1].0) && a.len() > 1000);
        }
        // Scan order: inputs in merge order, offsets ascending, with a dead
        // record between live ones.
        let scan = |live: &mut LiveStrings, from_input: usize| {
            for (input, &seg) in inputs.iter().enumerate().skip(from_input) {
                for loc in sorted_of(seg) {
                    assert!(live.take(input as u32, Loc { off: loc.off - 5, ..loc }).is_none());
                    assert!(live.take(input as u32, loc).is_some(), "{loc:?} not matched");
                }
                live.finish_input(input as u32).unwrap();
            }
        };
        let mut two = two;
        let mut second = two.split_off(1, 32 + 800 * 50);
        assert_eq!(two.len() + second.len(), one.len());
        // The first half ends inside input 1: its remaining entries went to `second`.
        for (input, &seg) in inputs.iter().enumerate().take(2) {
            for loc in sorted_of(seg).into_iter().filter(|l| input == 0 || l.off < 32 + 800 * 50) {
                assert!(two.take(input as u32, loc).is_some(), "{loc:?} not matched");
            }
            if input == 0 {
                two.finish_input(0).unwrap();
            }
        }
        for loc in sorted_of(1).into_iter().filter(|l| l.off >= 32 + 800 * 50) {
            assert!(second.take(1, loc).is_some(), "{loc:?} not matched after the split");
        }
        second.finish_input(1).unwrap();
        scan(&mut second, 2);
        // A whole scan, and a missed record is still caught.
        let mut whole = LiveStrings::collect_with(&kd, &inputs, 2, 0);
        scan(&mut whole, 0);
        let mut missing = LiveStrings::collect_with(&kd, &inputs, 2, 0);
        assert!(missing.finish_input(0).is_err());
    }

    /// Replaying from a saved position names the same entries, in the same
    /// order and with the same slots, as `next_listed` did, across the two
    /// walks' runs and up to the input's end.
    #[test]
    fn compact_live_replay_names_what_next_listed_named() {
        let kd = KeyDir::new();
        for i in 0..6_000u32 {
            let loc = Loc { seg: 1 + i % 2, off: 32 + (i / 2) * 50, len: 40 + i % 3 };
            kd.insert(format!("key-{i}").as_bytes(), Entry { loc, kind: ValueKind::String, expire_at_ms: 0 }).unwrap();
        }
        let mut live = LiveStrings::collect_with(&kd, &[2, 1], 2, 0);
        assert_eq!(live.runs.len(), 2);
        for input in 0..2u32 {
            let mut named = Vec::new();
            loop {
                let pos = live.position();
                let Some((off, len, slot)) = live.next_listed(input, u32::MAX) else { break };
                named.push((pos, (Loc { seg: 2 - input, off, len }, slot)));
            }
            assert_eq!(named.len(), 3_000);
            for from in [0, 1, 777, 2_999] {
                let mut again = Vec::new();
                live.replay(named[from].0, input, 500, |loc, slot| again.push((loc, slot)));
                let want: Vec<_> = named[from..].iter().take(500).map(|&(_, it)| it).collect();
                assert_eq!(again, want, "input {input}, from entry {from}");
            }
            live.finish_input(input).unwrap();
        }
    }

    /// An index entry whose record the scan never meets stops the merge
    /// (deleting the input would lose the key).
    #[test]
    fn compact_live_join_refuses_an_entry_without_its_record() {
        let a = Loc { seg: 7, off: 40, len: 30 };
        let kd = kd_with(&[(b"a", a)]);
        let mut live = LiveStrings::collect(&kd, &[7], 1);
        assert!(live.take(0, Loc { off: 45, ..a }).is_none());
        let err = live.finish_input(0).unwrap_err().to_string();
        assert!(err.contains("offset 40 of segment 7"), "{err}");
        // A record at the right offset with another length is no match either.
        let mut live = LiveStrings::collect(&kd, &[7], 1);
        assert!(live.take(0, Loc { len: 31, ..a }).is_none());
        assert!(live.finish_input(0).is_err());
        // Entries never reached by the scan are caught at the input's end.
        let mut live = LiveStrings::collect(&kd, &[7], 1);
        assert!(live.finish_input(0).is_err());
    }
}
