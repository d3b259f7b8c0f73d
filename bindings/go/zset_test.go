package kv

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// zs builds members from "member", score pairs.
func zs(pairs ...any) []Z {
	out := make([]Z, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Z{Member: []byte(pairs[i].(string)), Score: toF(pairs[i+1])})
	}
	return out
}

func toF(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic("score must be int or float64")
}

// zstr renders members with scores as "a:1 b:2" for compact comparisons.
func zstr(z []Z) string {
	parts := make([]string, len(z))
	for i, e := range z {
		parts[i] = string(e.Member) + ":" + formatScore(e.Score)
	}
	return strings.Join(parts, " ")
}

func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// wantMsg checks err is target and its libkv message contains want.
func wantMsg(t *testing.T, err, target error, want string) {
	t.Helper()
	e := wantErr(t, err, target)
	if !strings.Contains(e.Message, want) {
		t.Fatalf("message %q does not contain %q", e.Message, want)
	}
}

func TestZAddFlagsAndScores(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	k := b("z")
	if n := must(db.ZAdd(k, zs("a", 1, "b", 2, "c", 3), nil)); n != 3 {
		t.Fatalf("ZAdd = %d, want 3", n)
	}
	// Updating an existing member is not counted without CH.
	if n := must(db.ZAdd(k, zs("a", 10, "d", 4), nil)); n != 1 {
		t.Fatalf("ZAdd update = %d, want 1", n)
	}
	if n := must(db.ZAdd(k, zs("a", 11, "e", 5), &ZAddOptions{CH: true})); n != 2 {
		t.Fatalf("ZAdd CH = %d, want 2", n)
	}
	// NX adds only new members; XX only updates.
	must(db.ZAdd(k, zs("a", 0, "f", 6), &ZAddOptions{NX: true}))
	must(db.ZAdd(k, zs("b", 20, "g", 7), &ZAddOptions{XX: true}))
	// GT/LT only move scores up/down.
	must(db.ZAdd(k, zs("c", 1, "d", 40), &ZAddOptions{GT: true}))
	must(db.ZAdd(k, zs("e", 50, "f", 0.5), &ZAddOptions{LT: true}))
	got := must(db.ZRange(k, ZRangeArgs{Start: 0, Stop: -1}))
	if want := "f:0.5 c:3 e:5 a:11 b:20 d:40"; zstr(got) != want {
		t.Fatalf("ZRange = %s, want %s", zstr(got), want)
	}
	if n := must(db.ZCard(k)); n != 6 {
		t.Fatalf("ZCard = %d", n)
	}
	if n := must(db.ZCard(b("missing"))); n != 0 {
		t.Fatalf("ZCard missing = %d", n)
	}
	// A member given twice takes the last score.
	must(db.ZAdd(k, zs("h", 1, "h", 2), nil))
	if s := must(db.ZScore(k, b("h"))); s != 2 {
		t.Fatalf("ZScore h = %v", s)
	}
	// Infinite scores are allowed, NaN is not.
	must(db.ZAdd(k, []Z{{Member: b("inf"), Score: math.Inf(1)}}, nil))
	if s := must(db.ZScore(k, b("inf"))); !math.IsInf(s, 1) {
		t.Fatalf("ZScore inf = %v", s)
	}
	wantErr(t, must2(db.ZAdd(k, []Z{{Member: b("x"), Score: math.NaN()}}, nil)), ErrNotFloat)
	wantMsg(t, must2(db.ZAdd(k, nil, nil)), ErrInvalidArgument, "syntax error")
	wantMsg(t, must2(db.ZAdd(k, zs("x", 1), &ZAddOptions{NX: true, XX: true})), ErrInvalidArgument,
		"XX and NX options at the same time are not compatible")
	wantErr(t, must2(db.ZAdd(k, zs("x", 1), &ZAddOptions{GT: true, LT: true})), ErrInvalidArgument)
	if _, err := db.ZScore(k, b("x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed ZAdd wrote: %v", err)
	}
	// The empty member is a member like any other.
	must(db.ZAdd(k, zs("", -1), nil))
	if s := must(db.ZScore(k, nil)); s != -1 {
		t.Fatalf("ZScore empty member = %v", s)
	}
}

