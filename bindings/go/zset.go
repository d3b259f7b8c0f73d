package kv

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// Z is a sorted-set member with its score.
type Z struct {
	Member []byte
	Score  float64
}

// ZAddOptions are the flags of ZAdd and ZAddIncr (Redis ZADD NX|XX,
// GT|LT, CH). Combinations Redis rejects (NX with XX, GT with LT, NX with
// GT or LT) fail with ErrInvalidArgument and Redis's message.
type ZAddOptions struct {
	// NX: only add new members, never update existing ones.
	NX bool
	// XX: only update existing members, never add.
	XX bool
	// GT: only update when the new score is greater (new members are
	// still added).
	GT bool
	// LT: only update when the new score is less.
	LT bool
	// CH: count changed members too, not only added ones.
	CH bool
}

func (o *ZAddOptions) flags() C.uint32_t {
	var f C.uint32_t
	if o == nil {
		return 0
	}
	for _, b := range []struct {
		on   bool
		flag C.uint32_t
	}{{o.NX, C.KV_ZADD_NX}, {o.XX, C.KV_ZADD_XX}, {o.GT, C.KV_ZADD_GT}, {o.LT, C.KV_ZADD_LT}, {o.CH, C.KV_ZADD_CH}} {
		if b.on {
			f |= b.flag
		}
	}
	return f
}

// packMembers packs byte strings for a C call; a non-nil lens pointer even
// when there are none, so that libkv reports Redis's argument error
// rather than a NULL array.
func packMembers(ms [][]byte) ([]byte, []C.size_t) {
	buf, lens := pack(ms)
	if len(lens) == 0 {
		lens = make([]C.size_t, 1)
	}
	return buf, lens
}

// ZAdd is Redis ZADD: adds members (or updates their scores) in one atomic
// write, in order (a member given twice takes the last score). It returns
// the number of members added, or with CH added or changed. An empty
// members is ErrInvalidArgument ("ERR syntax error"), a NaN score
// ErrNotFloat, a string key ErrWrongType.
func (db *DB) ZAdd(key []byte, members []Z, opts *ZAddOptions) (int64, error) {
	ms := make([][]byte, len(members))
	scores := make([]C.double, max(len(members), 1))
	for i, z := range members {
		ms[i] = z.Member
		scores[i] = C.double(z.Score)
	}
	n, _, _, err := db.zadd("ZAdd", key, opts.flags(), scores, ms)
	return n, err
}

// ZAddIncr is Redis ZADD ... INCR: adds increment to member's score (a new
// member starts at 0) and returns the new score. ok is false, with no
// error, when NX, XX, GT or LT skipped the update (Redis replies nil).
// A result of NaN (inf + -inf) is ErrInvalidArgument.
func (db *DB) ZAddIncr(key, member []byte, increment float64, opts *ZAddOptions) (score float64, ok bool, err error) {
	_, score, ok, err = db.zadd("ZAddIncr", key, opts.flags()|C.KV_ZADD_INCR, []C.double{C.double(increment)}, [][]byte{member})
	return score, ok, err
}

