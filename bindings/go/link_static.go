//go:build !libkv_pkgconfig

package kv

// Default build: the static libkv.a built in this repository by `make lib`
// (target/release/libkv.a). The extra libraries are what the Rust standard
// library needs (rustc --print native-static-libs).

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libkv.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
*/
import "C"