// must2 keeps only the error of a two-result call.
func must2[T any](_ T, err error) error { return err }

func TestZAddIncrAndZIncrBy(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	k := b("z")
	s, added, err := db.ZAddIncr(k, b("a"), 1.5, nil)
	if err != nil || !added || s != 1.5 {
		t.Fatalf("ZAddIncr new = %v %v %v", s, added, err)
	}
	s, added, err = db.ZAddIncr(k, b("a"), 2, nil)
	if err != nil || !added || s != 3.5 {
		t.Fatalf("ZAddIncr = %v %v %v", s, added, err)
	}
	// NX on an existing member and GT with a decrease are skipped: nil.
	if _, added, err = db.ZAddIncr(k, b("a"), 1, &ZAddOptions{NX: true}); err != nil || added {
		t.Fatalf("ZAddIncr NX = %v %v", added, err)
	}
	if _, added, err = db.ZAddIncr(k, b("a"), -1, &ZAddOptions{GT: true}); err != nil || added {
		t.Fatalf("ZAddIncr GT = %v %v", added, err)
	}
	if _, added, err = db.ZAddIncr(k, b("new"), 1, &ZAddOptions{XX: true}); err != nil || added {
		t.Fatalf("ZAddIncr XX = %v %v", added, err)
	}
	if s := must(db.ZIncrBy(k, -0.5, b("a"))); s != 3 {
		t.Fatalf("ZIncrBy = %v", s)
	}
	if s := must(db.ZIncrBy(b("fresh"), 7, b("m"))); s != 7 {
		t.Fatalf("ZIncrBy new key = %v", s)
	}
	must(db.ZIncrBy(k, math.Inf(1), b("i")))
	wantMsg(t, must2(db.ZIncrBy(k, math.Inf(-1), b("i"))), ErrInvalidArgument, "NaN")
	_, _, err = db.ZAddIncr(k, b("i"), math.Inf(-1), nil)
	wantMsg(t, err, ErrInvalidArgument, "NaN")
	wantErr(t, must2(db.ZIncrBy(k, math.NaN(), b("a"))), ErrNotFloat)
}

func TestZRemZScoreZMScore(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	k := b("z")
	must(db.ZAdd(k, zs("a", 1, "b", 2, "c", 3), nil))
	if n := must(db.ZRem(k, b("a"), b("nope"), b("a"))); n != 1 {
		t.Fatalf("ZRem = %d", n)
	}
	wantErr(t, must2(db.ZScore(k, b("a"))), ErrNotFound)
	wantErr(t, must2(db.ZScore(b("missing"), b("a"))), ErrNotFound)
	scores, found, err := db.ZMScore(k, b("b"), b("a"), b("c"))
	ok(t, err)
	if !slices.Equal(found, []bool{true, false, true}) || scores[0] != 2 || !math.IsNaN(scores[1]) || scores[2] != 3 {
		t.Fatalf("ZMScore = %v %v", scores, found)
	}
	scores, found, err = db.ZMScore(b("missing"), b("a"))
	if err != nil || found[0] || !math.IsNaN(scores[0]) {
		t.Fatalf("ZMScore missing key = %v %v %v", scores, found, err)
	}
	_, _, err = db.ZMScore(k)
	wantMsg(t, err, ErrInvalidArgument, "wrong number of arguments")
	wantMsg(t, must2(db.ZRem(k)), ErrInvalidArgument, "wrong number of arguments")
	// Removing the last member deletes the key.
	must(db.ZRem(k, b("b"), b("c")))
	if must(db.Exists(k)) {
		t.Fatal("empty sorted set still exists")
	}
}

