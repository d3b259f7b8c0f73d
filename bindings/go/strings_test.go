package kv

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestSetConditionsAndGet(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	r := must(db.Set(b("k"), b("v1"), &SetOptions{NX: true}))
	if !r.Written {
		t.Fatal("NX on a missing key was refused")
	}
	r = must(db.Set(b("k"), b("v2"), &SetOptions{NX: true}))
	if r.Written {
		t.Fatal("NX on an existing key wrote")
	}
	r = must(db.Set(b("other"), b("x"), &SetOptions{XX: true}))
	if r.Written || must(db.Exists(b("other"))) {
		t.Fatal("XX on a missing key wrote")
	}
	r = must(db.Set(b("k"), b("v3"), &SetOptions{XX: true, Get: true}))
	if !r.Written || string(r.Old) != "v1" {
		t.Fatalf("XX GET = %+v", r)
	}
	r = must(db.Set(b("fresh"), b("x"), &SetOptions{Get: true}))
	if !r.Written || r.Old != nil {
		t.Fatalf("GET on a missing key = %+v, want nil Old", r)
	}
	ok(t, db.Put(b("empty"), nil))
	r = must(db.Set(b("empty"), b("y"), &SetOptions{Get: true}))
	if r.Old == nil || len(r.Old) != 0 {
		t.Fatalf("GET of an empty value = %#v, want non-nil empty", r.Old)
	}
	if got := must(db.Get(b("k"))); string(got) != "v3" {
		t.Fatalf("Get = %q", got)
	}
}

func TestSetExpiryOptions(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	must(db.Set(b("ttl"), b("v"), &SetOptions{TTL: time.Hour}))
	if d := must(db.TTL(b("ttl"))); d <= 59*time.Minute || d > time.Hour {
		t.Fatalf("TTL = %v", d)
	}
	at := time.Now().Add(2 * time.Hour).Truncate(time.Millisecond)
	must(db.Set(b("at"), b("v"), &SetOptions{ExpireAt: at}))
	if got, has := mustPair(db.ExpireTime(b("at"))); !has || !got.Equal(at) {
		t.Fatalf("ExpireTime = %v %v, want %v", got, has, at)
	}
	must(db.Set(b("ttl"), b("v2"), &SetOptions{KeepTTL: true}))
	if d := must(db.TTL(b("ttl"))); d <= 59*time.Minute {
		t.Fatalf("KeepTTL lost the TTL: %v", d)
	}
	must(db.Set(b("ttl"), b("v3"), nil)) // a plain SET clears the TTL
	if d := must(db.TTL(b("ttl"))); d != NoExpiry {
		t.Fatalf("TTL after plain Set = %v, want NoExpiry", d)
	}
	for name, o := range map[string]SetOptions{
		"NX and XX":        {NX: true, XX: true},
		"TTL and KeepTTL":  {TTL: time.Second, KeepTTL: true},
		"TTL and ExpireAt": {TTL: time.Second, ExpireAt: at},
		"sub-ms TTL":       {TTL: time.Microsecond},
		"negative TTL":     {TTL: -time.Second},
		"pre-epoch":        {ExpireAt: time.Unix(-5, 0)},
	} {
		_, err := db.Set(b("k"), b("v"), &o)
		wantErr(t, err, ErrInvalidArgument)
		t.Logf("%s: %v", name, err)
	}
}

func TestShortTTLExpires(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	started := time.Now()
	must(db.Set(b("k"), b("v"), &SetOptions{TTL: 30 * time.Millisecond}))
	_, err := db.Get(b("k"))
	// Still there unless the test stalled past the TTL between the two calls
	// (a loaded machine under -race can); a millisecond for libkv's rounding.
	if time.Since(started) < 29*time.Millisecond && err != nil {
		t.Fatalf("key gone before its TTL: %v", err)
	}
	time.Sleep(80 * time.Millisecond)
	_, err = db.Get(b("k"))
	wantErr(t, err, ErrNotFound)
	_, err = db.TTL(b("k"))
	wantErr(t, err, ErrNotFound)
}

func mustPair[A, B any](a A, c B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, c
}

