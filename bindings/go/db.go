package kv

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// FsyncPolicy is the durability policy of a database.
type FsyncPolicy int

const (
	// FsyncAlways: a write returns after an fdatasync covering it (group
	// commit); a power cut loses no acknowledged write. The default.
	FsyncAlways FsyncPolicy = C.KV_FSYNC_ALWAYS
	// FsyncEverySec: synced about once per second in the background; a
	// power cut loses at most about a second of acknowledged writes.
	FsyncEverySec FsyncPolicy = C.KV_FSYNC_EVERYSEC
	// FsyncNo: the OS decides (synced on rotation, Sync and Close); a
	// process crash loses nothing, a power cut may lose unsynced writes.
	FsyncNo FsyncPolicy = C.KV_FSYNC_NO
)

// RecoveryMode says what opening does with a damaged record that is not a
// torn tail.
type RecoveryMode int

const (
	// RecoveryStrict refuses to open with ErrCorruption. The default.
	RecoveryStrict RecoveryMode = C.KV_RECOVERY_STRICT
	// RecoverySalvage skips damaged bytes (counted in Stats); their
	// records are lost.
	RecoverySalvage RecoveryMode = C.KV_RECOVERY_SALVAGE
)

// Options configure Open. The zero value gives libkv's defaults; each zero
// field keeps its default (see kv.h for the ranges libkv accepts; a value
// out of range makes Open fail with ErrInvalidArgument).
type Options struct {
	// Fsync is the durability policy (default FsyncAlways).
	Fsync FsyncPolicy
	// Recovery is the damaged-record policy (default RecoveryStrict).
	Recovery RecoveryMode
	// MaxSegmentSizeBytes rotates the active segment at this size
	// (4 KiB to 2 GiB; default 256 MiB).
	MaxSegmentSizeBytes uint64
	// MaxKeySizeBytes is the longest accepted key (default 64 KiB).
	MaxKeySizeBytes int
	// MaxValueSizeBytes is the longest accepted value (default 512 MiB).
	MaxValueSizeBytes int
	// MaxBatchOps is the most operations in one batch (default 100000).
	MaxBatchOps int
	// MaxBatchSizeBytes is the most encoded bytes in one batch
	// (default 64 MiB).
	MaxBatchSizeBytes int
	// CompressionThresholdBytes: values from this length are lz4-compressed
	// when that makes them smaller (default 4096).
	CompressionThresholdBytes int
	// DisablePreallocate stops preallocating each new segment to full size.
	DisablePreallocate bool
	// DisableAutoCompaction stops automatic background compaction.
	DisableAutoCompaction bool
	// CompactionMinDeadRatio is the dead fraction (0 to 1) from which a
	// sealed segment is a compaction candidate (0 keeps the default 0.5).
	CompactionMinDeadRatio float64
	// CompactionMinDeadBytes is the dead bytes needed before compacting
	// (default 64 MiB).
	CompactionMinDeadBytes uint64
	// CompactionRateLimitBytesPerSec throttles compaction (0: unthrottled).
	CompactionRateLimitBytesPerSec uint64
	// CompactionBusyRateLimitBytesPerSec throttles compaction while
	// FsyncAlways commits run (0: the default, 64 MB/s;
	// math.MaxUint64: unthrottled). It bounds what a merge adds to commit
	// latency; with no commits running the merge goes at full speed.
	CompactionBusyRateLimitBytesPerSec uint64
	// CompactionThreads is the threads that scan a large merge's inputs,
	// 1 or 2 (0: the default, 2, or 1 on a one-CPU machine).
	CompactionThreads uint32
	// BufferedCompaction writes compaction output through the page cache
	// instead of around it (O_DIRECT, the default): slower merges, but
	// moved records stay cached.
	BufferedCompaction bool
	// DisableActiveExpiry stops the background expiry cycle (expired keys
	// are then only purged when accessed).
	DisableActiveExpiry bool
	// ActiveExpiryInterval is the time between expiry cycles, whole
	// milliseconds (default 100 ms).
	ActiveExpiryInterval time.Duration
	// ActiveExpiryBudget is the time budget of one cycle, whole
	// milliseconds (default 25 ms).
	ActiveExpiryBudget time.Duration
}