func TestZCountAndZLexCount(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	k := b("z")
	must(db.ZAdd(k, zs("a", 1, "b", 2, "c", 3, "d", 4), nil))
	for _, c := range []struct {
		min, max string
		want     int64
	}{{"-inf", "+inf", 4}, {"2", "3", 2}, {"(2", "3", 1}, {"(1", "(4", 2}, {"5", "+inf", 0}, {"3", "1", 0}} {
		if n := must(db.ZCount(k, c.min, c.max)); n != c.want {
			t.Errorf("ZCount %s %s = %d, want %d", c.min, c.max, n, c.want)
		}
	}
	if n := must(db.ZCount(b("missing"), "-inf", "+inf")); n != 0 {
		t.Fatalf("ZCount missing = %d", n)
	}
	wantMsg(t, must2(db.ZCount(k, "x", "1")), ErrInvalidArgument, "ERR min or max is not a float")
	wantMsg(t, must2(db.ZCount(k, "1", "2x")), ErrInvalidArgument, "ERR min or max is not a float")
	// As in Redis (strtod of ""), an empty bound reads as 0.
	if n := must(db.ZCount(k, "", "1")); n != 1 {
		t.Fatalf(`ZCount "" 1 = %d, want 1`, n)
	}

	l := b("lex")
	must(db.ZAdd(l, zs("a", 0, "b", 0, "c", 0, "d", 0), nil))
	for _, c := range []struct {
		min, max string
		want     int64
	}{{"-", "+", 4}, {"[b", "[c", 2}, {"(b", "[d", 2}, {"(a", "(d", 2}, {"+", "-", 0}} {
		if n := must(db.ZLexCount(l, c.min, c.max)); n != c.want {
			t.Errorf("ZLexCount %s %s = %d, want %d", c.min, c.max, n, c.want)
		}
	}
	wantMsg(t, must2(db.ZLexCount(l, "a", "+")), ErrInvalidArgument, "ERR min or max not valid string range item")
}

func TestZRankAndZRevRank(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	k := b("z")
	must(db.ZAdd(k, zs("a", 1, "b", 2, "c", 2, "d", 9), nil))
	for m, want := range map[string][2]int64{"a": {0, 3}, "b": {1, 2}, "c": {2, 1}, "d": {3, 0}} {
		if r := must(db.ZRank(k, b(m))); r != want[0] {
			t.Errorf("ZRank %s = %d, want %d", m, r, want[0])
		}
		if r := must(db.ZRevRank(k, b(m))); r != want[1] {
			t.Errorf("ZRevRank %s = %d, want %d", m, r, want[1])
		}
	}
	r, s, err := db.ZRankWithScore(k, b("c"))
	if err != nil || r != 2 || s != 2 {
		t.Fatalf("ZRankWithScore = %d %v %v", r, s, err)
	}
	r, s, err = db.ZRevRankWithScore(k, b("d"))
	if err != nil || r != 0 || s != 9 {
		t.Fatalf("ZRevRankWithScore = %d %v %v", r, s, err)
	}
	wantErr(t, must2(db.ZRank(k, b("zz"))), ErrNotFound)
	wantErr(t, must2(db.ZRevRank(b("missing"), b("a"))), ErrNotFound)
	_, _, err = db.ZRankWithScore(k, b("zz"))
	wantErr(t, err, ErrNotFound)
}

