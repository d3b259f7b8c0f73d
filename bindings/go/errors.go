package kv

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Code is a libkv status code (the C kv_status; the numbers are stable).
// Every non-OK code is itself an error, so errors.Is(err, kv.ErrWrongType)
// matches any *Error carrying that code.
type Code int

// Error returns the static description libkv gives the code.
func (c Code) Error() string {
	return "kv: " + C.GoString(C.kv_strerror(C.int(c)))
}

// The status codes of libkv, usable with errors.Is.
var (
	// ErrNotFound: the key (or member) does not exist or has expired.
	ErrNotFound error = Code(C.KV_NOT_FOUND)
	// ErrInvalidArgument: an empty key, an out-of-range option, or an
	// argument Redis would reject (the message says which).
	ErrInvalidArgument error = Code(C.KV_INVALID_ARGUMENT)
	// ErrIO: an operating-system I/O error.
	ErrIO error = Code(C.KV_IO)
	// ErrCorruption: a file holds bytes that do not decode.
	ErrCorruption error = Code(C.KV_CORRUPTION)
	// ErrLocked: another handle, in this or another process, has the
	// directory open.
	ErrLocked error = Code(C.KV_LOCKED)
	// ErrPoisoned: an earlier write or fsync failed; writes are refused
	// until the database is reopened.
	ErrPoisoned error = Code(C.KV_POISONED)
	// ErrWrongType: the key holds a value of another type (Redis WRONGTYPE).
	ErrWrongType error = Code(C.KV_WRONG_TYPE)
	// ErrNotInteger: the value is not an integer or is out of range.
	ErrNotInteger error = Code(C.KV_NOT_INTEGER)
	// ErrNotFloat: the value is not a valid float.
	ErrNotFloat error = Code(C.KV_NOT_FLOAT)
	// ErrOverflow: an increment or decrement would overflow.
	ErrOverflow error = Code(C.KV_OVERFLOW)
	// ErrKeyTooLarge: the key is longer than Options.MaxKeySizeBytes.
	ErrKeyTooLarge error = Code(C.KV_KEY_TOO_LARGE)
	// ErrValueTooLarge: the value is longer than Options.MaxValueSizeBytes.
	ErrValueTooLarge error = Code(C.KV_VALUE_TOO_LARGE)
	// ErrBatchTooLarge: the batch holds more operations or bytes than the
	// options allow.
	ErrBatchTooLarge error = Code(C.KV_BATCH_TOO_LARGE)
	// ErrClosed: the database was closed.
	ErrClosed error = Code(C.KV_CLOSED)
	// ErrInternal: a bug inside libkv (including a caught Rust panic).
	ErrInternal error = Code(C.KV_INTERNAL)
)

// Error is a failed libkv call: the operation, the status code and the
// detailed message libkv gave (for example the file and offset of a
// corruption). errors.Is(err, kv.ErrX) compares the code.
type Error struct {
	// Op is the Go method that failed, e.g. "Get".
	Op string
	// Code is the libkv status.
	Code Code
	// Message is libkv's detailed message; may be empty.
	Message string
}

// Error formats the failure as "kv: Op: message (description)".
func (e *Error) Error() string {
	desc := C.GoString(C.kv_strerror(C.int(e.Code)))
	if e.Message == "" {
		return fmt.Sprintf("kv: %s: %s", e.Op, desc)
	}
	return fmt.Sprintf("kv: %s: %s (%s)", e.Op, e.Message, desc)
}

// Unwrap returns the Code, which is what errors.Is matches.
func (e *Error) Unwrap() error { return e.Code }

// newError builds the error of a call that returned st, taking the message
// the shim copied into out (and freeing it). ErrNotFound is returned bare:
// it is an answer, not a failure, and carries no message.
func newError(op string, st C.kv_status, out *C.kvg_out) error {
	if st == C.KV_OK {
		return nil
	}
	if st == C.KV_NOT_FOUND {
		return ErrNotFound
	}
	msg := ""
	if out != nil && out.msg != nil {
		msg = C.GoString(out.msg)
		C.kvg_msg_free(out.msg)
		out.msg = nil
	}
	return &Error{Op: op, Code: Code(st), Message: msg}
}

// invalid is an argument error found on the Go side, typed like libkv's.
func invalid(op, format string, args ...any) error {
	return &Error{Op: op, Code: Code(C.KV_INVALID_ARGUMENT), Message: fmt.Sprintf(format, args...)}
}

// closedError is the error of a call on a closed *DB.
func closedError(op string) error {
	return &Error{Op: op, Code: Code(C.KV_CLOSED), Message: "database is closed"}
}

// ptr is the address of b's bytes for a C call. An empty b gives a
// pointer to a static C byte rather than NULL, so that libkv reports an
// empty key as "empty" (NULL would read as "key is NULL", which a Go
// caller never passes).
func ptr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return &C.kvg_empty[0]
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

// takeBuf copies a libkv-owned buffer into Go memory and frees it.
func takeBuf(b *C.kv_buf) []byte {
	if b.data == nil {
		return nil
	}
	out := make([]byte, int(b.len))
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(b.data)), int(b.len)))
	C.kv_buf_free(b)
	return out
}

// copySlice copies bytes borrowed from libkv into Go memory.
func copySlice(s C.kv_slice) []byte {
	out := make([]byte, int(s.len))
	if s.len > 0 {
		copy(out, unsafe.Slice((*byte)(unsafe.Pointer(s.data)), int(s.len)))
	}
	return out
}