func TestGetExGetDel(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	ok(t, db.Put(b("k"), b("v")))
	if got := must(db.GetEx(b("k"), &GetExOptions{TTL: time.Minute})); string(got) != "v" {
		t.Fatalf("GetEx = %q", got)
	}
	if d := must(db.TTL(b("k"))); d <= 0 || d > time.Minute {
		t.Fatalf("TTL after GetEx = %v", d)
	}
	must(db.GetEx(b("k"), &GetExOptions{Persist: true}))
	if d := must(db.TTL(b("k"))); d != NoExpiry {
		t.Fatalf("TTL after GetEx Persist = %v", d)
	}
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	must(db.GetEx(b("k"), &GetExOptions{ExpireAt: at}))
	if got, _ := mustPair(db.ExpireTime(b("k"))); !got.Equal(at) {
		t.Fatalf("ExpireTime = %v", got)
	}
	if got := must(db.GetEx(b("k"), nil)); string(got) != "v" {
		t.Fatalf("GetEx nil = %q", got)
	}
	_, err := db.GetEx(b("k"), &GetExOptions{TTL: time.Second, Persist: true})
	wantErr(t, err, ErrInvalidArgument)
	_, err = db.GetEx(b("missing"), nil)
	wantErr(t, err, ErrNotFound)

	if got := must(db.GetDel(b("k"))); string(got) != "v" {
		t.Fatalf("GetDel = %q", got)
	}
	_, err = db.GetDel(b("k"))
	wantErr(t, err, ErrNotFound)
	_, err = db.GetDel(nil)
	wantErr(t, err, ErrInvalidArgument)
}

func TestAppendStrlenRanges(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	if n := must(db.Append(b("k"), b("Hello"))); n != 5 {
		t.Fatalf("Append = %d", n)
	}
	if n := must(db.Append(b("k"), b(" World"))); n != 11 {
		t.Fatalf("Append = %d", n)
	}
	if n := must(db.Strlen(b("k"))); n != 11 {
		t.Fatalf("Strlen = %d", n)
	}
	if n := must(db.Strlen(b("missing"))); n != 0 {
		t.Fatalf("Strlen missing = %d", n)
	}
	if got := must(db.GetRange(b("k"), -5, -1)); string(got) != "World" {
		t.Fatalf("GetRange = %q", got)
	}
	if got := must(db.GetRange(b("missing"), 0, 10)); len(got) != 0 {
		t.Fatalf("GetRange missing = %q", got)
	}
	if n := must(db.SetRange(b("k"), 6, b("Redis"))); n != 11 {
		t.Fatalf("SetRange = %d", n)
	}
	if n := must(db.SetRange(b("pad"), 3, b("x"))); n != 4 {
		t.Fatalf("SetRange pad = %d", n)
	}
	if got := must(db.Get(b("pad"))); !bytes.Equal(got, []byte{0, 0, 0, 'x'}) {
		t.Fatalf("zero padding = %q", got)
	}
	if got := must(db.Get(b("k"))); string(got) != "Hello Redis" {
		t.Fatalf("Get = %q", got)
	}
	_, err := db.SetRange(b("k"), -1, b("x"))
	wantErr(t, err, ErrInvalidArgument)
	_, err = db.Append(nil, b("x"))
	wantErr(t, err, ErrInvalidArgument)
}

func TestIncrFamily(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	if n := must(db.Incr(b("n"))); n != 1 {
		t.Fatalf("Incr = %d", n)
	}
	if n := must(db.IncrBy(b("n"), 41)); n != 42 {
		t.Fatalf("IncrBy = %d", n)
	}
	if n := must(db.Decr(b("n"))); n != 41 {
		t.Fatalf("Decr = %d", n)
	}
	if n := must(db.DecrBy(b("n"), 50)); n != -9 {
		t.Fatalf("DecrBy = %d", n)
	}
	// The expiry is kept.
	must(db.Expire(b("n"), time.Hour, ExpireAlways))
	must(db.Incr(b("n")))
	if d := must(db.TTL(b("n"))); d == NoExpiry {
		t.Fatal("Incr dropped the TTL")
	}
	ok(t, db.Put(b("s"), b("abc")))
	_, err := db.Incr(b("s"))
	wantErr(t, err, ErrNotInteger)
	ok(t, db.Put(b("max"), b("9223372036854775807")))
	_, err = db.Incr(b("max"))
	wantErr(t, err, ErrOverflow)
	ok(t, db.Put(b("zero"), b("0")))
	// As Redis 7: DECRBY by MinInt64 is "ERR decrement would overflow",
	// an argument error (kv.h says KV_OVERFLOW; libkv follows Redis).
	_, err = db.DecrBy(b("zero"), math.MinInt64)
	if e := wantErr(t, err, ErrInvalidArgument); !strings.Contains(e.Message, "decrement would overflow") {
		t.Fatalf("message %q", e.Message)
	}
	ok(t, db.Put(b("m1"), b("-1")))
	_, err = db.DecrBy(b("m1"), math.MinInt64) // rejected even when the result would fit
	wantErr(t, err, ErrInvalidArgument)
	_, err = db.Incr(nil)
	wantErr(t, err, ErrInvalidArgument)
}