func TestZRange(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	k := b("z")
	must(db.ZAdd(k, zs("a", 1, "b", 2, "c", 3, "d", 4, "e", 5), nil))
	for _, c := range []struct {
		name string
		args ZRangeArgs
		want string
	}{
		{"all", ZRangeArgs{Start: 0, Stop: -1}, "a:1 b:2 c:3 d:4 e:5"},
		{"negative", ZRangeArgs{Start: -2, Stop: -1}, "d:4 e:5"},
		{"out of range", ZRangeArgs{Start: 10, Stop: 20}, ""},
		{"rev", ZRangeArgs{Start: 0, Stop: 1, Rev: true}, "e:5 d:4"},
		{"score", ZRangeArgs{By: ByScore, Min: "(1", Max: "4"}, "b:2 c:3 d:4"},
		{"score rev", ZRangeArgs{By: ByScore, Min: "2", Max: "+inf", Rev: true}, "e:5 d:4 c:3 b:2"},
		{"score limit", ZRangeArgs{By: ByScore, Min: "-inf", Max: "+inf", Limit: true, Offset: 1, Count: 2}, "b:2 c:3"},
		{"score limit all", ZRangeArgs{By: ByScore, Min: "-inf", Max: "+inf", Limit: true, Offset: 3, Count: -1}, "d:4 e:5"},
		{"score limit negative offset", ZRangeArgs{By: ByScore, Min: "-inf", Max: "+inf", Limit: true, Offset: -1, Count: 2}, ""},
		{"score rev limit", ZRangeArgs{By: ByScore, Min: "-inf", Max: "+inf", Rev: true, Limit: true, Offset: 0, Count: 1}, "e:5"},
	} {
		got, err := db.ZRange(k, c.args)
		if err != nil || zstr(got) != c.want {
			t.Errorf("%s: ZRange = %q, %v; want %q", c.name, zstr(got), err, c.want)
		}
	}
	l := b("lex")
	must(db.ZAdd(l, zs("apple", 0, "banana", 0, "cherry", 0, "date", 0), nil))
	got := must(db.ZRange(l, ZRangeArgs{By: ByLex, Min: "[b", Max: "(d"}))
	if zstr(got) != "banana:0 cherry:0" {
		t.Fatalf("ByLex = %s", zstr(got))
	}
	got = must(db.ZRange(l, ZRangeArgs{By: ByLex, Min: "-", Max: "+", Rev: true, Limit: true, Offset: 1, Count: 2}))
	if zstr(got) != "cherry:0 banana:0" {
		t.Fatalf("ByLex rev limit = %s", zstr(got))
	}
	if got := must(db.ZRevRange(k, 0, 2)); zstr(got) != "e:5 d:4 c:3" {
		t.Fatalf("ZRevRange = %s", zstr(got))
	}
	if got := must(db.ZRangeByScore(k, "2", "(4")); zstr(got) != "b:2 c:3" {
		t.Fatalf("ZRangeByScore = %s", zstr(got))
	}
	// A missing key is an empty result, not an error.
	if got, err := db.ZRange(b("missing"), ZRangeArgs{Start: 0, Stop: -1}); err != nil || len(got) != 0 {
		t.Fatalf("missing key = %v %v", got, err)
	}
	// Members are Go-owned and independent: appending to one does not
	// overwrite the next, though they share one allocation.
	got = must(db.ZRange(k, ZRangeArgs{Start: 0, Stop: 1}))
	_ = append(got[0].Member, 'X')
	if string(got[1].Member) != "b" {
		t.Fatalf("append to a member clobbered the next: %q", got[1].Member)
	}
	// Errors: libkv's Redis messages, and the Go-side argument checks.
	wantMsg(t, must2(db.ZRange(k, ZRangeArgs{Start: 0, Stop: 1, Limit: true, Count: 1})), ErrInvalidArgument,
		"LIMIT is only supported in combination with either BYSCORE or BYLEX")
	wantMsg(t, must2(db.ZRange(k, ZRangeArgs{By: ByScore, Min: "a", Max: "1"})), ErrInvalidArgument, "not a float")
	wantMsg(t, must2(db.ZRangeByScore(k, "1", "abc")), ErrInvalidArgument, "not a float")
	wantMsg(t, must2(db.ZRange(k, ZRangeArgs{By: ByLex, Min: "a", Max: "+"})), ErrInvalidArgument, "not valid string range item")
	wantMsg(t, must2(db.ZRange(k, ZRangeArgs{Min: "1", Max: "2"})), ErrInvalidArgument, "ByRank uses Start and Stop")
	wantMsg(t, must2(db.ZRange(k, ZRangeArgs{By: ByScore, Start: 1, Min: "1", Max: "2"})), ErrInvalidArgument, "Start and Stop are for ByRank")
	wantMsg(t, must2(db.ZRange(k, ZRangeArgs{By: 7})), ErrInvalidArgument, "unknown ZRangeBy")
}