// DB is an open database. It is safe for concurrent use by many
// goroutines. Close it when done; a finalizer closes a forgotten one, but
// only at garbage collection and without reporting errors.
type DB struct {
	// mu guards h: every call holds it shared, Close exclusively, so the
	// handle is never freed under a call in flight (kv_db_free must not
	// race other calls).
	mu      sync.RWMutex
	h       *C.kv_db // nil once closed
	cleanup runtime.Cleanup
}

// Open opens (creating if needed) the database in directory dir. Only one
// handle may have a directory open at a time (ErrLocked otherwise). It
// fails with an error wrapping ErrABIMismatch when the linked libkv has
// another ABI version than ABIVersion.
func Open(dir string, opts Options) (*DB, error) {
	if abiErr != nil {
		return nil, abiErr
	}
	if dir == "" {
		return nil, invalid("Open", "dir is empty")
	}
	if strings.IndexByte(dir, 0) >= 0 {
		// C.CString would cut the path at the NUL and open another directory.
		return nil, invalid("Open", "dir contains a NUL byte")
	}
	co := C.kvg_open_opts{
		fsync:                                    C.int(opts.Fsync),
		recovery:                                 C.int(opts.Recovery),
		max_segment_size_bytes:                   C.uint64_t(opts.MaxSegmentSizeBytes),
		compaction_min_dead_ratio:                C.double(opts.CompactionMinDeadRatio),
		compaction_min_dead_bytes:                C.uint64_t(opts.CompactionMinDeadBytes),
		compaction_rate_limit_bytes_per_sec:      C.uint64_t(opts.CompactionRateLimitBytesPerSec),
		compaction_busy_rate_limit_bytes_per_sec: C.uint64_t(opts.CompactionBusyRateLimitBytesPerSec),
		compaction_threads:                       C.uint32_t(opts.CompactionThreads),
		preallocate:                              -1,
		auto_compaction:                          -1,
		active_expiry:                            -1,
		compaction_direct_io:                     -1,
	}
	for _, f := range []struct {
		name string
		v    int
		dst  *C.size_t
	}{
		{"MaxKeySizeBytes", opts.MaxKeySizeBytes, &co.max_key_size_bytes},
		{"MaxValueSizeBytes", opts.MaxValueSizeBytes, &co.max_value_size_bytes},
		{"MaxBatchOps", opts.MaxBatchOps, &co.max_batch_ops},
		{"MaxBatchSizeBytes", opts.MaxBatchSizeBytes, &co.max_batch_size_bytes},
		{"CompressionThresholdBytes", opts.CompressionThresholdBytes, &co.compression_threshold_bytes},
	} {
		if f.v < 0 {
			return nil, invalid("Open", "Options.%s is negative (%d)", f.name, f.v)
		}
		*f.dst = C.size_t(f.v)
	}
	for _, f := range []struct {
		name string
		d    time.Duration
		dst  *C.uint64_t
	}{
		{"ActiveExpiryInterval", opts.ActiveExpiryInterval, &co.active_expiry_interval_ms},
		{"ActiveExpiryBudget", opts.ActiveExpiryBudget, &co.active_expiry_budget_ms},
	} {
		if f.d < 0 || f.d%time.Millisecond != 0 {
			return nil, invalid("Open", "Options.%s must be a non-negative whole number of milliseconds, got %v", f.name, f.d)
		}
		*f.dst = C.uint64_t(f.d / time.Millisecond)
	}
	if opts.DisablePreallocate {
		co.preallocate = 0
	}
	if opts.DisableAutoCompaction {
		co.auto_compaction = 0
	}
	if opts.DisableActiveExpiry {
		co.active_expiry = 0
	}
	if opts.BufferedCompaction {
		co.compaction_direct_io = 0
	}
	if opts.CompactionMinDeadRatio < 0 || opts.CompactionMinDeadRatio > 1 {
		return nil, invalid("Open", "Options.CompactionMinDeadRatio must be in [0, 1], got %v", opts.CompactionMinDeadRatio)
	}
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var out C.kvg_out
	if st := C.kvg_open(cdir, &co, &out); st != C.KV_OK {
		return nil, newError("Open", st, &out)
	}
	h := (*C.kv_db)(out.ptr)
	db := &DB{h: h}
	// Safety net for a DB dropped without Close. The cleanup gets the C
	// handle, not db, so it does not keep db alive.
	db.cleanup = runtime.AddCleanup(db, func(h *C.kv_db) { C.kv_db_free(h) }, h)
	return db, nil
}