func TestIncrByFloat(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	ok(t, db.Put(b("f"), b("10.50")))
	f, text, err := db.IncrByFloat(b("f"), 0.1)
	ok(t, err)
	if text != "10.6" || f != 10.6 {
		t.Fatalf("IncrByFloat = %v %q, want 10.6", f, text)
	}
	if got := must(db.Get(b("f"))); string(got) != "10.6" {
		t.Fatalf("stored %q", got)
	}
	if f, _, err := db.IncrByFloat(b("new"), -2.5e3); err != nil || f != -2500 {
		t.Fatalf("IncrByFloat new = %v %v", f, err)
	}
	ok(t, db.Put(b("s"), b("abc")))
	_, _, err = db.IncrByFloat(b("s"), 1)
	wantErr(t, err, ErrNotFloat)
	_, _, err = db.IncrByFloat(b("f"), math.NaN())
	wantErr(t, err, ErrInvalidArgument)
	_, _, err = db.IncrByFloat(b("f"), math.Inf(1))
	wantErr(t, err, ErrInvalidArgument)
}

func TestCompareAndDeleteAndSwap(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	ok(t, db.Put(b("lock"), b("owner-a")))
	if must(db.CompareAndDelete(b("lock"), b("owner-b"))) {
		t.Fatal("CompareAndDelete with the wrong token deleted")
	}
	if !must(db.CompareAndDelete(b("lock"), b("owner-a"))) || must(db.Exists(b("lock"))) {
		t.Fatal("CompareAndDelete with the right token did not delete")
	}
	if must(db.CompareAndDelete(b("lock"), b("owner-a"))) {
		t.Fatal("CompareAndDelete on a missing key reported true")
	}

	if must(db.CompareAndSwap(b("v"), b("x"), b("y"), nil)) {
		t.Fatal("CompareAndSwap on a missing key swapped")
	}
	ok(t, db.Put(b("v"), b("x")))
	if must(db.CompareAndSwap(b("v"), b("other"), b("y"), nil)) {
		t.Fatal("CompareAndSwap with a wrong expected value swapped")
	}
	if !must(db.CompareAndSwap(b("v"), b("x"), b("y"), &CASOptions{TTL: time.Hour})) {
		t.Fatal("CompareAndSwap did not swap")
	}
	if d := must(db.TTL(b("v"))); d <= 0 {
		t.Fatalf("TTL after CAS = %v", d)
	}
	if !must(db.CompareAndSwap(b("v"), b("y"), b("z"), &CASOptions{KeepTTL: true})) {
		t.Fatal("CompareAndSwap KeepTTL did not swap")
	}
	if d := must(db.TTL(b("v"))); d <= 0 {
		t.Fatalf("KeepTTL lost the TTL: %v", d)
	}
	if !must(db.CompareAndSwap(b("v"), b("z"), b("w"), nil)) {
		t.Fatal("CompareAndSwap did not swap")
	}
	if d := must(db.TTL(b("v"))); d != NoExpiry {
		t.Fatalf("TTL after CAS without expiry = %v", d)
	}
	_, err := db.CompareAndSwap(b("v"), b("w"), b("q"), &CASOptions{TTL: time.Second, KeepTTL: true})
	wantErr(t, err, ErrInvalidArgument)
	_, err = db.CompareAndDelete(nil, b("t"))
	wantErr(t, err, ErrInvalidArgument)
}