func TestZPopAndZRemRange(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	k := b("z")
	must(db.ZAdd(k, zs("a", 1, "b", 2, "c", 3, "d", 4, "e", 5), nil))
	if got := must(db.ZPopMin(k, 2)); zstr(got) != "a:1 b:2" {
		t.Fatalf("ZPopMin = %s", zstr(got))
	}
	if got := must(db.ZPopMax(k, 1)); zstr(got) != "e:5" {
		t.Fatalf("ZPopMax = %s", zstr(got))
	}
	if got := must(db.ZPopMin(k, 0)); len(got) != 0 {
		t.Fatalf("ZPopMin 0 = %s", zstr(got))
	}
	if got := must(db.ZPopMax(b("missing"), 3)); len(got) != 0 {
		t.Fatalf("ZPopMax missing = %s", zstr(got))
	}
	wantMsg(t, must2(db.ZPopMin(k, -1)), ErrInvalidArgument, "out of range")
	wantMsg(t, must2(db.ZPopMax(k, -1)), ErrInvalidArgument, "out of range")
	if got := must(db.ZPopMax(k, 10)); zstr(got) != "d:4 c:3" {
		t.Fatalf("ZPopMax all = %s", zstr(got))
	}
	if must(db.Exists(k)) {
		t.Fatal("popped-empty set still exists")
	}

	must(db.ZAdd(k, zs("a", 1, "b", 2, "c", 3, "d", 4, "e", 5, "f", 6), nil))
	if n := must(db.ZRemRangeByRank(k, 0, 1)); n != 2 {
		t.Fatalf("ZRemRangeByRank = %d", n)
	}
	if n := must(db.ZRemRangeByScore(k, "(3", "5")); n != 2 {
		t.Fatalf("ZRemRangeByScore = %d", n)
	}
	if got := must(db.ZRange(k, ZRangeArgs{Start: 0, Stop: -1})); zstr(got) != "c:3 f:6" {
		t.Fatalf("after ZRemRange = %s", zstr(got))
	}
	wantMsg(t, must2(db.ZRemRangeByScore(k, "x", "1")), ErrInvalidArgument, "not a float")
	l := b("lex")
	must(db.ZAdd(l, zs("a", 0, "b", 0, "c", 0), nil))
	if n := must(db.ZRemRangeByLex(l, "(a", "+")); n != 2 {
		t.Fatalf("ZRemRangeByLex = %d", n)
	}
	wantMsg(t, must2(db.ZRemRangeByLex(l, "b", "+")), ErrInvalidArgument, "not valid string range item")
	if n := must(db.ZRemRangeByRank(b("missing"), 0, -1)); n != 0 {
		t.Fatalf("ZRemRangeByRank missing = %d", n)
	}
}

func TestZRandMember(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	k := b("z")
	must(db.ZAdd(k, zs("a", 1, "b", 2, "c", 3), nil))
	want := map[string]float64{"a": 1, "b": 2, "c": 3}
	check := func(got []Z) {
		t.Helper()
		for _, z := range got {
			if s, has := want[string(z.Member)]; !has || s != z.Score {
				t.Fatalf("ZRandMember gave %q:%v", z.Member, z.Score)
			}
		}
	}
	got := must(db.ZRandMember(k, 2))
	check(got)
	if len(got) != 2 || string(got[0].Member) == string(got[1].Member) {
		t.Fatalf("ZRandMember 2 = %s (want 2 distinct)", zstr(got))
	}
	if got := must(db.ZRandMember(k, 10)); len(got) != 3 {
		t.Fatalf("ZRandMember 10 = %s (want all 3)", zstr(got))
	}
	got = must(db.ZRandMember(k, -10))
	check(got)
	if len(got) != 10 {
		t.Fatalf("ZRandMember -10 gave %d members", len(got))
	}
	if got := must(db.ZRandMember(b("missing"), 5)); len(got) != 0 {
		t.Fatalf("ZRandMember missing = %s", zstr(got))
	}
	wantMsg(t, must2(db.ZRandMember(k, math.MinInt64)), ErrInvalidArgument, "out of range")
	wantErr(t, must2(db.ZRandMember(k, -20_000_000)), ErrInvalidArgument)
}

