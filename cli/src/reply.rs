//! Command replies and how they are printed: exactly as `redis-cli` prints
//! RESP2 replies on a terminal (`(nil)`, `(integer) 1`, `"value"`, numbered
//! lists), raw like `redis-cli --raw`, or as JSON for scripts.

use std::fmt::Write as _;

/// The reply of one command, shaped like a RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A status reply such as `OK` (printed without quotes).
    Status(String),
    /// An error reply; the text starts with its Redis code (`ERR`, `WRONGTYPE`).
    Error(String),
    /// An integer reply.
    Integer(i64),
    /// A bulk string.
    Bulk(Vec<u8>),
    /// The nil bulk string.
    Nil,
    /// An array (possibly nested).
    Array(Vec<Reply>),
    /// Free text (`help`), printed as is.
    Text(String),
    /// The result of an operation (`stats`, `verify`, `dump`, ...): text for
    /// people, an object for `--json`.
    Report {
        /// Human-readable form.
        text: String,
        /// Machine-readable form.
        json: serde_json::Value,
    },
}

impl Reply {
    /// `OK`.
    pub fn ok() -> Reply {
        Reply::Status("OK".into())
    }

    /// A bulk string from text.
    pub fn bulk(s: impl Into<Vec<u8>>) -> Reply {
        Reply::Bulk(s.into())
    }

    /// A bulk string or nil.
    pub fn opt_bulk(v: Option<Vec<u8>>) -> Reply {
        v.map_or(Reply::Nil, Reply::Bulk)
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// How replies are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `redis-cli` on a terminal.
    Tty,
    /// `redis-cli --raw`: values as they are, one per line.
    Raw,
    /// One JSON value per reply.
    Json,
}

/// Formats `reply` in `format`, ending with a newline.
pub fn format(reply: &Reply, format: Format) -> String {
    match format {
        Format::Tty => {
            let mut out = String::new();
            format_tty(reply, "", &mut out);
            out
        }
        Format::Raw => {
            let mut out = String::new();
            format_raw(reply, &mut out);
            out
        }
        Format::Json => {
            let mut s = to_json(reply).to_string();
            s.push('\n');
            s
        }
    }
}

/// `redis-cli`'s `cliFormatReplyTTY`.
fn format_tty(reply: &Reply, prefix: &str, out: &mut String) {
    match reply {
        Reply::Status(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Reply::Error(e) => {
            let _ = writeln!(out, "(error) {e}");
        }
        Reply::Integer(i) => {
            let _ = writeln!(out, "(integer) {i}");
        }
        Reply::Bulk(b) => {
            out.push_str(&repr(b));
            out.push('\n');
        }
        Reply::Nil => out.push_str("(nil)\n"),
        Reply::Text(t) | Reply::Report { text: t, .. } => {
            out.push_str(t);
            if !t.ends_with('\n') {
                out.push('\n');
            }
        }
        Reply::Array(items) if items.is_empty() => out.push_str("(empty array)\n"),
        Reply::Array(items) => {
            // Index width is that of the largest index; nested arrays are
            // indented by that width plus ") ".
            let idx_len = items.len().to_string().len();
            let child_prefix = format!("{prefix}{}", " ".repeat(idx_len + 2));
            for (i, item) in items.iter().enumerate() {
                let lead = if i == 0 { "" } else { prefix };
                let _ = write!(out, "{lead}{:>idx_len$}) ", i + 1);
                format_tty(item, &child_prefix, out);
            }
        }
    }
}

/// `redis-cli --raw` (`cliFormatReplyRaw`).
fn format_raw(reply: &Reply, out: &mut String) {
    match reply {
        Reply::Status(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Reply::Error(e) => {
            out.push_str(e);
            out.push('\n');
        }
        Reply::Integer(i) => {
            let _ = writeln!(out, "{i}");
        }
        Reply::Bulk(b) => {
            out.push_str(&String::from_utf8_lossy(b));
            out.push('\n');
        }
        Reply::Nil => out.push('\n'),
        Reply::Text(t) | Reply::Report { text: t, .. } => {
            out.push_str(t);
            if !t.ends_with('\n') {
                out.push('\n');
            }
        }
        Reply::Array(items) => {
            for item in items {
                format_raw(item, out);
            }
        }
    }
}

/// `sdscatrepr`: a quoted, escaped rendering of `bytes`.
pub fn repr(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    s
}

/// The JSON form of a reply: nil → `null`, integers → numbers, bulk strings
/// → strings (invalid UTF-8 replaced by U+FFFD), arrays → arrays, a status
/// → its text, an error → `{"error": "..."}`.
pub fn to_json(reply: &Reply) -> serde_json::Value {
    use serde_json::Value;
    match reply {
        Reply::Status(s) | Reply::Text(s) => Value::String(s.clone()),
        Reply::Error(e) => serde_json::json!({ "error": e }),
        Reply::Integer(i) => Value::from(*i),
        Reply::Bulk(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Reply::Nil => Value::Null,
        Reply::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Reply::Report { json, .. } => json.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tty(r: &Reply) -> String {
        format(r, Format::Tty)
    }

    #[test]
    fn scalars_print_like_redis_cli() {
        assert_eq!(tty(&Reply::ok()), "OK\n");
        assert_eq!(tty(&Reply::Nil), "(nil)\n");
        assert_eq!(tty(&Reply::Integer(-2)), "(integer) -2\n");
        assert_eq!(tty(&Reply::bulk("a\"b\n\x01é")), "\"a\\\"b\\n\\x01\\xc3\\xa9\"\n");
        assert_eq!(tty(&Reply::Error("ERR x".into())), "(error) ERR x\n");
        assert_eq!(tty(&Reply::Array(vec![])), "(empty array)\n");
    }

    #[test]
    fn arrays_align_indexes_and_indent_nested_arrays() {
        let ten: Vec<Reply> = (0..10).map(|i| Reply::bulk(format!("m{i}"))).collect();
        let out = tty(&Reply::Array(ten));
        assert!(out.starts_with(" 1) \"m0\"\n 2) \"m1\"\n"), "{out}");
        assert!(out.ends_with("10) \"m9\"\n"), "{out}");
        let nested = Reply::Array(vec![
            Reply::Array(vec![Reply::bulk("a"), Reply::bulk("1")]),
            Reply::Array(vec![Reply::bulk("b"), Reply::bulk("2")]),
        ]);
        assert_eq!(tty(&nested), "1) 1) \"a\"\n   2) \"1\"\n2) 1) \"b\"\n   2) \"2\"\n");
    }

    #[test]
    fn json_and_raw_forms() {
        let r = Reply::Array(vec![Reply::bulk("a"), Reply::Nil, Reply::Integer(3)]);
        assert_eq!(format(&r, Format::Json), "[\"a\",null,3]\n");
        assert_eq!(format(&r, Format::Raw), "a\n\n3\n");
        assert_eq!(format(&Reply::Error("ERR x".into()), Format::Json), "{\"error\":\"ERR x\"}\n");
    }
}