// acquire returns the handle with db.mu held shared, or ErrClosed. The
// caller must call db.mu.RUnlock when its C call is over.
func (db *DB) acquire(op string) (*C.kv_db, error) {
	db.mu.RLock()
	if db.h == nil {
		db.mu.RUnlock()
		return nil, closedError(op)
	}
	return db.h, nil
}

// Close syncs and closes the database, releases its directory lock and
// frees its native memory. It waits for calls in flight. Later calls
// (including a second Close) return ErrClosed. An error (ErrPoisoned,
// ErrIO) means the final sync failed; the database is closed all the same.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.h == nil {
		return closedError("Close")
	}
	var out C.kvg_out
	st := C.kvg_close(db.h, &out)
	C.kv_db_free(db.h)
	db.h = nil
	db.cleanup.Stop()
	return newError("Close", st, &out)
}

// Get returns the string value of key; ErrNotFound if it is missing or
// expired, ErrWrongType if it holds a sorted set.
func (db *DB) Get(key []byte) ([]byte, error) {
	h, err := db.acquire("Get")
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	// Values up to this size need a single C call (copied straight into
	// Go memory); larger ones cost a second call to free libkv's copy.
	const inlineCapBytes = 256
	dst := make([]byte, inlineCapBytes)
	var out C.kvg_out
	st := C.kvg_get(h, ptr(key), C.size_t(len(key)), ptr(dst), C.size_t(len(dst)), &out)
	if st != C.KV_OK {
		return nil, newError("Get", st, &out)
	}
	if out.buf.data != nil {
		return takeBuf(&out.buf), nil
	}
	return dst[:int(out.u64):int(out.u64)], nil
}

// Put sets key to value with no expiry, replacing any value of any type
// (Redis SET without options).
func (db *DB) Put(key, value []byte) error {
	h, err := db.acquire("Put")
	if err != nil {
		return err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_put(h, ptr(key), C.size_t(len(key)), ptr(value), C.size_t(len(value)), &out)
	return newError("Put", st, &out)
}

// Delete deletes key (of any type) and reports whether it existed.
func (db *DB) Delete(key []byte) (existed bool, err error) {
	h, err := db.acquire("Delete")
	if err != nil {
		return false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_delete(h, ptr(key), C.size_t(len(key)), &out)
	return bool(out.flag), newError("Delete", st, &out)
}

// Exists reports whether key exists (any type, not expired).
func (db *DB) Exists(key []byte) (bool, error) {
	h, err := db.acquire("Exists")
	if err != nil {
		return false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_exists(h, ptr(key), C.size_t(len(key)), &out)
	return bool(out.flag), newError("Exists", st, &out)
}

// Len returns the number of live keys of every type.
func (db *DB) Len() (uint64, error) {
	h, err := db.acquire("Len")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_len(h, &out)
	return uint64(out.u64), newError("Len", st, &out)
}

// Sync makes every acknowledged write durable now, whatever the fsync
// policy.
func (db *DB) Sync() error {
	h, err := db.acquire("Sync")
	if err != nil {
		return err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_sync(h, &out)
	return newError("Sync", st, &out)
}

// Version is the version of the linked libkv, e.g. "0.1.0".
func Version() string { return C.GoString(C.kv_version()) }
