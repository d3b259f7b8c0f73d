package kv

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// ABIVersion is the libkv ABI version (KV_ABI_VERSION of kv.h) this
// package was written for: the C structs it allocates and libkv fills
// (kv_compaction_summary, kv_stats, ...) have that version's layout. Bump
// it together with those structs, in the commit that bumps KV_ABI_VERSION.
const ABIVersion = 2

// The kv.h this package is compiled against must describe ABIVersion: an
// index out of range (a compile error) otherwise.
var _ = [1]struct{}{}[C.KV_ABI_VERSION-ABIVersion]

// ErrABIMismatch: the linked libkv implements another ABI version than this
// package was written for, so libkv would write past the end of the structs
// the package gives it. Open returns an error wrapping it.
var ErrABIMismatch = errors.New("kv: libkv ABI version mismatch")

// abiErr is the result of the load-time check; Open refuses to run while
// it is set, so no call that hands libkv a struct is ever made.
var abiErr = checkABI(LibraryABIVersion(), ABIVersion)

// LibraryABIVersion is the ABI version of the linked libkv
// (kv_abi_version), which Open requires to equal ABIVersion.
func LibraryABIVersion() uint32 { return uint32(C.kv_abi_version()) }

// checkABI is nil when the library's version equals the wanted one, else an
// error naming both and wrapping ErrABIMismatch.
func checkABI(library, want uint32) error {
	if library == want {
		return nil
	}
	return fmt.Errorf("%w: the linked libkv has ABI version %d, but this Go package was written for ABI version %d; "+
		"build against the libkv (and kv.h) of the same release", ErrABIMismatch, library, want)
}
