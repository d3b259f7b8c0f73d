package kv

/*
#include "shim.h"
*/
import "C"

import "time"

// Batch is a list of puts and deletes that Write applies all-or-nothing,
// also across a crash. It copies the bytes it is given, so callers may
// reuse their buffers. A Batch is not safe for concurrent use; it is
// reusable after Reset.
type Batch struct {
	kinds    []uint8
	keys     []byte
	keyLens  []C.size_t
	vals     []byte
	valLens  []C.size_t
	expireAt []C.uint64_t
	err      error
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{} }

// Put adds a put of key = value with no expiry.
func (b *Batch) Put(key, value []byte) { b.add(C.KVG_BATCH_PUT, key, value, 0) }

// PutTTL adds a put that expires ttl after the call (whole ms, >= 1 ms;
// otherwise Write fails with ErrInvalidArgument).
func (b *Batch) PutTTL(key, value []byte, ttl time.Duration) {
	if ttl < time.Millisecond {
		if b.err == nil {
			b.err = invalid("Batch.PutTTL", "TTL %v is below 1ms", ttl)
		}
		return
	}
	b.add(C.KVG_BATCH_PUT, key, value, uint64(time.Now().Add(ttl).UnixMilli()))
}

// PutExpireAt adds a put that expires at t (millisecond precision; t must
// be after the Unix epoch).
func (b *Batch) PutExpireAt(key, value []byte, t time.Time) {
	ms := t.UnixMilli()
	if ms <= 0 {
		if b.err == nil {
			b.err = invalid("Batch.PutExpireAt", "expiry %v is not after the Unix epoch", t)
		}
		return
	}
	b.add(C.KVG_BATCH_PUT, key, value, uint64(ms))
}

// Delete adds a delete of key (of any type).
func (b *Batch) Delete(key []byte) { b.add(C.KVG_BATCH_DELETE, key, nil, 0) }

// Len is the number of operations added.
func (b *Batch) Len() int { return len(b.kinds) }

// Reset empties the batch (keeping its memory) for reuse.
func (b *Batch) Reset() {
	b.kinds, b.keys, b.keyLens = b.kinds[:0], b.keys[:0], b.keyLens[:0]
	b.vals, b.valLens, b.expireAt = b.vals[:0], b.valLens[:0], b.expireAt[:0]
	b.err = nil
}

func (b *Batch) add(kind uint8, key, value []byte, expireAtMs uint64) {
	b.kinds = append(b.kinds, kind)
	b.keys = append(b.keys, key...)
	b.keyLens = append(b.keyLens, C.size_t(len(key)))
	b.vals = append(b.vals, value...)
	b.valLens = append(b.valLens, C.size_t(len(value)))
	b.expireAt = append(b.expireAt, C.uint64_t(expireAtMs))
}

// Write applies every operation of b atomically: after a crash either all
// are present or none; nothing is applied on error (ErrBatchTooLarge,
// ErrKeyTooLarge, ErrInvalidArgument for an empty key, ...). b is left
// unchanged. An empty batch is a no-op.
func (db *DB) Write(b *Batch) error {
	if b.err != nil {
		return b.err
	}
	h, err := db.acquire("Write")
	if err != nil {
		return err
	}
	defer db.mu.RUnlock()
	n := len(b.kinds)
	if n == 0 {
		return nil
	}
	var out C.kvg_out
	st := C.kvg_write_batch(h, C.size_t(n), (*C.uint8_t)(&b.kinds[0]), ptr(b.keys), &b.keyLens[0],
		ptr(b.vals), &b.valLens[0], &b.expireAt[0], &out)
	return newError("Write", st, &out)
}

// Batch calls fn with a new batch and writes it atomically if fn returns
// nil. If fn fails nothing is written and its error is returned.
func (db *DB) Batch(fn func(b *Batch) error) error {
	b := NewBatch()
	if err := fn(b); err != nil {
		return err
	}
	return db.Write(b)
}
