package kv

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

// FuzzOps runs a sequence of operations decoded from the input against a
// database and a map model, comparing every answer, then reopens the
// database and compares the whole contents. String keys come from a space
// of 8 and sorted sets (4 keys of 4 members) from one of their own, so
// that operations collide; every TTL is an hour (so nothing expires during
// a run) and the model tracks only whether a key has one.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 3, 1, 4, 2, 5, 2, 6, 3})
	f.Add([]byte{7, 0, 7, 0, 8, 0, 9, 0, 1, 0, 10, 1, 11, 1})
	f.Add([]byte{12, 4, 13, 5, 14, 4, 15, 6, 16, 6, 17, 7, 18, 0})
	f.Add(bytes.Repeat([]byte{0, 1, 19, 1, 20, 2, 3, 3}, 20))
	f.Add(bytes.Repeat([]byte{21, 0x35, 21, 0x91, 23, 0x15, 24, 0x31, 22, 0x35, 25, 0x01, 19, 0}, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 600 {
			data = data[:600]
		}
		dir := t.TempDir()
		opts := Options{Fsync: FsyncNo, DisablePreallocate: true, MaxSegmentSizeBytes: 4096, DisableActiveExpiry: true}
		db, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		m := newModel()
		for i := 0; i+1 < len(data); i += 2 {
			step(t, db, m, data[i], data[i+1], i)
		}
		ok(t, db.Close())
		db, err = Open(dir, opts)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		m.compareAll(t, db)
	})
}

type entry struct {
	val    []byte
	hasTTL bool
}

// model holds the string keys (m) and, in a key space of their own so that
// string operations never meet them, the sorted sets (z: member → score).
type model struct {
	m map[string]entry
	z map[string]map[string]float64
}

func newModel() *model { return &model{m: map[string]entry{}, z: map[string]map[string]float64{}} }

// zkeyOf and zmemberOf pick one of 4 sorted sets and 4 members.
func zkeyOf(arg byte) []byte    { return []byte{'z', '0' + arg%4} }
func zmemberOf(arg byte) []byte { return []byte{'m', '0' + (arg>>2)%4} }

// zscoreOf is a half-integer in [-4, 3.5]: exact in float64, so the
// model's sums equal libkv's.
func zscoreOf(arg byte) float64 { return float64(int(arg>>4)-8) / 2 }

