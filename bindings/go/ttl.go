package kv

/*
#include "shim.h"
*/
import "C"

import "time"

// ExpireCondition is the Redis 7 condition of Expire / ExpireAt. A key
// without expiry counts as an infinite TTL for GT and LT.
type ExpireCondition int

const (
	// ExpireAlways sets the expiry unconditionally.
	ExpireAlways ExpireCondition = C.KV_EXPIRE_ALWAYS
	// ExpireNX sets it only if the key has no expiry.
	ExpireNX ExpireCondition = C.KV_EXPIRE_NX
	// ExpireXX sets it only if the key has an expiry.
	ExpireXX ExpireCondition = C.KV_EXPIRE_XX
	// ExpireGT sets it only if the new expiry is later.
	ExpireGT ExpireCondition = C.KV_EXPIRE_GT
	// ExpireLT sets it only if the new expiry is earlier.
	ExpireLT ExpireCondition = C.KV_EXPIRE_LT
	// ExpireXXLT: the key has an expiry and the new one is earlier.
	ExpireXXLT ExpireCondition = C.KV_EXPIRE_XX_LT
)

// NoExpiry is the TTL of a key that exists but never expires.
const NoExpiry time.Duration = -1

// Expire is Redis PEXPIRE: the key expires ttl from now (whole
// milliseconds, truncated), if cond allows. It reports whether the expiry
// was set (false for a missing key). A ttl below 1 ms deletes the key, as
// a non-positive time does in Redis. (Go durations carry milliseconds, so
// EXPIRE and PEXPIRE are the same method here.)
func (db *DB) Expire(key []byte, ttl time.Duration, cond ExpireCondition) (bool, error) {
	h, err := db.acquire("Expire")
	if err != nil {
		return false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_pexpire(h, ptr(key), C.size_t(len(key)), C.int64_t(ttl/time.Millisecond), C.int32_t(cond), &out)
	return bool(out.flag), newError("Expire", st, &out)
}

// ExpireAt is Redis PEXPIREAT: the key expires at t (millisecond
// precision), if cond allows. A time in the past deletes the key.
func (db *DB) ExpireAt(key []byte, t time.Time, cond ExpireCondition) (bool, error) {
	h, err := db.acquire("ExpireAt")
	if err != nil {
		return false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_pexpireat(h, ptr(key), C.size_t(len(key)), C.int64_t(t.UnixMilli()), C.int32_t(cond), &out)
	return bool(out.flag), newError("ExpireAt", st, &out)
}

// Persist is Redis PERSIST: removes the expiry and reports whether there
// was one.
func (db *DB) Persist(key []byte) (bool, error) {
	h, err := db.acquire("Persist")
	if err != nil {
		return false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_persist(h, ptr(key), C.size_t(len(key)), &out)
	return bool(out.flag), newError("Persist", st, &out)
}

// TTL is Redis PTTL: the time left before key expires (millisecond
// precision), NoExpiry if it has none, ErrNotFound if it is missing.
func (db *DB) TTL(key []byte) (time.Duration, error) {
	h, err := db.acquire("TTL")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	if st := C.kvg_pttl(h, ptr(key), C.size_t(len(key)), &out); st != C.KV_OK {
		return 0, newError("TTL", st, &out)
	}
	switch ms := int64(out.i64); ms {
	case -2:
		return 0, ErrNotFound
	case -1:
		return NoExpiry, nil
	default:
		return time.Duration(ms) * time.Millisecond, nil
	}
}

// ExpireTime is Redis PEXPIRETIME: when key expires; ok is false if it
// has no expiry; ErrNotFound if it is missing.
func (db *DB) ExpireTime(key []byte) (t time.Time, ok bool, err error) {
	h, err := db.acquire("ExpireTime")
	if err != nil {
		return time.Time{}, false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	if st := C.kvg_pexpiretime(h, ptr(key), C.size_t(len(key)), &out); st != C.KV_OK {
		return time.Time{}, false, newError("ExpireTime", st, &out)
	}
	switch ms := int64(out.i64); ms {
	case -2:
		return time.Time{}, false, ErrNotFound
	case -1:
		return time.Time{}, false, nil
	default:
		return time.UnixMilli(ms), true, nil
	}
}
