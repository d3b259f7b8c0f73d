package kv

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBatchAppliesEverything(t *testing.T) {
	db, dir := openTest(t, fastOpts)
	ok(t, db.Put(b("gone"), b("x")))
	ok(t, db.Batch(func(bt *Batch) error {
		bt.Put(b("a"), b("1"))
		bt.Put(b("empty"), nil)
		bt.PutTTL(b("ttl"), b("t"), time.Hour)
		bt.PutExpireAt(b("at"), b("t"), time.Now().Add(time.Hour))
		bt.Delete(b("gone"))
		if bt.Len() != 5 {
			t.Fatalf("Len = %d", bt.Len())
		}
		return nil
	}))
	check := func(db *DB) {
		if got := must(db.Get(b("a"))); string(got) != "1" {
			t.Fatalf("a = %q", got)
		}
		if got := must(db.Get(b("empty"))); len(got) != 0 {
			t.Fatalf("empty = %q", got)
		}
		if must(db.Exists(b("gone"))) {
			t.Fatal("delete in batch not applied")
		}
		for _, k := range []string{"ttl", "at"} {
			if d := must(db.TTL(b(k))); d <= 59*time.Minute {
				t.Fatalf("%s TTL = %v", k, d)
			}
		}
	}
	check(db)
	ok(t, db.Close())
	db2 := must(Open(dir, fastOpts))
	defer db2.Close()
	check(db2)
}

func TestBatchCallbackErrorWritesNothing(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	boom := errors.New("boom")
	err := db.Batch(func(bt *Batch) error {
		bt.Put(b("a"), b("1"))
		return boom
	})
	if err != boom {
		t.Fatalf("err = %v", err)
	}
	if must(db.Exists(b("a"))) {
		t.Fatal("a failed batch wrote")
	}
}

func TestBatchFailuresApplyNothing(t *testing.T) {
	db, _ := openTest(t, Options{Fsync: FsyncNo, DisablePreallocate: true, MaxBatchOps: 2, MaxKeySizeBytes: 8})
	bt := NewBatch()
	bt.Put(b("a"), b("1"))
	bt.Put(b("b"), b("2"))
	bt.Put(b("c"), b("3"))
	wantErr(t, db.Write(bt), ErrBatchTooLarge)
	bt.Reset()
	bt.Put(b("a"), b("1"))
	bt.Put(nil, b("2"))
	wantErr(t, db.Write(bt), ErrInvalidArgument)
	bt.Reset()
	bt.Put(b("a"), b("1"))
	bt.Delete(b("waytoolongkey"))
	wantErr(t, db.Write(bt), ErrKeyTooLarge)
	if n := must(db.Len()); n != 0 {
		t.Fatalf("failed batches left %d keys", n)
	}
	bt.Reset()
	bt.PutTTL(b("a"), b("1"), 0)
	wantErr(t, db.Write(bt), ErrInvalidArgument)
	bt.Reset()
	bt.PutExpireAt(b("a"), b("1"), time.Unix(0, 0))
	wantErr(t, db.Write(bt), ErrInvalidArgument)
	bt.Reset()
	ok(t, db.Write(bt)) // empty: a no-op
	bt.Put(b("a"), b("1"))
	ok(t, db.Write(bt))
	ok(t, db.Write(bt)) // left unchanged by Write, so reusable
	if got := must(db.Get(b("a"))); string(got) != "1" {
		t.Fatalf("a = %q", got)
	}
}

func TestBatchCopiesCallerBuffers(t *testing.T) {
	db, _ := openTest(t, fastOpts)
	bt := NewBatch()
	buf := []byte("key0")
	for i := 0; i < 3; i++ {
		buf[3] = byte('0' + i)
		bt.Put(buf, buf)
	}
	ok(t, db.Write(bt))
	for i := 0; i < 3; i++ {
		k := fmt.Sprintf("key%d", i)
		if got := must(db.Get(b(k))); string(got) != k {
			t.Fatalf("%s = %q", k, got)
		}
	}
}