func TestZStore(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	a, c, d := b("a"), b("c"), b("dest")
	must(db.ZAdd(a, zs("x", 1, "y", 2, "z", 3), nil))
	must(db.ZAdd(c, zs("y", 10, "z", 20, "w", 30), nil))
	if n := must(db.ZUnionStore(d, [][]byte{a, c, b("missing")}, nil)); n != 4 {
		t.Fatalf("ZUnionStore = %d", n)
	}
	if got := must(db.ZRange(d, ZRangeArgs{Start: 0, Stop: -1})); zstr(got) != "x:1 y:12 z:23 w:30" {
		t.Fatalf("union = %s", zstr(got))
	}
	must(db.ZUnionStore(d, [][]byte{a, c}, &ZStoreOptions{Weights: []float64{2, 0.5}, Aggregate: AggregateMax}))
	if got := must(db.ZRange(d, ZRangeArgs{Start: 0, Stop: -1})); zstr(got) != "x:2 y:5 z:10 w:15" {
		t.Fatalf("union weights max = %s", zstr(got))
	}
	if n := must(db.ZInterStore(d, [][]byte{a, c}, &ZStoreOptions{Aggregate: AggregateMin})); n != 2 {
		t.Fatalf("ZInterStore = %d", n)
	}
	if got := must(db.ZRange(d, ZRangeArgs{Start: 0, Stop: -1})); zstr(got) != "y:2 z:3" {
		t.Fatalf("inter min = %s", zstr(got))
	}
	if n := must(db.ZDiffStore(d, a, c)); n != 1 {
		t.Fatalf("ZDiffStore = %d", n)
	}
	if got := must(db.ZRange(d, ZRangeArgs{Start: 0, Stop: -1})); zstr(got) != "x:1" {
		t.Fatalf("diff = %s", zstr(got))
	}
	// An empty result deletes dest, whatever it held (here a string).
	ok(t, db.Put(d, b("str")))
	if n := must(db.ZInterStore(d, [][]byte{a, b("missing")}, nil)); n != 0 {
		t.Fatalf("empty ZInterStore = %d", n)
	}
	if must(db.Exists(d)) {
		t.Fatal("empty result left dest")
	}
	// Errors.
	wantMsg(t, must2(db.ZUnionStore(d, nil, nil)), ErrInvalidArgument, "at least 1 input key is needed for 'zunionstore'")
	wantMsg(t, must2(db.ZInterStore(d, nil, nil)), ErrInvalidArgument, "at least 1 input key is needed")
	wantMsg(t, must2(db.ZDiffStore(d)), ErrInvalidArgument, "at least 1 input key is needed")
	wantMsg(t, must2(db.ZUnionStore(d, [][]byte{a}, &ZStoreOptions{Weights: []float64{1, 2}})), ErrInvalidArgument, "2 weights for 1 keys")
	wantMsg(t, must2(db.ZUnionStore(d, [][]byte{a}, &ZStoreOptions{Weights: []float64{math.NaN()}})), ErrInvalidArgument,
		"weight value is not a float")
	wantErr(t, must2(db.ZUnionStore(d, [][]byte{a}, &ZStoreOptions{Aggregate: 9})), ErrInvalidArgument)
	ok(t, db.Put(b("s"), b("str")))
	wantErr(t, must2(db.ZUnionStore(d, [][]byte{a, b("s")}, nil)), ErrWrongType)
	wantErr(t, must2(db.ZInterStore(d, [][]byte{b("s"), a}, nil)), ErrWrongType)
	wantErr(t, must2(db.ZDiffStore(d, a, b("s"))), ErrWrongType)
}

