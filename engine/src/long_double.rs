//! Redis's `INCRBYFLOAT` arithmetic: parse with `strtold`, add in
//! `long double`, print with `"%.17Lf"` and trim trailing zeros.
//!
//! Done by a 60-line C helper (`csrc/long_double.c`, a transcription of
//! Redis's `string2ld`/`ld2string`) because Rust has no `long double`, and
//! `f64` prints differently from Redis (10.5 + 0.1 → `10.59999999999999964`
//! instead of `10.6`).

use std::os::raw::{c_char, c_int};

use crate::error::{Error, Result};

/// Longest formatted result: Redis's `MAX_LONG_DOUBLE_CHARS`.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

extern "C" {
    fn kv_ld_add_human(
        cur: *const c_char,
        cur_len: usize,
        has_cur: c_int,
        incr: *const c_char,
        incr_len: usize,
        out: *mut c_char,
        out_cap: usize,
        out_len: *mut usize,
    ) -> c_int;
}

/// `current + increment` in Redis's `long double` arithmetic, formatted as
/// Redis stores and returns it. `current == None` counts as 0 (missing key).
///
/// Errors: [`Error::NotFloat`] if either is not a float Redis accepts
/// (leading space, trailing garbage, NaN, empty, ≥ 5 KiB, overflow on
/// parse); `ERR increment would produce NaN or Infinity` for an infinite sum.
pub fn add_human(current: Option<&[u8]>, increment: &[u8]) -> Result<String> {
    let mut out = vec![0u8; MAX_LONG_DOUBLE_CHARS];
    let mut out_len = 0usize;
    let (cur_ptr, cur_len) = current.map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len()));
    // SAFETY: every pointer is valid for its stated length for the duration
    // of the call (slices borrowed here; a null `cur` is never read because
    // `has_cur` is 0 then); the helper writes at most `out.len()` bytes to
    // `out` and one usize to `out_len`, and keeps no pointer after returning.
    let rc = unsafe {
        kv_ld_add_human(
            cur_ptr.cast(),
            cur_len,
            c_int::from(current.is_some()),
            increment.as_ptr().cast(),
            increment.len(),
            out.as_mut_ptr().cast(),
            out.len(),
            &mut out_len,
        )
    };
    match rc {
        0 if out_len <= out.len() => {
            out.truncate(out_len);
            String::from_utf8(out).map_err(|_| Error::Internal("printf produced non-UTF-8".into()))
        }
        1 => Err(Error::NotFloat),
        2 => Err(Error::invalid("ERR increment would produce NaN or Infinity")),
        _ => Err(Error::Internal(format!("long double formatting failed ({rc})"))),
    }
}

/// Formats a float string the way Redis prints an `INCRBYFLOAT` result
/// (`"5.0e3"` → `"5000"`, `"3.0"` → `"3"`): `add_human(None, s)`.
pub fn format_human(s: &[u8]) -> Result<String> {
    add_human(None, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_documented_examples() {
        // From the INCRBYFLOAT page: SET mykey 10.50; INCRBYFLOAT mykey 0.1 → 10.6,
        // INCRBYFLOAT mykey -5 → 5.6; SET mykey 5.0e3; INCRBYFLOAT mykey 2.0e2 → 5200.
        assert_eq!(add_human(Some(b"10.50"), b"0.1").unwrap(), "10.6");
        assert_eq!(add_human(Some(b"10.6"), b"-5").unwrap(), "5.6");
        assert_eq!(add_human(Some(b"5.0e3"), b"2.0e2").unwrap(), "5200");
        assert_eq!(format_human(b"5.0e3").unwrap(), "5000");
        assert_eq!(format_human(b"3").unwrap(), "3");
        assert_eq!(add_human(Some(b"0.1"), b"0.2").unwrap(), "0.3");
        assert_eq!(add_human(None, b"1.5").unwrap(), "1.5");
    }

    #[test]
    fn negative_zero_prints_as_zero() {
        assert_eq!(add_human(Some(b"1"), b"-1").unwrap(), "0");
        assert_eq!(format_human(b"-0.0").unwrap(), "0");
    }

    #[test]
    fn rejects_what_string2ld_rejects() {
        for bad in [&b""[..], b" 1", b"1 ", b"abc", b"nan", b"1.0x", b"1e99999"] {
            assert!(matches!(add_human(Some(bad), b"1"), Err(Error::NotFloat)), "{bad:?}");
            assert!(matches!(add_human(None, bad), Err(Error::NotFloat)), "{bad:?}");
        }
        assert!(matches!(add_human(None, &vec![b'1'; MAX_LONG_DOUBLE_CHARS]), Err(Error::NotFloat)));
    }

    /// Found by the Python binding's differential test against redis-server:
    /// SETRANGE can leave a NUL in a value, and "\0" + "0" parsed as 0.
    #[test]
    fn embedded_nul_is_not_a_float() {
        for bad in [&b"\x000"[..], b"\x00", b"1\x00", b"1\x002"] {
            assert!(matches!(add_human(Some(bad), b"0.5"), Err(Error::NotFloat)), "{bad:?}");
            assert!(matches!(add_human(None, bad), Err(Error::NotFloat)), "{bad:?}");
        }
    }

    #[test]
    fn infinity_is_refused() {
        let e = add_human(Some(b"1"), b"inf").unwrap_err();
        assert_eq!(e.to_string(), "ERR increment would produce NaN or Infinity");
        // +inf + -inf is NaN.
        assert!(add_human(Some(b"inf"), b"-inf").is_err());
    }

    #[test]
    fn accepts_strtold_forms() {
        assert_eq!(format_human(b"+1.5").unwrap(), "1.5");
        assert_eq!(format_human(b".5").unwrap(), "0.5");
        assert_eq!(format_human(b"0x10").unwrap(), "16");
    }
}