// sorted is a model set in Redis order: score, then member bytes.
func sorted(set map[string]float64) []Z {
	out := make([]Z, 0, len(set))
	for m, s := range set {
		out = append(out, Z{Member: []byte(m), Score: s})
	}
	slices.SortFunc(out, func(a, b Z) int {
		if a.Score != b.Score {
			if a.Score < b.Score {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.Member, b.Member)
	})
	return out
}

func sameZ(a, b []Z) bool {
	return slices.EqualFunc(a, b, func(x, y Z) bool { return bytes.Equal(x.Member, y.Member) && x.Score == y.Score })
}

func keyOf(arg byte) []byte { return []byte{'k', '0' + arg%8} }

// valOf derives a value from the argument and the step index: sometimes
// empty, sometimes a number (so the INCR family has something to work
// on), sometimes longer than Get's inline buffer.
func valOf(arg byte, i int) []byte {
	switch arg >> 3 % 4 {
	case 0:
		return []byte{}
	case 1:
		return []byte(strconv.Itoa(int(arg) - 100))
	case 2:
		return bytes.Repeat([]byte{arg}, 300+i)
	default:
		return []byte(fmt.Sprintf("v%d-%d", arg, i))
	}
}

func step(t *testing.T, db *DB, m *model, op, arg byte, i int) {
	t.Helper()
	k := keyOf(arg)
	ks := string(k)
	cur, exists := m.m[ks]
	v := valOf(arg, i)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("step %d op %d key %s: %s", i, op%26, ks, fmt.Sprintf(format, args...))
	}
	zk := zkeyOf(arg)
	zks := string(zk)
	zm := zmemberOf(arg)
	switch op % 26 {
	case 0: // Put
		ok(t, db.Put(k, v))
		m.m[ks] = entry{val: v}
	case 1: // Get
		got, err := db.Get(k)
		if exists != (err == nil) || (exists && !bytes.Equal(got, cur.val)) {
			fail("Get = %q, %v; model %q, %v", got, err, cur.val, exists)
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			fail("Get error %v", err)
		}
	case 2: // Delete
		if existed := must(db.Delete(k)); existed != exists {
			fail("Delete = %v", existed)
		}
		delete(m.m, ks)
	case 3: // Exists
		if got := must(db.Exists(k)); got != exists {
			fail("Exists = %v", got)
		}
	case 4: // Set NX
		r := must(db.Set(k, v, &SetOptions{NX: true}))
		if r.Written == exists {
			fail("Set NX written = %v", r.Written)
		}
		if !exists {
			m.m[ks] = entry{val: v}
		}
	case 5: // Set XX GET
		r := must(db.Set(k, v, &SetOptions{XX: true, Get: true}))
		if r.Written != exists || (r.Old == nil) == exists || (exists && !bytes.Equal(r.Old, cur.val)) {
			fail("Set XX GET = %+v", r)
		}
		if exists {
			m.m[ks] = entry{val: v}
		}
	case 6: // Set with TTL
		must(db.Set(k, v, &SetOptions{TTL: time.Hour}))
		m.m[ks] = entry{val: v, hasTTL: true}
	case 7: // Append
		n := must(db.Append(k, v))
		nv := append(slices.Clone(cur.val), v...)
		if n != len(nv) {
			fail("Append = %d, want %d", n, len(nv))
		}
		m.m[ks] = entry{val: nv, hasTTL: cur.hasTTL}
	case 8: // IncrBy
		delta := int64(arg) - 128
		got, err := db.IncrBy(k, delta)
		old := int64(0)
		var perr error
		if exists {
			old, perr = redisInt(cur.val)
		}
		if perr != nil {
			if !errors.Is(err, ErrNotInteger) {
				fail("IncrBy on %q = %v, want ErrNotInteger", cur.val, err)
			}
			return
		}
		if err != nil || got != old+delta {
			fail("IncrBy = %d, %v; want %d", got, err, old+delta)
		}
		m.m[ks] = entry{val: []byte(strconv.FormatInt(got, 10)), hasTTL: cur.hasTTL}
	case 9: // GetDel
		got, err := db.GetDel(k)
		if exists != (err == nil) || (exists && !bytes.Equal(got, cur.val)) {
			fail("GetDel = %q, %v", got, err)
		}
		delete(m.m, ks)
	case 10: // Expire
		set := must(db.Expire(k, time.Hour, ExpireAlways))
		if set != exists {
			fail("Expire = %v", set)
		}
		if exists {
			m.m[ks] = entry{val: cur.val, hasTTL: true}
		}
	case 11: // Persist
		removed := must(db.Persist(k))
		if removed != (exists && cur.hasTTL) {
			fail("Persist = %v", removed)
		}
		if exists {
			m.m[ks] = entry{val: cur.val}
		}
	case 12: // TTL
		d, err := db.TTL(k)
		switch {
		case !exists:
			if !errors.Is(err, ErrNotFound) {
				fail("TTL of missing = %v, %v", d, err)
			}
		case cur.hasTTL:
			if err != nil || d <= 0 || d > time.Hour {
				fail("TTL = %v, %v", d, err)
			}
		default:
			if err != nil || d != NoExpiry {
				fail("TTL = %v, %v; want NoExpiry", d, err)
			}
		}
	case 13: // CompareAndDelete with the current value or another
		token := v
		if exists && arg&1 == 0 {
			token = cur.val
		}
		deleted := must(db.CompareAndDelete(k, token))
		want := exists && bytes.Equal(token, cur.val)
		if deleted != want {
			fail("CompareAndDelete = %v, want %v", deleted, want)
		}
		if want {
			delete(m.m, ks)
		}
	case 14: // CompareAndSwap
		expected := v
		if exists && arg&1 == 0 {
			expected = cur.val
		}
		swapped := must(db.CompareAndSwap(k, expected, []byte("swapped"), &CASOptions{KeepTTL: true}))
		want := exists && bytes.Equal(expected, cur.val)
		if swapped != want {
			fail("CompareAndSwap = %v, want %v", swapped, want)
		}
		if want {
			m.m[ks] = entry{val: []byte("swapped"), hasTTL: cur.hasTTL}
		}
	case 15: // MSet of this key and the next
		k2 := keyOf(arg + 1)
		ok(t, db.MSet([][]byte{k, k2}, [][]byte{v, []byte("m")}))
		m.m[ks] = entry{val: v}
		m.m[string(k2)] = entry{val: []byte("m")}
	case 16: // MGet of this key and the next
		k2 := keyOf(arg + 1)
		vals := must(db.MGet(k, k2))
		for j, kk := range [][]byte{k, k2} {
			e, has := m.m[string(kk)]
			if has != (vals[j] != nil) || (has && !bytes.Equal(vals[j], e.val)) {
				fail("MGet[%d] = %q, model %q %v", j, vals[j], e.val, has)
			}
		}
	case 17: // Batch: put this key, delete the next
		k2 := keyOf(arg + 1)
		ok(t, db.Batch(func(bt *Batch) error {
			bt.Put(k, v)
			bt.Delete(k2)
			return nil
		}))
		m.m[ks] = entry{val: v}
		delete(m.m, string(k2))
	case 18: // ScanPrefix of everything
		m.compareAll(t, db)
	case 19: // Len
		if n := must(db.Len()); n != uint64(len(m.m)+len(m.z)) {
			fail("Len = %d, want %d", n, len(m.m)+len(m.z))
		}
	case 20: // GetEx with Persist
		got, err := db.GetEx(k, &GetExOptions{Persist: true})
		if exists != (err == nil) || (exists && !bytes.Equal(got, cur.val)) {
			fail("GetEx = %q, %v", got, err)
		}
		if exists {
			m.m[ks] = entry{val: cur.val}
		}
	case 21: // ZAdd
		added := must(db.ZAdd(zk, []Z{{Member: zm, Score: zscoreOf(arg)}}, nil))
		set := m.z[zks]
		if _, had := set[string(zm)]; had == (added == 1) {
			fail("ZAdd = %d", added)
		}
		if set == nil {
			set = map[string]float64{}
			m.z[zks] = set
		}
		set[string(zm)] = zscoreOf(arg)
	case 22: // ZRem; the last member takes the key with it
		removed := must(db.ZRem(zk, zm))
		if _, had := m.z[zks][string(zm)]; had != (removed == 1) {
			fail("ZRem = %d", removed)
		}
		delete(m.z[zks], string(zm))
		if len(m.z[zks]) == 0 {
			delete(m.z, zks)
		}
	case 23: // ZIncrBy
		got := must(db.ZIncrBy(zk, zscoreOf(arg), zm))
		if m.z[zks] == nil {
			m.z[zks] = map[string]float64{}
		}
		m.z[zks][string(zm)] += zscoreOf(arg)
		if want := m.z[zks][string(zm)]; got != want {
			fail("ZIncrBy = %v, want %v", got, want)
		}
	case 24: // ZRange of the whole set, ZCard, ZRevRank
		m.compareZ(t, db, zks)
		r, err := db.ZRevRank(zk, zm)
		if _, had := m.z[zks][string(zm)]; !had {
			if !errors.Is(err, ErrNotFound) {
				fail("ZRevRank of a missing member = %d, %v", r, err)
			}
		} else if want := sorted(m.z[zks]); err != nil || !bytes.Equal(want[len(want)-1-int(r)].Member, zm) {
			fail("ZRevRank = %d, %v", r, err)
		}
	case 25: // ZPopMin 1
		got := must(db.ZPopMin(zk, 1))
		want := sorted(m.z[zks])
		if len(want) > 1 {
			want = want[:1]
		}
		if !sameZ(got, want) {
			fail("ZPopMin = %v, want %v", got, want)
		}
		if len(want) == 1 {
			delete(m.z[zks], string(want[0].Member))
			if len(m.z[zks]) == 0 {
				delete(m.z, zks)
			}
		}
	}
}

