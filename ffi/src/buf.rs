//! Byte buffers crossing the boundary: [`kv_buf`] (owned by the caller, freed
//! with `kv_buf_free`) and [`kv_slice`] (borrowed from a libkv object).

/// Bytes allocated by libkv and owned by the caller, who must release them
/// with `kv_buf_free` (never with `free`). `data` is never NULL for a buffer
/// filled by libkv, also when `len` is 0.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct kv_buf {
    /// First byte.
    pub data: *mut u8,
    /// Number of bytes.
    pub len: usize,
}

impl kv_buf {
    /// The empty, unallocated buffer `{NULL, 0}`.
    pub const EMPTY: kv_buf = kv_buf { data: std::ptr::null_mut(), len: 0 };

    /// Hands `bytes` to the caller.
    pub fn from_vec(bytes: Vec<u8>) -> kv_buf {
        let boxed: Box<[u8]> = bytes.into_boxed_slice();
        let len = boxed.len();
        // Box<[u8]> of length 0 holds a dangling, non-NULL pointer and owns
        // no allocation; kv_buf_free rebuilds the same Box, so that is fine.
        let data = Box::into_raw(boxed).cast::<u8>();
        kv_buf { data, len }
    }
}

/// Bytes borrowed from a libkv object (for example the current item of a
/// `kv_iter`). Valid only as long as the function that filled it says;
/// never freed by the caller.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
pub struct kv_slice {
    /// First byte; not NULL when filled by libkv.
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl kv_slice {
    /// A slice borrowing `bytes`.
    pub fn of(bytes: &[u8]) -> kv_slice {
        kv_slice { data: bytes.as_ptr(), len: bytes.len() }
    }
}

/// Releases the bytes of `buf` (filled by a libkv function) and resets it to
/// `{NULL, 0}`, so a second call is harmless. `buf` may be NULL, and
/// `{NULL, 0}` is accepted, so freeing an untouched zeroed buffer is fine.
///
/// Ownership: takes back the bytes `buf->data` points at; `buf` itself
/// (the struct) stays the caller's.
///
/// # Safety
///
/// `buf` must be NULL or point at a `kv_buf` that is `{NULL, 0}` or was
/// filled by libkv and not modified since.
#[no_mangle]
pub unsafe extern "C" fn kv_buf_free(buf: *mut kv_buf) {
    crate::ffi_boundary! {
        // SAFETY: NULL or a valid kv_buf by the contract.
        let Some(buf) = (unsafe { buf.as_mut() }) else { return };
        if !buf.data.is_null() {
            // SAFETY: data/len came from Box::<[u8]>::into_raw in from_vec
            // and were not modified (contract), so this rebuilds that Box.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buf.data, buf.len)) });
        }
        *buf = kv_buf::EMPTY;
    }
}
