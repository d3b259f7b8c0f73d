//! The interactive mode: a `redis-cli`-like prompt with history and line
//! editing on a terminal, or one command per line from a pipe.

use std::io::{BufRead, Write};

use crate::commands::{self, Session};
use crate::failure::{Failure, EXIT_OK};
use crate::reply::{self, Format, Reply};

/// Splits a command line into arguments like `redis-cli` (`sdssplitargs`):
/// words separated by blanks; `"..."` with `\n \r \t \b \a \\ \" \xHH`
/// escapes; `'...'` with only `\'`. A closing quote must be followed by a
/// blank or the end. `None` for unbalanced quotes.
pub fn split_args(line: &str) -> Option<Vec<Vec<u8>>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                let c = *b.get(i)?;
                if c == b'\\'
                    && b.get(i + 1) == Some(&b'x')
                    && i + 3 < b.len()
                    && b[i + 2].is_ascii_hexdigit()
                    && b[i + 3].is_ascii_hexdigit()
                {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok()?;
                    cur.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 3;
                } else if c == b'\\' && i + 1 < b.len() {
                    i += 1;
                    cur.push(match b[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if b.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                let c = *b.get(i)?;
                if c == b'\\' && b.get(i + 1) == Some(&b'\'') {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if b.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                match b.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(&c) => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

/// What one input line asked for.
enum Step {
    Continue,
    Quit,
}

/// Runs one line: prints its reply (or error) to stdout.
fn run_line(session: &mut Session, line: &str, format: Format, out: &mut impl Write) -> std::io::Result<Step> {
    let Some(argv) = split_args(line) else {
        writeln!(out, "Invalid argument(s)")?;
        return Ok(Step::Continue);
    };
    let Some(first) = argv.first() else { return Ok(Step::Continue) };
    let name = commands::text(first).to_ascii_lowercase();
    if name == "quit" || name == "exit" {
        return Ok(Step::Quit);
    }
    let reply = match commands::execute(session, &argv) {
        Ok(r) => r,
        Err(f) => Reply::Error(f.message().to_string()),
    };
    out.write_all(reply::format(&reply, format).as_bytes())?;
    // Each reply is flushed before the next command is read: a reader of the
    // pipe sees exactly the acknowledged writes.
    out.flush()?;
    Ok(Step::Continue)
}

/// Runs the REPL until `quit` or end of input; returns the exit code.
pub fn run(session: &mut Session, format: Format, interactive: bool) -> Result<i32, Failure> {
    // Open now, so a locked or corrupt directory is reported before the
    // first prompt (and with its own exit code).
    session.db()?;
    let stdout = std::io::stdout();
    if !interactive {
        let mut out = stdout.lock();
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if let Step::Quit = run_line(session, &line, format, &mut out)? {
                break;
            }
        }
        session.close()?;
        return Ok(EXIT_OK);
    }
    let mut editor =
        rustyline::DefaultEditor::new().map_err(|e| Failure::Other(format!("cannot start line editor: {e}")))?;
    let history = std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".kv_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let prompt = format!("kv:{}> ", session.config.dir.display());
    loop {
        match editor.readline(&prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if let Step::Quit = run_line(session, &line, format, &mut stdout.lock())? {
                    break;
                }
            }
            Err(rustyline::error::ReadlineError::Interrupted) => continue,
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(Failure::Other(format!("line editor: {e}"))),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    session.close()?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s).map(|v| v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(split("  set  k   v "), Some(vec!["set".into(), "k".into(), "v".into()]));
        assert_eq!(split(r#"set "a b" 'c d'"#), Some(vec!["set".into(), "a b".into(), "c d".into()]));
        assert_eq!(split(r#"set k "x\ny\x41\"""#), Some(vec!["set".into(), "k".into(), "x\nyA\"".into()]));
        assert_eq!(split(r"set k 'it\'s'"), Some(vec!["set".into(), "k".into(), "it's".into()]));
        assert_eq!(split(r#"set k "unterminated"#), None);
        assert_eq!(split(r#"set k "a"b"#), None);
        assert_eq!(split(""), Some(vec![]));
        assert_eq!(split(r#"set k """#), Some(vec!["set".into(), "k".into(), "".into()]));
    }
}