// A sorted-set call on a string key, and a string call on a sorted-set
// key, are ErrWrongType (Redis WRONGTYPE) and change nothing.
func TestZSetWrongTypeBothWays(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	s, z, m := b("str"), b("zset"), b("m")
	ok(t, db.Put(s, b("v")))
	must(db.ZAdd(z, zs("m", 1), nil))
	zcalls := map[string]func() error{
		"ZAdd":              func() error { return must2(db.ZAdd(s, zs("m", 1), nil)) },
		"ZAddIncr":          func() error { _, _, err := db.ZAddIncr(s, m, 1, nil); return err },
		"ZIncrBy":           func() error { return must2(db.ZIncrBy(s, 1, m)) },
		"ZRem":              func() error { return must2(db.ZRem(s, m)) },
		"ZScore":            func() error { return must2(db.ZScore(s, m)) },
		"ZMScore":           func() error { _, _, err := db.ZMScore(s, m); return err },
		"ZCard":             func() error { return must2(db.ZCard(s)) },
		"ZCount":            func() error { return must2(db.ZCount(s, "-inf", "+inf")) },
		"ZLexCount":         func() error { return must2(db.ZLexCount(s, "-", "+")) },
		"ZRank":             func() error { return must2(db.ZRank(s, m)) },
		"ZRevRank":          func() error { return must2(db.ZRevRank(s, m)) },
		"ZRankWithScore":    func() error { _, _, err := db.ZRankWithScore(s, m); return err },
		"ZRevRankWithScore": func() error { _, _, err := db.ZRevRankWithScore(s, m); return err },
		"ZRange":            func() error { return must2(db.ZRange(s, ZRangeArgs{Start: 0, Stop: -1})) },
		"ZRevRange":         func() error { return must2(db.ZRevRange(s, 0, -1)) },
		"ZRangeByScore":     func() error { return must2(db.ZRangeByScore(s, "-inf", "+inf")) },
		"ZPopMin":           func() error { return must2(db.ZPopMin(s, 1)) },
		"ZPopMax":           func() error { return must2(db.ZPopMax(s, 1)) },
		"ZRemRangeByRank":   func() error { return must2(db.ZRemRangeByRank(s, 0, -1)) },
		"ZRemRangeByScore":  func() error { return must2(db.ZRemRangeByScore(s, "-inf", "+inf")) },
		"ZRemRangeByLex":    func() error { return must2(db.ZRemRangeByLex(s, "-", "+")) },
		"ZRandMember":       func() error { return must2(db.ZRandMember(s, 1)) },
		"ZUnionStore":       func() error { return must2(db.ZUnionStore(b("d"), [][]byte{s}, nil)) },
		"ZInterStore":       func() error { return must2(db.ZInterStore(b("d"), [][]byte{s}, nil)) },
		"ZDiffStore":        func() error { return must2(db.ZDiffStore(b("d"), s)) },
	}
	for name, call := range zcalls {
		if e := wantErr(t, call(), ErrWrongType); e.Op != name {
			t.Errorf("%s: op = %q", name, e.Op)
		}
	}
	scalls := map[string]func() error{
		"Get":         func() error { return must2(db.Get(z)) },
		"GetEx":       func() error { return must2(db.GetEx(z, nil)) },
		"GetDel":      func() error { return must2(db.GetDel(z)) },
		"Append":      func() error { return must2(db.Append(z, m)) },
		"Strlen":      func() error { return must2(db.Strlen(z)) },
		"GetRange":    func() error { return must2(db.GetRange(z, 0, 1)) },
		"SetRange":    func() error { return must2(db.SetRange(z, 0, m)) },
		"Incr":        func() error { return must2(db.Incr(z)) },
		"IncrByFloat": func() error { _, _, err := db.IncrByFloat(z, 1); return err },
		"Set GET":     func() error { return must2(db.Set(z, m, &SetOptions{Get: true})) },
	}
	for name, call := range scalls {
		if err := call(); !errors.Is(err, ErrWrongType) {
			t.Errorf("%s on a sorted set: %v, want ErrWrongType", name, err)
		}
	}
	if v := must(db.Get(s)); string(v) != "v" {
		t.Fatalf("string changed: %q", v)
	}
	if sc := must(db.ZScore(z, m)); sc != 1 {
		t.Fatalf("sorted set changed: %v", sc)
	}
	// Put replaces a value of any type (plain SET), and TTL works on both.
	if must(db.Expire(z, time.Hour, ExpireAlways)) != true {
		t.Fatal("Expire on a sorted set")
	}
	ok(t, db.Put(z, b("now a string")))
	wantErr(t, must2(db.ZCard(z)), ErrWrongType)
}

// Concurrent ZIncrBy on one member adds up exactly (run with -race).
func TestConcurrentZIncrByIsExact(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := db.ZIncrBy(b("z"), 1, b("m")); err != nil {
					t.Error(err)
					return
				}
				if _, err := db.ZRevRange(b("z"), 0, 9); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s := must(db.ZScore(b("z"), b("m"))); s != 1600 {
		t.Fatalf("score = %v, want 1600", s)
	}
}

