package kv

/*
#include "shim.h"
*/
import "C"

import "iter"

// ScanPrefix iterates over the string keys starting with prefix (nil or
// empty: every key) in byte order, with their values; keys of other types
// are skipped. The key set is fixed when the iteration starts; values are
// read as it advances, so a key deleted meanwhile is skipped.
//
// The sequence stops at the first error (ErrClosed, ErrIO, ErrCorruption),
// which the returned function reports once the loop is over:
//
//	items, errf := db.ScanPrefix([]byte("user:"))
//	for k, v := range items { ... }
//	if err := errf(); err != nil { ... }
//
// Yielded slices are fresh copies the caller owns. Native memory is freed
// when the loop ends, including by break.
func (db *DB) ScanPrefix(prefix []byte) (iter.Seq2[[]byte, []byte], func() error) {
	var err error
	seq := func(yield func([]byte, []byte) bool) {
		err = db.scan("ScanPrefix", prefix, false, yield)
	}
	return seq, func() error { return err }
}

// Keys iterates over the keys of every type starting with prefix, in byte
// order. Errors are reported as by ScanPrefix.
func (db *DB) Keys(prefix []byte) (iter.Seq[[]byte], func() error) {
	var err error
	seq := func(yield func([]byte) bool) {
		err = db.scan("Keys", prefix, true, func(k, _ []byte) bool { return yield(k) })
	}
	return seq, func() error { return err }
}

func (db *DB) scan(op string, prefix []byte, keysOnly bool, yield func([]byte, []byte) bool) error {
	h, err := db.acquire(op)
	if err != nil {
		return err
	}
	var out C.kvg_out
	st := C.kvg_scan(h, ptr(prefix), C.size_t(len(prefix)), C.bool(keysOnly), &out)
	// The iterator is independent of the handle (it outlives kv_db_free and
	// then reports KV_CLOSED), so the lock is not held while the caller's
	// loop body runs: Close may proceed meanwhile.
	db.mu.RUnlock()
	if st != C.KV_OK {
		return newError(op, st, &out)
	}
	it := (*C.kv_iter)(out.ptr)
	defer C.kv_iter_free(it)
	for {
		var item C.kvg_out
		st := C.kvg_iter_next(it, &item)
		if st == C.KV_NOT_FOUND {
			return nil
		}
		if st != C.KV_OK {
			return newError(op, st, &item)
		}
		var v []byte
		if !keysOnly {
			v = copySlice(item.val)
		}
		if !yield(copySlice(item.key), v) {
			return nil
		}
	}
}
