package kv

import (
	"fmt"
	"slices"
	"testing"
)

func TestScanPrefixOrderAndValues(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	for _, k := range []string{"user:3", "user:1", "order:1", "user:2", "user", "usex"} {
		ok(t, db.Put(b(k), b("v-"+k)))
	}
	seq, errf := db.ScanPrefix(b("user:"))
	var keys []string
	for k, v := range seq {
		if string(v) != "v-"+string(k) {
			t.Fatalf("%s = %q", k, v)
		}
		keys = append(keys, string(k))
	}
	ok(t, errf())
	if !slices.Equal(keys, []string{"user:1", "user:2", "user:3"}) {
		t.Fatalf("keys = %v", keys)
	}
	all, errf := db.Keys(nil)
	n := 0
	for range all {
		n++
	}
	ok(t, errf())
	if n != 6 {
		t.Fatalf("Keys(nil) yielded %d, want 6", n)
	}
	empty, errf := db.ScanPrefix(b("nothing"))
	for k := range empty {
		t.Fatalf("unexpected %q", k)
	}
	ok(t, errf())
}

func TestScanPrefixBreakAndRestart(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	for i := 0; i < 100; i++ {
		ok(t, db.Put([]byte(fmt.Sprintf("k%03d", i)), b("v")))
	}
	seq, errf := db.ScanPrefix(b("k"))
	for i := 0; i < 3; i++ { // a sequence may be ranged again
		n := 0
		for range seq {
			n++
			if n == 10 {
				break
			}
		}
		ok(t, errf())
		if n != 10 {
			t.Fatalf("n = %d", n)
		}
	}
}

func TestScanSeesDeletesAndClose(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	for i := 0; i < 10; i++ {
		ok(t, db.Put([]byte(fmt.Sprintf("k%d", i)), b("v")))
	}
	seq, errf := db.ScanPrefix(nil)
	var seen []string
	for k := range seq {
		seen = append(seen, string(k))
		if len(seen) == 1 {
			must(db.Delete(b("k5"))) // deleted after the key set was fixed: skipped
		}
		if len(seen) == 3 {
			ok(t, db.Close()) // the loop body may close the DB
		}
	}
	wantErr(t, errf(), ErrClosed)
	if len(seen) != 3 || slices.Contains(seen, "k5") {
		t.Fatalf("seen = %v", seen)
	}
}
