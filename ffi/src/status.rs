//! Status codes, their messages, and the thread-local last-error message.
//!
//! Every fallible function of the C API returns a [`kv_status`]. The numbers
//! are part of the ABI: they never change meaning and new codes are only
//! appended.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};

use kv_engine::Error;

/// The result of every fallible libkv call. The numbers are stable.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_status {
    /// Success.
    KV_OK = 0,
    /// The key (or member, or next iterator item) does not exist. Not an
    /// error for lookups: it is how "missing" is reported.
    KV_NOT_FOUND = 1,
    /// A NULL pointer, an empty key, an out-of-range option, or an argument
    /// Redis would reject (the message says which).
    KV_INVALID_ARGUMENT = 2,
    /// An operating-system I/O error.
    KV_IO = 3,
    /// A file holds bytes that do not decode (bad checksum, length or magic).
    KV_CORRUPTION = 4,
    /// Another handle, in this or another process, has the directory open.
    KV_LOCKED = 5,
    /// An earlier write or fsync failed; writes are refused until reopen.
    KV_POISONED = 6,
    /// The key holds a value of another type (Redis `WRONGTYPE`).
    KV_WRONG_TYPE = 7,
    /// The value is not an integer or out of range.
    KV_NOT_INTEGER = 8,
    /// The value is not a valid float.
    KV_NOT_FLOAT = 9,
    /// An increment or decrement would overflow.
    KV_OVERFLOW = 10,
    /// The key is longer than the `max_key_size` option.
    KV_KEY_TOO_LARGE = 11,
    /// The value is longer than the `max_value_size` option.
    KV_VALUE_TOO_LARGE = 12,
    /// The batch holds more operations or bytes than the options allow.
    KV_BATCH_TOO_LARGE = 13,
    /// The caller's buffer is too small; the needed length was written to
    /// the function's length out-parameter.
    KV_BUFFER_TOO_SMALL = 14,
    /// The database handle was closed with `kv_db_close`.
    KV_CLOSED = 15,
    /// A bug inside libkv, including a Rust panic caught at the boundary.
    /// The handle stays usable; please report the message.
    KV_INTERNAL = 16,
}

/// Every status, in numeric order.
const ALL_STATUSES: [kv_status; 17] = [
    kv_status::KV_OK,
    kv_status::KV_NOT_FOUND,
    kv_status::KV_INVALID_ARGUMENT,
    kv_status::KV_IO,
    kv_status::KV_CORRUPTION,
    kv_status::KV_LOCKED,
    kv_status::KV_POISONED,
    kv_status::KV_WRONG_TYPE,
    kv_status::KV_NOT_INTEGER,
    kv_status::KV_NOT_FLOAT,
    kv_status::KV_OVERFLOW,
    kv_status::KV_KEY_TOO_LARGE,
    kv_status::KV_VALUE_TOO_LARGE,
    kv_status::KV_BATCH_TOO_LARGE,
    kv_status::KV_BUFFER_TOO_SMALL,
    kv_status::KV_CLOSED,
    kv_status::KV_INTERNAL,
];

impl kv_status {
    /// Every status, in numeric order.
    pub fn all() -> &'static [kv_status] {
        &ALL_STATUSES
    }

    /// A static, NUL-terminated description.
    fn description(self) -> &'static str {
        match self {
            kv_status::KV_OK => "ok\0",
            kv_status::KV_NOT_FOUND => "not found\0",
            kv_status::KV_INVALID_ARGUMENT => "invalid argument\0",
            kv_status::KV_IO => "I/O error\0",
            kv_status::KV_CORRUPTION => "data corruption\0",
            kv_status::KV_LOCKED => "database directory is locked by another handle\0",
            kv_status::KV_POISONED => "database is poisoned after a failed write or fsync; reopen it\0",
            kv_status::KV_WRONG_TYPE => "WRONGTYPE Operation against a key holding the wrong kind of value\0",
            kv_status::KV_NOT_INTEGER => "ERR value is not an integer or out of range\0",
            kv_status::KV_NOT_FLOAT => "ERR value is not a valid float\0",
            kv_status::KV_OVERFLOW => "ERR increment or decrement would overflow\0",
            kv_status::KV_KEY_TOO_LARGE => "key is empty or too large\0",
            kv_status::KV_VALUE_TOO_LARGE => "value too large\0",
            kv_status::KV_BATCH_TOO_LARGE => "batch too large\0",
            kv_status::KV_BUFFER_TOO_SMALL => "buffer too small\0",
            kv_status::KV_CLOSED => "database is closed\0",
            kv_status::KV_INTERNAL => "internal error (a bug in libkv)\0",
        }
    }
}

/// A failed call on its way to C: the status and the detailed message that
/// becomes the thread's last error.
#[derive(Debug)]
pub struct Fail {
    /// Status returned to C.
    pub status: kv_status,
    /// Detail for `kv_last_error_message`.
    pub message: String,
}

impl Fail {
    /// A failure with `status` and `message`.
    pub fn new(status: kv_status, message: impl Into<String>) -> Fail {
        Fail { status, message: message.into() }
    }

