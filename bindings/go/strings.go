package kv

/*
#include "shim.h"
*/
import "C"

import (
	"math"
	"strconv"
	"time"
)

// SetOptions are the options of Set (Redis SET NX|XX, GET, EX/PX/EXAT/
// PXAT/KEEPTTL). At most one of TTL, ExpireAt and KeepTTL may be given,
// and not both NX and XX. Without any of them the key has no expiry
// afterwards (as in Redis).
type SetOptions struct {
	// TTL expires the key after this long (PX; whole milliseconds,
	// truncated; must be at least 1 ms when set).
	TTL time.Duration
	// ExpireAt expires the key at this time (PXAT, millisecond precision).
	ExpireAt time.Time
	// KeepTTL keeps the key's current expiry (KEEPTTL).
	KeepTTL bool
	// NX: only set if the key does not exist.
	NX bool
	// XX: only set if the key exists.
	XX bool
	// Get returns the old value in SetResult.Old (SET ... GET).
	Get bool
}

// SetResult is what Set did.
type SetResult struct {
	// Written is false when NX or XX refused the write.
	Written bool
	// Old is the previous value with SetOptions.Get; nil if the key did
	// not exist (an existing empty value is a non-nil empty slice).
	Old []byte
}

// expiry converts a TTL / absolute time / keep-TTL choice into the C
// expiry kind and number (kv_expiry_kind and kv_getex_kind share PX = 2
// and PXAT = 4).
func expiry(op string, ttl time.Duration, at time.Time, keep bool) (C.int32_t, C.int64_t, error) {
	n := 0
	if ttl != 0 {
		n++
	}
	if !at.IsZero() {
		n++
	}
	if keep {
		n++
	}
	switch {
	case n > 1:
		return 0, 0, invalid(op, "at most one of TTL, ExpireAt and KeepTTL may be set")
	case ttl != 0:
		if ttl < time.Millisecond {
			return 0, 0, invalid(op, "TTL %v is below 1ms", ttl)
		}
		return C.KV_EXPIRY_PX, C.int64_t(ttl / time.Millisecond), nil
	case !at.IsZero():
		return C.KV_EXPIRY_PXAT, C.int64_t(at.UnixMilli()), nil
	case keep:
		return C.KV_EXPIRY_KEEPTTL, 0, nil
	}
	return C.KV_EXPIRY_NONE, 0, nil
}