func (db *DB) zadd(op string, key []byte, flags C.uint32_t, scores []C.double, ms [][]byte) (int64, float64, bool, error) {
	buf, lens := packMembers(ms)
	h, err := db.acquire(op)
	if err != nil {
		return 0, 0, false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zadd(h, ptr(key), C.size_t(len(key)), flags, &scores[0], ptr(buf), &lens[0], C.size_t(len(ms)), &out)
	if st != C.KV_OK {
		return 0, 0, false, newError(op, st, &out)
	}
	return int64(out.u64), float64(out.f64), bool(out.flag), nil
}

// ZIncrBy is Redis ZINCRBY: adds increment to member's score (a new member
// or key starts at 0) and returns the new score. A NaN increment is
// ErrNotFloat; a NaN result (inf + -inf) ErrInvalidArgument.
func (db *DB) ZIncrBy(key []byte, increment float64, member []byte) (float64, error) {
	h, err := db.acquire("ZIncrBy")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zincrby(h, ptr(key), C.size_t(len(key)), C.double(increment), ptr(member), C.size_t(len(member)), &out)
	return float64(out.f64), newError("ZIncrBy", st, &out)
}

// ZRem is Redis ZREM: removes members and returns how many existed.
// Removing the last member deletes the key. No members is
// ErrInvalidArgument.
func (db *DB) ZRem(key []byte, members ...[]byte) (int64, error) {
	return db.multiMember("ZRem", key, members, nil, nil)
}

// ZScore is Redis ZSCORE: member's score. ErrNotFound if the key or the
// member is missing (the two are not told apart, as in Redis).
func (db *DB) ZScore(key, member []byte) (float64, error) {
	h, err := db.acquire("ZScore")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zscore(h, ptr(key), C.size_t(len(key)), ptr(member), C.size_t(len(member)), &out)
	return float64(out.f64), newError("ZScore", st, &out)
}

// ZMScore is Redis ZMSCORE: the score of each member, and whether it
// exists (a missing member, or every member of a missing key, has found
// false and score NaN; a real score is never NaN). No members is
// ErrInvalidArgument.
func (db *DB) ZMScore(key []byte, members ...[]byte) (scores []float64, found []bool, err error) {
	cs := make([]C.double, max(len(members), 1))
	cf := make([]C.bool, max(len(members), 1))
	if _, err := db.multiMember("ZMScore", key, members, cs, cf); err != nil {
		return nil, nil, err
	}
	scores = make([]float64, len(members))
	found = make([]bool, len(members))
	for i := range members {
		scores[i], found[i] = float64(cs[i]), bool(cf[i])
	}
	return scores, found, nil
}

// multiMember makes ZREM (cs nil) or ZMSCORE.
func (db *DB) multiMember(op string, key []byte, ms [][]byte, cs []C.double, cf []C.bool) (int64, error) {
	buf, lens := packMembers(ms)
	h, err := db.acquire(op)
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	var st C.kv_status
	if cs == nil {
		st = C.kvg_zrem(h, ptr(key), C.size_t(len(key)), ptr(buf), &lens[0], C.size_t(len(ms)), &out)
	} else {
		st = C.kvg_zmscore(h, ptr(key), C.size_t(len(key)), ptr(buf), &lens[0], C.size_t(len(ms)), &cs[0], &cf[0], &out)
	}
	return int64(out.u64), newError(op, st, &out)
}

// ZCard is Redis ZCARD: the number of members, 0 for a missing key.
func (db *DB) ZCard(key []byte) (int64, error) {
	h, err := db.acquire("ZCard")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zcard(h, ptr(key), C.size_t(len(key)), &out)
	return int64(out.u64), newError("ZCard", st, &out)
}

// ZCount is Redis ZCOUNT: the number of members with a score between min
// and max, given in Redis syntax: a float ("1.5", "-inf", "+inf"),
// optionally prefixed by "(" for an exclusive bound. A bound that does
// not parse is ErrInvalidArgument ("ERR min or max is not a float").
func (db *DB) ZCount(key []byte, min, max string) (int64, error) {
	return db.zbounds("ZCount", C.KVG_ZCOUNT, key, min, max)
}

// ZLexCount is Redis ZLEXCOUNT: the number of members between min and max
// in byte order, in Redis syntax: "-", "+", "[member" (inclusive) or
// "(member" (exclusive). Meaningful when all scores are equal. A bad bound
// is ErrInvalidArgument ("ERR min or max not valid string range item").
func (db *DB) ZLexCount(key []byte, min, max string) (int64, error) {
	return db.zbounds("ZLexCount", C.KVG_ZLEXCOUNT, key, min, max)
}

// ZRemRangeByScore is Redis ZREMRANGEBYSCORE: removes the members with a
// score between min and max (syntax as ZCount) and returns how many.
func (db *DB) ZRemRangeByScore(key []byte, min, max string) (int64, error) {
	return db.zbounds("ZRemRangeByScore", C.KVG_ZREMRANGEBYSCORE, key, min, max)
}

// ZRemRangeByLex is Redis ZREMRANGEBYLEX: removes the members between min
// and max (syntax as ZLexCount) and returns how many.
func (db *DB) ZRemRangeByLex(key []byte, min, max string) (int64, error) {
	return db.zbounds("ZRemRangeByLex", C.KVG_ZREMRANGEBYLEX, key, min, max)
}

func (db *DB) zbounds(op string, kind C.int, key []byte, min, max string) (int64, error) {
	lo, hi := []byte(min), []byte(max)
	h, err := db.acquire(op)
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zbounds(h, kind, ptr(key), C.size_t(len(key)), ptr(lo), C.size_t(len(lo)), ptr(hi), C.size_t(len(hi)), &out)
	return int64(out.u64), newError(op, st, &out)
}

// ZRank is Redis ZRANK: member's 0-based rank by ascending score (ties by
// member bytes). ErrNotFound if the key or the member is missing.
func (db *DB) ZRank(key, member []byte) (int64, error) {
	r, _, err := db.zrank("ZRank", key, member, false)
	return r, err
}

// ZRevRank is Redis ZREVRANK: member's 0-based rank by descending score
// (0 is the highest). ErrNotFound if the key or the member is missing.
func (db *DB) ZRevRank(key, member []byte) (int64, error) {
	r, _, err := db.zrank("ZRevRank", key, member, true)
	return r, err
}

// ZRankWithScore is Redis ZRANK ... WITHSCORE: the rank and the score.
func (db *DB) ZRankWithScore(key, member []byte) (int64, float64, error) {
	return db.zrank("ZRankWithScore", key, member, false)
}

// ZRevRankWithScore is Redis ZREVRANK ... WITHSCORE.
func (db *DB) ZRevRankWithScore(key, member []byte) (int64, float64, error) {
	return db.zrank("ZRevRankWithScore", key, member, true)
}

func (db *DB) zrank(op string, key, member []byte, rev bool) (int64, float64, error) {
	h, err := db.acquire(op)
	if err != nil {
		return 0, 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zrank(h, ptr(key), C.size_t(len(key)), ptr(member), C.size_t(len(member)), C.bool(rev), &out)
	if st != C.KV_OK {
		return 0, 0, newError(op, st, &out)
	}
	return int64(out.u64), float64(out.f64), nil
}

// ZRangeBy is what ZRange selects by.
type ZRangeBy int

const (
	// ByRank selects ranks Start..Stop (ZRANGE key start stop).
	ByRank ZRangeBy = C.KV_ZRANGE_BY_RANK
	// ByScore selects scores Min..Max (BYSCORE).
	ByScore ZRangeBy = C.KV_ZRANGE_BY_SCORE
	// ByLex selects members Min..Max in byte order (BYLEX).
	ByLex ZRangeBy = C.KV_ZRANGE_BY_LEX
)

// ZRangeArgs are the arguments of ZRange (Redis 7 ZRANGE key start stop
// [BYSCORE|BYLEX] [REV] [LIMIT offset count]).
type ZRangeArgs struct {
	// By is the selection (ByRank by default).
	By ZRangeBy
	// Start and Stop are the ranks for ByRank: 0-based, inclusive,
	// negative counting from the end (-1 is the last). With Rev, rank 0
	// is the highest score.
	Start, Stop int64
	// Min and Max are the bounds for ByScore ("1", "(1", "-inf", "+inf")
	// and ByLex ("[a", "(a", "-", "+"), in Redis syntax. Unlike Redis's
	// ZRANGE ... REV, Min is always the lower bound and Max the upper,
	// also with Rev.
	Min, Max string
	// Rev orders highest first.
	Rev bool
	// Limit applies Offset and Count (LIMIT offset count; ByScore and
	// ByLex only, as in Redis: with ByRank it is ErrInvalidArgument).
	Limit bool
	// Offset is the number of elements skipped (negative selects
	// nothing, as in Redis).
	Offset int64
	// Count is the most elements returned (negative: all).
	Count int64
}

// ZRange is Redis ZRANGE ... WITHSCORES: the selected members with their
// scores, in order; empty for a missing key. Bounds that do not parse,
// LIMIT with ByRank, and Start/Stop given with ByScore/ByLex (or Min/Max
// with ByRank) are ErrInvalidArgument.
func (db *DB) ZRange(key []byte, args ZRangeArgs) ([]Z, error) {
	return db.zrange("ZRange", key, args)
}

func (db *DB) zrange(op string, key []byte, args ZRangeArgs) ([]Z, error) {
	switch args.By {
	case ByRank:
		if args.Min != "" || args.Max != "" {
			return nil, invalid(op, "Min and Max are for ByScore and ByLex; ByRank uses Start and Stop")
		}
	case ByScore, ByLex:
		if args.Start != 0 || args.Stop != 0 {
			return nil, invalid(op, "Start and Stop are for ByRank; ByScore and ByLex use Min and Max")
		}
	default:
		return nil, invalid(op, "unknown ZRangeBy %d", args.By)
	}
	lo, hi := []byte(args.Min), []byte(args.Max)
	h, err := db.acquire(op)
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zrange(h, ptr(key), C.size_t(len(key)), C.int32_t(args.By), C.int64_t(args.Start), C.int64_t(args.Stop),
		ptr(lo), C.size_t(len(lo)), ptr(hi), C.size_t(len(hi)), C.bool(args.Rev), C.bool(args.Limit),
		C.int64_t(args.Offset), C.int64_t(args.Count), &out)
	return takeEntries(op, st, &out)
}

// ZRevRange is Redis ZREVRANGE key start stop WITHSCORES: ranks start..stop
// counted from the highest score.
func (db *DB) ZRevRange(key []byte, start, stop int64) ([]Z, error) {
	return db.zrange("ZRevRange", key, ZRangeArgs{By: ByRank, Start: start, Stop: stop, Rev: true})
}

// ZRangeByScore is Redis ZRANGEBYSCORE key min max WITHSCORES (bounds as
// ZCount), lowest first.
func (db *DB) ZRangeByScore(key []byte, min, max string) ([]Z, error) {
	return db.zrange("ZRangeByScore", key, ZRangeArgs{By: ByScore, Min: min, Max: max})
}

// ZPopMin is Redis ZPOPMIN key count: removes and returns up to count
// lowest-scored members, lowest first (empty for a missing key). A
// negative count is ErrInvalidArgument.
func (db *DB) ZPopMin(key []byte, count int64) ([]Z, error) {
	return db.zpop("ZPopMin", key, count, false)
}

// ZPopMax is Redis ZPOPMAX key count: as ZPopMin, highest first.
func (db *DB) ZPopMax(key []byte, count int64) ([]Z, error) {
	return db.zpop("ZPopMax", key, count, true)
}

func (db *DB) zpop(op string, key []byte, count int64, highest bool) ([]Z, error) {
	if count < 0 {
		return nil, invalid(op, "ERR value is out of range, must be positive")
	}
	h, err := db.acquire(op)
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zpop(h, ptr(key), C.size_t(len(key)), C.uint64_t(count), C.bool(highest), &out)
	return takeEntries(op, st, &out)
}

// ZRemRangeByRank is Redis ZREMRANGEBYRANK: removes ranks start..stop
// (negative from the end) and returns how many.
func (db *DB) ZRemRangeByRank(key []byte, start, stop int64) (int64, error) {
	h, err := db.acquire("ZRemRangeByRank")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zremrangebyrank(h, ptr(key), C.size_t(len(key)), C.int64_t(start), C.int64_t(stop), &out)
	return int64(out.u64), newError("ZRemRangeByRank", st, &out)
}

// ZRandMember is Redis ZRANDMEMBER key count WITHSCORES: a positive count
// gives up to count distinct members, a negative one exactly -count
// members with possible repeats; empty for a missing key. A count of
// math.MinInt64, beyond ±math.MaxInt64/2, or below -10000000 (the reply is
// built in memory) is ErrInvalidArgument.
func (db *DB) ZRandMember(key []byte, count int64) ([]Z, error) {
	h, err := db.acquire("ZRandMember")
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zrandmember(h, ptr(key), C.size_t(len(key)), C.int64_t(count), &out)
	return takeEntries("ZRandMember", st, &out)
}

// Aggregate is how ZUnionStore and ZInterStore combine the scores of a
// member found in several inputs (AGGREGATE).
type Aggregate int

const (
	// AggregateSum adds the weighted scores (the default).
	AggregateSum Aggregate = C.KV_AGGREGATE_SUM
	// AggregateMin keeps the smallest weighted score.
	AggregateMin Aggregate = C.KV_AGGREGATE_MIN
	// AggregateMax keeps the largest weighted score.
	AggregateMax Aggregate = C.KV_AGGREGATE_MAX
)

// ZStoreOptions are the WEIGHTS and AGGREGATE of ZUnionStore and
// ZInterStore; nil means all weights 1 and AggregateSum.
type ZStoreOptions struct {
	// Weights multiply each input's scores: nil for all 1, else one per
	// key (a NaN weight is ErrInvalidArgument).
	Weights []float64
	// Aggregate combines the scores of a member present in several inputs.
	Aggregate Aggregate
}

// ZUnionStore is Redis ZUNIONSTORE: stores at dest the union of the sets
// at keys (missing keys are empty sets), replacing what dest held,
// atomically, and returns its size. An empty result deletes dest. No
// keys, or a Weights length other than len(keys), is ErrInvalidArgument;
// a string input is ErrWrongType.
func (db *DB) ZUnionStore(dest []byte, keys [][]byte, opts *ZStoreOptions) (int64, error) {
	return db.zstore("ZUnionStore", C.KVG_ZUNIONSTORE, dest, keys, opts)
}

// ZInterStore is Redis ZINTERSTORE: as ZUnionStore for the members present
// in every input.
func (db *DB) ZInterStore(dest []byte, keys [][]byte, opts *ZStoreOptions) (int64, error) {
	return db.zstore("ZInterStore", C.KVG_ZINTERSTORE, dest, keys, opts)
}

// ZDiffStore is Redis ZDIFFSTORE: stores at dest the members of the first
// set absent from all the others, with their scores; otherwise as
// ZUnionStore.
func (db *DB) ZDiffStore(dest []byte, keys ...[]byte) (int64, error) {
	return db.zstore("ZDiffStore", C.KVG_ZDIFFSTORE, dest, keys, nil)
}

func (db *DB) zstore(op string, kind C.int, dest []byte, keys [][]byte, opts *ZStoreOptions) (int64, error) {
	var weights *C.double
	agg := C.int32_t(C.KV_AGGREGATE_SUM)
	if opts != nil {
		agg = C.int32_t(opts.Aggregate)
		if opts.Weights != nil {
			if len(opts.Weights) != len(keys) {
				return 0, invalid(op, "%d weights for %d keys", len(opts.Weights), len(keys))
			}
			if len(keys) > 0 {
				ws := make([]C.double, len(keys))
				for i, w := range opts.Weights {
					ws[i] = C.double(w)
				}
				weights = &ws[0]
			}
		}
	}
	buf, lens := packMembers(keys)
	h, err := db.acquire(op)
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_zstore(h, kind, ptr(dest), C.size_t(len(dest)), ptr(buf), &lens[0], C.size_t(len(keys)), weights, agg, &out)
	return int64(out.u64), newError(op, st, &out)
}

// takeEntries turns the entries a shim call left in out into Go memory
// (one allocation for every member's bytes) and frees them.
func takeEntries(op string, st C.kv_status, out *C.kvg_out) ([]Z, error) {
	if st != C.KV_OK {
		return nil, newError(op, st, out)
	}
	n, total := int(out.u64), int(out.i64)
	buf := make([]byte, max(total, 1))
	lens := make([]C.size_t, max(n, 1))
	scores := make([]C.double, max(n, 1))
	C.kvg_entries_take((*C.kv_zset_entries)(out.ptr), (*C.uint8_t)(unsafe.Pointer(&buf[0])), &lens[0], &scores[0])
	zs := make([]Z, n)
	off := 0
	for i := range zs {
		l := int(lens[i])
		zs[i] = Z{Member: buf[off : off+l : off+l], Score: float64(scores[i])}
		off += l
	}
	return zs, nil
}
