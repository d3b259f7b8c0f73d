//! The ABI version: one number that changes whenever a program compiled
//! against an older `kv.h` could no longer use this library safely.
//!
//! Why one number and not a size per struct: callers allocate several
//! structs that libkv fills (`kv_compaction_summary`, `kv_stats`, ...) or
//! reads (`kv_set_args`, `kv_zrange_args`, ...). A field added to one makes
//! libkv write (or read) past the end of a caller's older, smaller struct,
//! and nothing at link time notices. So every binding compares
//! `kv_abi_version()` with the version it was written for when it loads
//! and refuses to run on a mismatch.
//!
//! The rule: bump [`KV_ABI_VERSION`] with every change that a caller built
//! against the previous header would get wrong:
//! - any change to a struct defined in `kv.h` (fields added, removed,
//!   reordered, retyped; array lengths such as `KV_GROUP_COMMIT_BUCKETS`);
//! - a changed function signature or a removed function;
//! - a changed meaning of an enum value, flag or constant.
//!
//! Adding a new function, or appending a `kv_status` code, does not bump
//! it: old callers never see either. The shared library's soname is
//! `libkv.so.<KV_ABI_VERSION>` (`ffi/build.rs` and `mk/ffi.mk` parse the
//! definition below: keep it on one line). `ffi/tests/abi_version.rs` fails when
//! the structs of `include/kv.h` change while the version does not.
//!
//! History: 1 = every libkv before `kv_abi_version` existed; 2 =
//! `kv_compaction_summary` gained `removal_ms` and
//! `inputs_copied_from_index`.

/// The ABI version this header describes. Compare it with
/// `kv_abi_version()` at startup: a program must not call anything else in
/// a library whose version differs (see `kv_abi_version`). Bumped by every
/// change to a struct of this header, a function signature, or the meaning
/// of a value; never by added functions or appended status codes.
pub const KV_ABI_VERSION: u32 = 2;

/// The ABI version of the loaded library (its `KV_ABI_VERSION`), never 0.
///
/// Call it first and compare with the `KV_ABI_VERSION` of the header the
/// program was compiled with:
///
/// ```c
/// if (kv_abi_version() != KV_ABI_VERSION) {
///     fprintf(stderr, "libkv ABI %u, built for %u\n", kv_abi_version(), KV_ABI_VERSION);
///     return 1;
/// }
/// ```
///
/// On a mismatch the layout of at least one struct differs between the
/// header and the library, so no other libkv function may be called: one
/// filling a struct could write past the end of the caller's copy. A
/// library older than this function lacks the symbol (ABI version 1).
#[no_mangle]
pub extern "C" fn kv_abi_version() -> u32 {
    crate::ffi_boundary! {
        KV_ABI_VERSION
    }
}
