package kv

import (
	"errors"
	"fmt"
	"testing"
)

// fastOpts keep tests quick: no fsync per write, no 256 MiB preallocation.
var fastOpts = Options{Fsync: FsyncNo, DisablePreallocate: true}

// openTest opens a fresh database in a temporary directory, closed at the
// end of the test.
func openTest(t testing.TB, opts Options) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, dir
}

// must returns v, panicking (which fails the test with a stack trace) on
// an error; it takes the two results of a call directly.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantErr checks that err matches target with errors.Is and, for libkv
// failures other than ErrNotFound, that it is an *Error with a message.
func wantErr(t testing.TB, err, target error) *Error {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
	var e *Error
	if target != ErrNotFound {
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not a *kv.Error", err, err)
		}
		if e.Message == "" || e.Op == "" {
			t.Fatalf("error %#v lacks its op or message", e)
		}
	}
	return e
}

func b(s string) []byte { return []byte(s) }