// compareZ checks one sorted set against the model.
func (m *model) compareZ(t *testing.T, db *DB, zks string) {
	t.Helper()
	got, err := db.ZRange([]byte(zks), ZRangeArgs{Start: 0, Stop: -1})
	ok(t, err)
	if want := sorted(m.z[zks]); !sameZ(got, want) {
		t.Fatalf("sorted set %s: db %v, model %v", zks, got, want)
	}
	if n := must(db.ZCard([]byte(zks))); n != int64(len(m.z[zks])) {
		t.Fatalf("ZCard %s = %d, model %d", zks, n, len(m.z[zks]))
	}
}

func (m *model) compareAll(t *testing.T, db *DB) {
	t.Helper()
	seq, errf := db.ScanPrefix(nil)
	got := map[string][]byte{}
	var order []string
	for k, v := range seq {
		got[string(k)] = v
		order = append(order, string(k))
	}
	ok(t, errf())
	if !slices.IsSorted(order) {
		t.Fatalf("scan order %v", order)
	}
	for i := byte(0); i < 4; i++ {
		m.compareZ(t, db, string(zkeyOf(i)))
	}
	if len(got) != len(m.m) {
		t.Fatalf("db has %d keys, model %d", len(got), len(m.m))
	}
	for k, e := range m.m {
		if v, has := got[k]; !has || !bytes.Equal(v, e.val) {
			t.Fatalf("key %s: db %q %v, model %q", k, v, has, e.val)
		}
		d, err := db.TTL([]byte(k))
		if err != nil || (d == NoExpiry) == e.hasTTL {
			t.Fatalf("key %s: TTL %v %v, model hasTTL %v", k, d, err, e.hasTTL)
		}
	}
}

// redisInt parses v as Redis does (string2ll): canonical decimal only, so
// no leading zeros, "+" or spaces. (Found by the fuzzer: the model used
// strconv.ParseInt, which accepts "000".)
func redisInt(v []byte) (int64, error) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, err
	}
	if strconv.FormatInt(n, 10) != string(v) {
		return 0, fmt.Errorf("%q is not canonical", v)
	}
	return n, nil
}
