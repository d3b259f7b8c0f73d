//! Score text conversions: parsing score arguments the way Redis does and
//! formatting score replies byte-for-byte like Redis 7.2+ (`addReplyDouble`,
//! which prints shortest round-trip digits laid out by `fpconv_dtoa`).

use crate::{Error, Result};

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `strtod(s, &end)` followed by Redis's `*end == '\0'` test: the whole
/// input must convert, leading whitespace allowed, an empty input reads as 0
/// (strtod converts nothing and stops at the terminator). Returns `None` if
/// characters are left over. NaN and infinities pass through; hexadecimal
/// floats are not supported.
pub(crate) fn strtod_full(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s.iter().position(|&b| !is_c_space(b))?;
    let text = std::str::from_utf8(&s[start..]).ok()?;
    // Both Rust and strtod accept signs, `inf`/`infinity`/`nan` in any case,
    // `1.`, `.5` and exponents; strtod's hex floats are not supported.
    text.parse::<f64>().ok()
}

/// Parses a score argument of `ZADD`/`ZINCRBY` (or a `WEIGHTS` value) like
/// Redis `getDoubleFromObject`/`string2d`: no leading whitespace, no
/// trailing garbage, not empty, not NaN, no overflow to ±inf (`1e400`) and no
/// underflow to zero (`1e-400`); `inf`, `-inf`, `+inf` are fine.
///
/// # Errors
///
/// [`Error::NotFloat`] ("ERR value is not a valid float").
pub fn parse_score(arg: &[u8]) -> Result<f64> {
    if arg.is_empty() || is_c_space(arg[0]) {
        return Err(Error::NotFloat);
    }
    let v = strtod_full(arg).ok_or(Error::NotFloat)?;
    if v.is_nan() {
        return Err(Error::NotFloat);
    }
    let mantissa = arg.split(|&b| b == b'e' || b == b'E').next().unwrap_or(arg);
    let literal_inf = arg.iter().any(|&b| b == b'i' || b == b'I');
    if v.is_infinite() && !literal_inf {
        return Err(Error::NotFloat); // ERANGE overflow
    }
    if v == 0.0 && mantissa.iter().any(|b| (b'1'..=b'9').contains(b)) {
        return Err(Error::NotFloat); // ERANGE underflow
    }
    Ok(v)
}

/// Formats a score as Redis 7.2+ replies it: `inf`, `-inf`, `0`, `-0`, else
/// the shortest digits that round-trip, laid out like Redis's
/// `fpconv_dtoa`: plain integers up to 7 trailing zeros beyond the digits
/// (`1e7` → `"10000000"`, `1e20` → `"1e+20"`), plain decimals when the
/// exponent is small (`0.1`, `1.5`, `0.000001`), otherwise scientific
/// notation with an unpadded exponent (`1e-7`, `1.5e+300`).
pub fn format_score(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_owned();
    }
    let neg = v.is_sign_negative();
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    let a = v.abs();
    if a == 0.0 {
        out.push('0');
        return out;
    }
    if a.is_infinite() {
        out.push_str("inf");
        return out;
    }
    // `{:e}` prints the shortest round-trip digits as `d.ddde<exp>`.
    let sci = format!("{a:e}");
    let (mant, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let digits: String = mant.chars().filter(|&c| c != '.').collect();
    let exp10: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let ndigits = digits.len() as i32;
    // Value = digits * 10^k.
    let k = exp10 - (ndigits - 1);
    let e = exp10.abs();
    if k >= 0 && e < ndigits + 7 {
        out.push_str(&digits);
        out.push_str(&"0".repeat(k as usize));
    } else if k < 0 && (k > -7 || e < 4) {
        let offset = ndigits + k;
        if offset <= 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat((-offset) as usize));
            out.push_str(&digits);
        } else {
            out.push_str(&digits[..offset as usize]);
            out.push('.');
            out.push_str(&digits[offset as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if ndigits > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp10 < 0 { '-' } else { '+' });
        out.push_str(&e.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zset_format_score_like_redis() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-2.25, "-2.25"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (10.0, "10"),
            (1e7, "10000000"),
            (1e8, "1e+8"),
            (12345678.0, "12345678"),
            (123456789012.0, "123456789012"),
            (1e17, "1e+17"),
            (1e20, "1e+20"),
            (1.5e300, "1.5e+300"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (0.001234, "0.001234"),
            (0.0001234, "1.234e-4"),
            (123.456, "123.456"),
            (2.71, "2.71"),
            (1.0 / 3.0, "0.3333333333333333"),
            (9007199254740993.0, "9007199254740992"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for &(v, want) in cases {
            assert_eq!(format_score(v), want, "formatting {v:e}");
        }
    }

    #[test]
    fn zset_format_score_round_trips() {
        let mut rng = fastrand::Rng::with_seed(42);
        for _ in 0..10_000 {
            let v = f64::from_bits(rng.u64(..));
            if v.is_nan() {
                continue;
            }
            let s = format_score(v);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
        }
    }

    #[test]
    fn zset_parse_score_like_redis() {
        assert_eq!(parse_score(b"1").unwrap(), 1.0);
        assert_eq!(parse_score(b"-1.5").unwrap(), -1.5);
        assert_eq!(parse_score(b"+inf").unwrap(), f64::INFINITY);
        assert_eq!(parse_score(b"-inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_score(b"inf").unwrap(), f64::INFINITY);
        assert_eq!(parse_score(b"1e3").unwrap(), 1000.0);
        assert_eq!(parse_score(b"0e5").unwrap(), 0.0);
        for bad in [&b""[..], b" 1", b"1 ", b"abc", b"nan", b"NaN", b"1e400", b"-1e400", b"1e-400", b"1e", b"--1"] {
            assert!(matches!(parse_score(bad), Err(Error::NotFloat)), "{bad:?}");
        }
    }
}