func TestMGetMSet(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	ok(t, db.MSet([][]byte{b("a"), b("b"), b("e")}, [][]byte{b("1"), b("22"), nil}))
	vals := must(db.MGet(b("a"), b("missing"), b("b"), b("e")))
	if len(vals) != 4 || string(vals[0]) != "1" || vals[1] != nil || string(vals[2]) != "22" ||
		vals[3] == nil || len(vals[3]) != 0 {
		t.Fatalf("MGet = %#v", vals)
	}
	if must(db.MSetNX([][]byte{b("c"), b("a")}, [][]byte{b("3"), b("x")})) {
		t.Fatal("MSetNX with an existing key set")
	}
	if must(db.Exists(b("c"))) {
		t.Fatal("MSetNX is not all-or-nothing")
	}
	if !must(db.MSetNX([][]byte{b("c"), b("d")}, [][]byte{b("3"), b("4")})) {
		t.Fatal("MSetNX with new keys did not set")
	}
	wantErr(t, db.MSet([][]byte{b("a")}, nil), ErrInvalidArgument)
	wantErr(t, db.MSet(nil, nil), ErrInvalidArgument)
	wantErr(t, db.MSet([][]byte{b("ok"), nil}, [][]byte{b("1"), b("2")}), ErrInvalidArgument)
	if must(db.Exists(b("ok"))) {
		t.Fatal("MSet with an empty key applied part of it")
	}
	_, err := db.MGet()
	wantErr(t, err, ErrInvalidArgument)
	_, err = db.MGet(b("a"), nil)
	wantErr(t, err, ErrInvalidArgument)
}

func TestExpireConditions(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	ok(t, db.Put(b("k"), b("v")))
	if must(db.Expire(b("k"), time.Hour, ExpireXX)) {
		t.Fatal("XX set an expiry on a key without one")
	}
	if !must(db.Expire(b("k"), time.Hour, ExpireNX)) {
		t.Fatal("NX refused a key without expiry")
	}
	if must(db.Expire(b("k"), 2*time.Hour, ExpireNX)) {
		t.Fatal("NX set an expiry on a key with one")
	}
	if must(db.Expire(b("k"), time.Minute, ExpireGT)) {
		t.Fatal("GT accepted an earlier expiry")
	}
	if !must(db.Expire(b("k"), 2*time.Hour, ExpireGT)) {
		t.Fatal("GT refused a later expiry")
	}
	if must(db.Expire(b("k"), 3*time.Hour, ExpireLT)) {
		t.Fatal("LT accepted a later expiry")
	}
	if !must(db.ExpireAt(b("k"), time.Now().Add(time.Minute), ExpireXXLT)) {
		t.Fatal("XX LT refused an earlier expiry")
	}
	if d := must(db.TTL(b("k"))); d > time.Minute || d <= 0 {
		t.Fatalf("TTL = %v", d)
	}
	if !must(db.Persist(b("k"))) || must(db.Persist(b("k"))) {
		t.Fatal("Persist reported wrongly")
	}
	// No expiry counts as infinite: GT never applies, LT always does.
	if must(db.Expire(b("k"), time.Hour, ExpireGT)) {
		t.Fatal("GT applied to a key without expiry")
	}
	if !must(db.Expire(b("k"), time.Hour, ExpireLT)) {
		t.Fatal("LT refused a key without expiry")
	}
	if must(db.Expire(b("missing"), time.Hour, ExpireAlways)) {
		t.Fatal("Expire on a missing key reported true")
	}
	// A time in the past deletes the key.
	must(db.ExpireAt(b("k"), time.Now().Add(-time.Second), ExpireAlways))
	if must(db.Exists(b("k"))) {
		t.Fatal("ExpireAt in the past kept the key")
	}
	ok(t, db.Put(b("k2"), b("v")))
	must(db.Expire(b("k2"), 0, ExpireAlways))
	if must(db.Exists(b("k2"))) {
		t.Fatal("Expire 0 kept the key")
	}
	_, err := db.Expire(b("k"), time.Second, ExpireCondition(42))
	wantErr(t, err, ErrInvalidArgument)
	_, _, err = db.ExpireTime(b("missing"))
	wantErr(t, err, ErrNotFound)
	ok(t, db.Put(b("k3"), b("v")))
	if _, has := mustPair(db.ExpireTime(b("k3"))); has {
		t.Fatal("ExpireTime of a key without expiry reported one")
	}
	_, err = db.Persist(nil)
	wantErr(t, err, ErrInvalidArgument)
}
