package kv

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLinkedLibraryHasTheABIVersionOfThePackage(t *testing.T) {
	if ABIVersion != 2 || LibraryABIVersion() != ABIVersion || abiErr != nil {
		t.Fatalf("ABIVersion %d, LibraryABIVersion() %d, load-time check %v", ABIVersion, LibraryABIVersion(), abiErr)
	}
}

// A package written for another ABI version than the linked library's (here
// one more) refuses to open anything, naming both versions.
func TestOpenRefusesALibraryOfAnotherABIVersion(t *testing.T) {
	saved := abiErr
	defer func() { abiErr = saved }()
	abiErr = checkABI(LibraryABIVersion(), ABIVersion+1)
	db, err := Open(t.TempDir(), Options{})
	if db != nil || !errors.Is(err, ErrABIMismatch) {
		t.Fatalf("Open = %v, %v; want ErrABIMismatch", db, err)
	}
	for _, want := range []string{
		fmt.Sprintf("libkv has ABI version %d", ABIVersion),
		fmt.Sprintf("written for ABI version %d", ABIVersion+1),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
	abiErr = saved
	db, err = Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatalf("Open with matching versions: %v", err)
	}
	ok(t, db.Close())
}

// ABI version 2 fields of the compaction summary: inputs of string puts only
// are copied from the index's list; a segment holding deletes is scanned.
func TestCompactReportsInputsCopiedFromIndex(t *testing.T) {
	db, _ := openTest(t, Options{Fsync: FsyncNo, MaxSegmentSizeBytes: 64 << 10, DisableAutoCompaction: true})
	defer db.Close()
	val := []byte(strings.Repeat("v", 512))
	for round := 0; round < 8; round++ {
		for i := 0; i < 50; i++ {
			ok(t, db.Put([]byte(fmt.Sprintf("k%d", i)), val))
		}
	}
	sum := must(db.Compact())
	if sum.InputSegments < 3 || sum.InputsCopiedFromIndex != sum.InputSegments || sum.RecordsCopied != 50 ||
		sum.RemovalDuration < 0 || sum.RemovalDuration > sum.Duration {
		t.Fatalf("puts only: %+v", sum)
	}
	for i := 0; i < 50; i += 5 {
		must(db.Delete([]byte(fmt.Sprintf("k%d", i))))
	}
	sum = must(db.Compact())
	if sum.InputSegments < 2 || sum.InputsCopiedFromIndex != sum.InputSegments-1 || sum.RecordsCopied != 40 ||
		sum.RemovalDuration < 0 || sum.RemovalDuration > sum.Duration {
		t.Fatalf("with a segment of deletes: %+v", sum)
	}
}