    /// `KV_INVALID_ARGUMENT` with `message`.
    pub fn invalid(message: impl Into<String>) -> Fail {
        Fail::new(kv_status::KV_INVALID_ARGUMENT, message)
    }

    /// `KV_NOT_FOUND`.
    pub fn not_found() -> Fail {
        Fail::new(kv_status::KV_NOT_FOUND, "not found")
    }
}

/// What a status-returning entry point's body returns.
pub type FfiResult = Result<(), Fail>;

/// The status for an engine error.
pub fn status_of(e: &Error) -> kv_status {
    match e {
        Error::Io(_) => kv_status::KV_IO,
        Error::Corruption { .. } => kv_status::KV_CORRUPTION,
        Error::Locked(_) => kv_status::KV_LOCKED,
        Error::Poisoned(_) => kv_status::KV_POISONED,
        Error::KeyTooLarge { .. } => kv_status::KV_KEY_TOO_LARGE,
        Error::ValueTooLarge { .. } => kv_status::KV_VALUE_TOO_LARGE,
        Error::BatchTooLarge { .. } => kv_status::KV_BATCH_TOO_LARGE,
        Error::Closed => kv_status::KV_CLOSED,
        Error::WrongType => kv_status::KV_WRONG_TYPE,
        Error::NotInteger => kv_status::KV_NOT_INTEGER,
        Error::NotFloat => kv_status::KV_NOT_FLOAT,
        Error::Overflow => kv_status::KV_OVERFLOW,
        Error::InvalidArgument(_) => kv_status::KV_INVALID_ARGUMENT,
        Error::Internal(_) => kv_status::KV_INTERNAL,
        // `Error` is non_exhaustive: a variant added later is reported as
        // internal until it gets its own code here.
        _ => kv_status::KV_INTERNAL,
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::new(status_of(&e), e.to_string())
    }
}

thread_local! {
    /// Message of the most recent failed call on this thread.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Makes `message` this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    // An interior NUL would truncate the C string; replace it so the rest
    // of the message survives.
    let bytes: Vec<u8> = message.bytes().map(|b| if b == 0 { b'?' } else { b }).collect();
    let c = CString::new(bytes).unwrap_or_default();
    // `try_with` fails only while the thread is being torn down; the
    // message is then unreadable anyway.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = c);
}

/// A static description of status `code` (any integer; unknown codes get
/// "unknown status code"). Never NULL.
///
/// Ownership: the returned string is static; do not free it.
#[no_mangle]
pub extern "C" fn kv_strerror(code: c_int) -> *const c_char {
    crate::ffi_boundary! {
        let text = ALL_STATUSES
            .iter()
            .find(|s| **s as c_int == code)
            .map_or("unknown status code\0", |s| s.description());
        text.as_ptr().cast::<c_char>()
    }
}

/// The detailed message of the most recent call on the calling thread that
/// returned a status other than `KV_OK` (for example the file and offset of
/// a corruption, or which argument was NULL). Successful calls do not clear
/// it. Empty ("") before the first failure. Never NULL.
///
/// Ownership: the string belongs to libkv and stays valid until the next
/// libkv call on the same thread; copy it to keep it. Do not free it.
#[no_mangle]
pub extern "C" fn kv_last_error_message() -> *const c_char {
    crate::ffi_boundary! {
        // The CString lives in the thread-local slot, so its buffer stays put
        // until the slot is next written, which only a libkv call on this
        // thread does.
        LAST_ERROR.try_with(|slot| slot.borrow().as_ptr()).unwrap_or(c"".as_ptr())
    }
}

/// Copies the last error message (see `kv_last_error_message`) into `dst`
/// as a NUL-terminated string, truncating it to `dst_cap - 1` bytes.
/// `*out_len` (if `out_len` is not NULL) receives the full message length
/// without the NUL, so a truncated copy shows as `*out_len >= dst_cap`.
///
/// Ownership: `dst` is the caller's buffer of `dst_cap` bytes; it may be
/// NULL only when `dst_cap` is 0.
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` when `dst` is NULL and
/// `dst_cap` is not 0 (this failure does not replace the last error).
///
/// # Safety
///
/// `dst` must be valid for `dst_cap` bytes of writes; `out_len` must be
/// NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn kv_last_error_copy(dst: *mut c_char, dst_cap: usize, out_len: *mut usize) -> kv_status {
    crate::ffi_boundary! {
        if dst.is_null() && dst_cap != 0 {
            return kv_status::KV_INVALID_ARGUMENT;
        }
        let msg: Vec<u8> = LAST_ERROR.try_with(|slot| slot.borrow().as_bytes().to_vec()).unwrap_or_default();
        if !out_len.is_null() {
            // SAFETY: out_len is non-NULL and, by the contract, valid for a write.
            unsafe { *out_len = msg.len() };
        }
        if dst_cap > 0 {
            let n = msg.len().min(dst_cap - 1);
            // SAFETY: dst is valid for dst_cap bytes by the contract, n < dst_cap,
            // and msg is our own buffer, so the ranges do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(msg.as_ptr(), dst.cast::<u8>(), n);
                *dst.add(n) = 0;
            }
        }
        kv_status::KV_OK
    }
}