// Sorted sets survive Compact and reopening (from hint files), and the
// compaction counters say what happened.
func TestCompactKeepsSortedSetsAcrossReopen(t *testing.T) {
	opts := Options{Fsync: FsyncNo, DisablePreallocate: true, MaxSegmentSizeBytes: 4096, DisableAutoCompaction: true}
	db, dir := openTest(t, opts)
	k := b("board")
	for round := 0; round < 20; round++ {
		for i := 0; i < 10; i++ {
			must(db.ZAdd(k, []Z{{Member: []byte{'p', byte('0' + i)}, Score: float64(round*10 + i)}}, nil))
		}
	}
	must(db.ZRem(k, b("p0")))
	ok(t, db.Put(b("s"), b("string")))
	before := must(db.ZRange(k, ZRangeArgs{Start: 0, Stop: -1}))
	segs := must(db.Segments())
	if len(segs) < 2 || !segs[len(segs)-1].Active {
		t.Fatalf("Segments = %+v", segs)
	}
	sum := must(db.Compact())
	if sum.InputSegments == 0 || sum.OutputSegments == 0 || sum.RecordsDropped == 0 || sum.ReclaimedBytes == 0 ||
		sum.InputBytes <= sum.OutputBytes || sum.RecordsCopied == 0 {
		t.Fatalf("CompactionSummary = %+v", sum)
	}
	st := must(db.Stats())
	if st.Merges != 1 || st.MergeReclaimedBytes != sum.ReclaimedBytes || st.MergeFailures != 0 || st.ZSetHeapBytes == 0 {
		t.Fatalf("Stats after Compact = %+v", st)
	}
	if after := must(db.ZRange(k, ZRangeArgs{Start: 0, Stop: -1})); zstr(after) != zstr(before) {
		t.Fatalf("after Compact %s, before %s", zstr(after), zstr(before))
	}
	ok(t, db.Close())
	db2 := must(Open(dir, opts))
	defer db2.Close()
	if after := must(db2.ZRange(k, ZRangeArgs{Start: 0, Stop: -1})); zstr(after) != zstr(before) || len(after) != 9 {
		t.Fatalf("after reopen %s, before %s", zstr(after), zstr(before))
	}
	st = must(db2.Stats())
	if st.RecoverySegmentsFromHints == 0 {
		t.Fatalf("reopen did not use hint files: %+v", st)
	}
	var fsyncs uint64
	for _, n := range st.GroupCommitHistogram {
		fsyncs += n
	}
	if fsyncs > st.Fsyncs {
		t.Fatalf("histogram counts %d fsyncs, Stats.Fsyncs %d", fsyncs, st.Fsyncs)
	}
	// Nothing left to merge but the fresh active segment: a no-op merge.
	if sum := must(db2.Compact()); sum.ReclaimedBytes != 0 && sum.InputSegments == 0 {
		t.Fatalf("empty Compact = %+v", sum)
	}
}

// RunExpiryCycle purges expired keys of both types when the background
// cycle is off, and the counters record them as active expiry.
func TestRunExpiryCycle(t *testing.T) {
	db, _ := openTest(t, Options{Fsync: FsyncNo, DisablePreallocate: true, DisableActiveExpiry: true})
	for i := 0; i < 30; i++ {
		must(db.Set([]byte{'s', byte(i)}, b("v"), &SetOptions{TTL: time.Millisecond}))
	}
	must(db.ZAdd(b("z"), zs("m", 1), nil))
	must(db.Expire(b("z"), time.Millisecond, ExpireAlways))
	ok(t, db.Put(b("keep"), b("v")))
	time.Sleep(20 * time.Millisecond)
	first := must(db.RunExpiryCycle())
	// A cycle that ran out of its 25 ms budget (preempted on a loaded
	// machine) may have purged nothing yet.
	if first.Samples == 0 || first.SampledKeys < first.ExpiredKeys || (first.ExpiredKeys == 0 && !first.BudgetExhausted) {
		t.Fatalf("report = %+v", first)
	}
	for purged, cycles := first.ExpiredKeys, 1; purged < 31; cycles++ {
		// The cycle samples; it may stop short of every key (budget).
		r := must(db.RunExpiryCycle())
		if (r.ExpiredKeys == 0 && !r.BudgetExhausted) || cycles == 10_000 {
			t.Fatalf("expiry cycles purged %d of 31 keys: %+v", purged, r)
		}
		purged += r.ExpiredKeys
	}
	st := must(db.Stats())
	if st.ExpiredKeysActive != 31 || st.ExpiredKeys != st.ExpiredKeysActive+st.ExpiredKeysLazy || st.Keys != 1 {
		t.Fatalf("Stats = %+v", st)
	}
	if rep := must(db.RunExpiryCycle()); rep.ExpiredKeys != 0 {
		t.Fatalf("second cycle = %+v", rep)
	}
}
