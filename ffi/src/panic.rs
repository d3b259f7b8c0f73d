//! The panic boundary. Unwinding into C is undefined behaviour, so every
//! `extern "C"` function wraps its body in [`ffi_boundary!`], which catches a
//! panic and returns the panic value of the function's return type, chosen
//! in one place by the [`IntoFfi`] trait: `KV_INTERNAL` for statuses, NULL
//! for pointers, zero for numbers.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::status::{kv_status, set_last_error, Fail};

/// What an entry point's body returns, and how it becomes the C return value.
pub trait IntoFfi {
    /// The C return type.
    type Out;
    /// The C return value for a body that returned normally.
    fn into_ffi(self) -> Self::Out;
    /// The C return value for a body that panicked.
    fn on_panic() -> Self::Out;
}

impl IntoFfi for Result<(), Fail> {
    type Out = kv_status;
    fn into_ffi(self) -> kv_status {
        match self {
            Ok(()) => kv_status::KV_OK,
            Err(fail) => {
                set_last_error(&fail.message);
                fail.status
            }
        }
    }
    fn on_panic() -> kv_status {
        kv_status::KV_INTERNAL
    }
}

impl IntoFfi for kv_status {
    type Out = kv_status;
    fn into_ffi(self) -> kv_status {
        self
    }
    fn on_panic() -> kv_status {
        kv_status::KV_INTERNAL
    }
}

impl<T> IntoFfi for *const T {
    type Out = *const T;
    fn into_ffi(self) -> *const T {
        self
    }
    fn on_panic() -> *const T {
        std::ptr::null()
    }
}

impl<T> IntoFfi for *mut T {
    type Out = *mut T;
    fn into_ffi(self) -> *mut T {
        self
    }
    fn on_panic() -> *mut T {
        std::ptr::null_mut()
    }
}

impl IntoFfi for usize {
    type Out = usize;
    fn into_ffi(self) -> usize {
        self
    }
    fn on_panic() -> usize {
        0
    }
}

impl IntoFfi for u32 {
    type Out = u32;
    fn into_ffi(self) -> u32 {
        self
    }
    fn on_panic() -> u32 {
        0
    }
}

impl IntoFfi for () {
    type Out = ();
    fn into_ffi(self) {}
    fn on_panic() {}
}

/// Runs `body`, turning a panic into `R::on_panic()` and recording the panic
/// message as the thread's last error. Used through [`ffi_boundary!`].
pub fn boundary<R: IntoFfi>(body: impl FnOnce() -> R) -> R::Out {
    // AssertUnwindSafe: after a panic the only state C can observe is the
    // handle, whose locks (parking_lot) do not poison and whose engine
    // state is updated only at commit; a half-done call leaves it usable.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r.into_ffi(),
        Err(payload) => {
            set_last_error(&format!("panic inside libkv: {}", panic_message(payload.as_ref())));
            R::on_panic()
        }
    }
}

/// The text of a panic payload, when it has one.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// Wraps the body of an `extern "C"` function: `ffi_boundary! { ... }`.
/// A `return` inside returns from the body, with the body's type.
#[macro_export]
#[doc(hidden)]
macro_rules! ffi_boundary {
    ( $($body:tt)* ) => {
        $crate::panic::boundary(move || { $($body)* })
    };
}

/// Wraps the body of a status-returning `extern "C"` function; the body is
/// a [`crate::status::FfiResult`] expression (`?` works inside).
#[macro_export]
#[doc(hidden)]
macro_rules! ffi_status {
    ( $($body:tt)* ) => {
        $crate::panic::boundary(move || -> $crate::status::FfiResult { $($body)* })
    };
}

/// Test hook: panics inside the boundary when `should_panic` is true,
/// otherwise returns `KV_OK`. Lets the Rust and C tests prove that a panic
/// becomes `KV_INTERNAL` and never unwinds into C. Not in `kv.h`.
#[doc(hidden)]
#[no_mangle]
pub extern "C" fn kv_test_panic(should_panic: bool) -> kv_status {
    ffi_status! {
        if should_panic {
            panic!("kv_test_panic: deliberate panic");
        }
        Ok(())
    }
}
