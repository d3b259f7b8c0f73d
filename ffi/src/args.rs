//! Checked conversion of C arguments into Rust references. Every entry point
//! goes through these, so a NULL pointer or an impossible length becomes
//! `KV_INVALID_ARGUMENT` naming the parameter, never undefined behaviour
//! on our side.

use std::ffi::{c_char, CStr};

use crate::status::Fail;

/// Longest length a slice may have (`slice::from_raw_parts` requires it).
const MAX_LEN: usize = isize::MAX as usize;

/// The bytes `ptr[0..len]`. NULL is accepted only with `len == 0` (an empty
/// value or prefix).
///
/// # Safety
///
/// A non-NULL `ptr` must be valid for `len` bytes of reads for `'a`.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], Fail> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(Fail::invalid(format!("{name} is NULL but its length is {len}"))) };
    }
    if len > MAX_LEN {
        return Err(Fail::invalid(format!("{name} length {len} is impossibly large")));
    }
    // SAFETY: ptr is non-NULL and, by the contract, valid for len bytes; len
    // is at most isize::MAX.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A key: non-NULL and non-empty. (Too long is the engine's check, so that
/// it is measured against the database's own limit.)
///
/// # Safety
///
/// As [`bytes`].
pub unsafe fn key<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], Fail> {
    if ptr.is_null() {
        return Err(Fail::invalid(format!("{name} is NULL")));
    }
    if len == 0 {
        return Err(Fail::invalid(format!("{name} is empty")));
    }
    // SAFETY: forwarded contract.
    unsafe { bytes(ptr, len, name) }
}

/// A NUL-terminated string.
///
/// # Safety
///
/// A non-NULL `ptr` must point at a NUL-terminated string valid for `'a`.
pub unsafe fn c_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a CStr, Fail> {
    if ptr.is_null() {
        return Err(Fail::invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by the contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// A required out-parameter.
///
/// # Safety
///
/// A non-NULL `ptr` must be valid for writes of `T` for `'a`.
pub unsafe fn out<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Fail> {
    // SAFETY: by the contract a non-NULL ptr is valid and writable.
    unsafe { ptr.as_mut() }.ok_or_else(|| Fail::invalid(format!("{name} is NULL")))
}

/// An optional out-parameter: `None` when NULL.
///
/// # Safety
///
/// As [`out`].
pub unsafe fn out_opt<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    // SAFETY: by the contract a non-NULL ptr is valid and writable.
    unsafe { ptr.as_mut() }
}

/// A handle the caller passes back to us.
///
/// # Safety
///
/// A non-NULL `ptr` must have been returned by the matching libkv
/// constructor and not yet freed.
pub unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Fail> {
    // SAFETY: by the contract a non-NULL ptr points at a live handle.
    unsafe { ptr.as_ref() }.ok_or_else(|| Fail::invalid(format!("{name} is NULL")))
}