// Set is Redis SET with options; nil opts is a plain SET. A refused NX/XX
// is not an error: SetResult.Written is false.
func (db *DB) Set(key, value []byte, opts *SetOptions) (SetResult, error) {
	var o SetOptions
	if opts != nil {
		o = *opts
	}
	if o.NX && o.XX {
		return SetResult{}, invalid("Set", "NX and XX are exclusive")
	}
	kind, t, err := expiry("Set", o.TTL, o.ExpireAt, o.KeepTTL)
	if err != nil {
		return SetResult{}, err
	}
	cond := C.int32_t(C.KV_SET_ALWAYS)
	if o.NX {
		cond = C.KV_SET_NX
	} else if o.XX {
		cond = C.KV_SET_XX
	}
	h, err := db.acquire("Set")
	if err != nil {
		return SetResult{}, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_set(h, ptr(key), C.size_t(len(key)), ptr(value), C.size_t(len(value)), kind, t, cond, C.bool(o.Get), &out)
	if st != C.KV_OK {
		return SetResult{}, newError("Set", st, &out)
	}
	return SetResult{Written: bool(out.flag), Old: takeBuf(&out.buf)}, nil
}

// GetExOptions change the expiry in GetEx. At most one may be set; none
// is a plain GET.
type GetExOptions struct {
	// TTL sets the expiry this far ahead (PX, whole milliseconds, >= 1 ms).
	TTL time.Duration
	// ExpireAt sets the expiry to this time (PXAT).
	ExpireAt time.Time
	// Persist removes the expiry (PERSIST).
	Persist bool
}

// GetEx is Redis GETEX: the value of key, changing its expiry per opts
// (nil: unchanged). ErrNotFound if missing.
func (db *DB) GetEx(key []byte, opts *GetExOptions) ([]byte, error) {
	var o GetExOptions
	if opts != nil {
		o = *opts
	}
	kind, t, err := expiry("GetEx", o.TTL, o.ExpireAt, o.Persist)
	if err != nil {
		return nil, err
	}
	if o.Persist {
		kind = C.KV_GETEX_PERSIST
	}
	h, err := db.acquire("GetEx")
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	if st := C.kvg_getex(h, ptr(key), C.size_t(len(key)), kind, t, &out); st != C.KV_OK {
		return nil, newError("GetEx", st, &out)
	}
	return takeBuf(&out.buf), nil
}

// GetDel is Redis GETDEL: the value of key, deleting it. ErrNotFound if
// missing.
func (db *DB) GetDel(key []byte) ([]byte, error) {
	h, err := db.acquire("GetDel")
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	if st := C.kvg_getdel(h, ptr(key), C.size_t(len(key)), &out); st != C.KV_OK {
		return nil, newError("GetDel", st, &out)
	}
	return takeBuf(&out.buf), nil
}

// Append is Redis APPEND: appends value (creating the key), keeps the
// expiry, and returns the new length.
func (db *DB) Append(key, value []byte) (int, error) {
	h, err := db.acquire("Append")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_append(h, ptr(key), C.size_t(len(key)), ptr(value), C.size_t(len(value)), &out)
	return int(out.u64), newError("Append", st, &out)
}

// Strlen is Redis STRLEN: the value's length, 0 if the key is missing.
func (db *DB) Strlen(key []byte) (int, error) {
	h, err := db.acquire("Strlen")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_strlen(h, ptr(key), C.size_t(len(key)), &out)
	return int(out.u64), newError("Strlen", st, &out)
}

// GetRange is Redis GETRANGE: bytes start..end inclusive, negative
// indexes counting from the end; empty for a missing key.
func (db *DB) GetRange(key []byte, start, end int64) ([]byte, error) {
	h, err := db.acquire("GetRange")
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	if st := C.kvg_getrange(h, ptr(key), C.size_t(len(key)), C.int64_t(start), C.int64_t(end), &out); st != C.KV_OK {
		return nil, newError("GetRange", st, &out)
	}
	return takeBuf(&out.buf), nil
}

// SetRange is Redis SETRANGE: overwrites from offset (zero-padding) and
// returns the new length.
func (db *DB) SetRange(key []byte, offset int64, value []byte) (int, error) {
	h, err := db.acquire("SetRange")
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_setrange(h, ptr(key), C.size_t(len(key)), C.int64_t(offset), ptr(value), C.size_t(len(value)), &out)
	return int(out.u64), newError("SetRange", st, &out)
}

// Incr is Redis INCR: adds 1 and returns the new value (a missing key
// counts as 0; the expiry is kept). ErrNotInteger, ErrOverflow.
func (db *DB) Incr(key []byte) (int64, error) { return db.incr("Incr", key, 1, false) }

// IncrBy is Redis INCRBY.
func (db *DB) IncrBy(key []byte, delta int64) (int64, error) {
	return db.incr("IncrBy", key, delta, false)
}

// Decr is Redis DECR.
func (db *DB) Decr(key []byte) (int64, error) { return db.incr("Decr", key, 1, true) }

// DecrBy is Redis DECRBY. As in Redis, a delta of math.MinInt64 (which
// cannot be negated) fails with ErrInvalidArgument "decrement would
// overflow".
func (db *DB) DecrBy(key []byte, delta int64) (int64, error) {
	return db.incr("DecrBy", key, delta, true)
}

func (db *DB) incr(op string, key []byte, delta int64, decr bool) (int64, error) {
	h, err := db.acquire(op)
	if err != nil {
		return 0, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	var st C.kv_status
	if decr {
		st = C.kvg_decrby(h, ptr(key), C.size_t(len(key)), C.int64_t(delta), &out)
	} else {
		st = C.kvg_incrby(h, ptr(key), C.size_t(len(key)), C.int64_t(delta), &out)
	}
	if st != C.KV_OK {
		return 0, newError(op, st, &out)
	}
	return int64(out.i64), nil
}

// IncrByFloat is Redis INCRBYFLOAT. It returns the new value as a float64
// and as the exact text Redis stores (e.g. "10.6"). ErrNotFloat if the
// value is not a number; ErrInvalidArgument for NaN or infinite input or
// result.
func (db *DB) IncrByFloat(key []byte, increment float64) (float64, string, error) {
	if math.IsNaN(increment) || math.IsInf(increment, 0) {
		return 0, "", invalid("IncrByFloat", "increment is %v", increment)
	}
	// The shortest text that parses back to the same float64.
	inc := []byte(strconv.FormatFloat(increment, 'g', -1, 64))
	h, err := db.acquire("IncrByFloat")
	if err != nil {
		return 0, "", err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	if st := C.kvg_incrbyfloat(h, ptr(key), C.size_t(len(key)), ptr(inc), C.size_t(len(inc)), &out); st != C.KV_OK {
		return 0, "", newError("IncrByFloat", st, &out)
	}
	text := string(takeBuf(&out.buf))
	f, perr := strconv.ParseFloat(text, 64)
	if perr != nil {
		// libkv computes in long double; a result beyond float64 is still
		// stored exactly, and the text is returned.
		return f, text, &Error{Op: "IncrByFloat", Code: Code(C.KV_NOT_FLOAT), Message: "result " + text + " does not fit a float64"}
	}
	return f, text, nil
}

// CompareAndDelete deletes key only if it holds exactly token, atomically:
// the safe release of a lock taken with Set NX. Reports whether it did.
func (db *DB) CompareAndDelete(key, token []byte) (bool, error) {
	h, err := db.acquire("CompareAndDelete")
	if err != nil {
		return false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_compare_and_delete(h, ptr(key), C.size_t(len(key)), ptr(token), C.size_t(len(token)), &out)
	return bool(out.flag), newError("CompareAndDelete", st, &out)
}

// CASOptions set the expiry CompareAndSwap gives the new value: at most
// one field; none means no expiry.
type CASOptions struct {
	// TTL expires the new value after this long (whole ms, >= 1 ms).
	TTL time.Duration
	// ExpireAt expires the new value at this time.
	ExpireAt time.Time
	// KeepTTL keeps the key's current expiry.
	KeepTTL bool
}

// CompareAndSwap sets key to newValue only if it holds exactly expected,
// atomically, and reports whether it did. A missing key never matches.
func (db *DB) CompareAndSwap(key, expected, newValue []byte, opts *CASOptions) (bool, error) {
	var o CASOptions
	if opts != nil {
		o = *opts
	}
	kind, t, err := expiry("CompareAndSwap", o.TTL, o.ExpireAt, o.KeepTTL)
	if err != nil {
		return false, err
	}
	h, err := db.acquire("CompareAndSwap")
	if err != nil {
		return false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_compare_and_swap(h, ptr(key), C.size_t(len(key)), ptr(expected), C.size_t(len(expected)),
		ptr(newValue), C.size_t(len(newValue)), kind, t, &out)
	return bool(out.flag), newError("CompareAndSwap", st, &out)
}

// pack lays byte strings end to end for a multi-key C call.
func pack(bs [][]byte) ([]byte, []C.size_t) {
	total := 0
	for _, b := range bs {
		total += len(b)
	}
	buf := make([]byte, 0, total)
	lens := make([]C.size_t, len(bs))
	for i, b := range bs {
		buf = append(buf, b...)
		lens[i] = C.size_t(len(b))
	}
	return buf, lens
}

// MGet is Redis MGET: the value of each key, nil where it is missing,
// expired or not a string.
func (db *DB) MGet(keys ...[]byte) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, invalid("MGet", "no keys")
	}
	buf, lens := pack(keys)
	vals := make([]C.kv_buf, len(keys))
	h, err := db.acquire("MGet")
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	if st := C.kvg_mget(h, ptr(buf), &lens[0], C.size_t(len(keys)), &vals[0], &out); st != C.KV_OK {
		return nil, newError("MGet", st, &out)
	}
	res := make([][]byte, len(keys))
	for i := range vals {
		res[i] = takeBuf(&vals[i])
	}
	return res, nil
}

// MSet is Redis MSET: sets keys[i] = values[i] for every i atomically,
// with no expiry.
func (db *DB) MSet(keys, values [][]byte) error {
	_, err := db.mset("MSet", keys, values, false)
	return err
}

// MSetNX is Redis MSETNX: sets all pairs only if none of the keys exists,
// and reports whether it did.
func (db *DB) MSetNX(keys, values [][]byte) (bool, error) {
	return db.mset("MSetNX", keys, values, true)
}

func (db *DB) mset(op string, keys, values [][]byte, nx bool) (bool, error) {
	if len(keys) != len(values) {
		return false, invalid(op, "%d keys but %d values", len(keys), len(values))
	}
	if len(keys) == 0 {
		return false, invalid(op, "no keys")
	}
	kbuf, klens := pack(keys)
	vbuf, vlens := pack(values)
	h, err := db.acquire(op)
	if err != nil {
		return false, err
	}
	defer db.mu.RUnlock()
	var out C.kvg_out
	st := C.kvg_mset(h, ptr(kbuf), &klens[0], ptr(vbuf), &vlens[0], C.size_t(len(keys)), C.bool(nx), &out)
	return bool(out.flag), newError(op, st, &out)
}
