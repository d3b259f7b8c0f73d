//go:build libkv_pkgconfig

package kv

// With `-tags libkv_pkgconfig`: an installed libkv found by pkg-config
// (`make install PREFIX=...`, then PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig).
// This links the shared libkv.so, so LD_LIBRARY_PATH (or an rpath) must
// find it at run time.

/*
#cgo pkg-config: libkv
*/
import "C"
