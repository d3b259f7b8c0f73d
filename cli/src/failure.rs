//! Failures that end a command without a reply, and the process exit code
//! each one maps to (documented in `kv --help`).

use kv_engine::Error;

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: an error reply, an I/O error or any other failure.
pub const EXIT_ERROR: i32 = 1;
/// Exit code: bad arguments (unknown command, wrong arity, syntax, a number
/// that does not parse).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the database directory is locked by another process.
pub const EXIT_LOCKED: i32 = 3;
/// Exit code: a file of the database (or a dump) is corrupt.
pub const EXIT_CORRUPT: i32 = 4;

/// Why a command produced no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The arguments are wrong; the text is Redis's error message.
    Usage(String),
    /// The directory is locked; the text names it.
    Locked(String),
    /// Corruption; the text names file and offset.
    Corrupt(String),
    /// Anything else (I/O, a poisoned handle, ...).
    Other(String),
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Locked(_) => EXIT_LOCKED,
            Failure::Corrupt(_) => EXIT_CORRUPT,
            Failure::Other(_) => EXIT_ERROR,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Locked(m) | Failure::Corrupt(m) | Failure::Other(m) => m,
        }
    }

    /// `ERR syntax error`.
    pub fn syntax() -> Failure {
        Failure::Usage("ERR syntax error".into())
    }

    /// Redis's arity error for `cmd`.
    pub fn arity(cmd: &str) -> Failure {
        Failure::Usage(format!("ERR wrong number of arguments for '{cmd}' command"))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        match &e {
            Error::Locked(p) => Failure::Locked(format!(
                "database directory {} is locked by another process (is another kv or program using it?)",
                p.display()
            )),
            Error::Corruption { .. } => Failure::Corrupt(e.to_string()),
            // Only argument parsing turns these into a failure (execution
            // turns them into error replies): they are bad arguments.
            Error::InvalidArgument(_) | Error::NotFloat | Error::NotInteger => Failure::Usage(e.to_string()),
            _ => Failure::Other(e.to_string()),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Other(format!("I/O error: {e}"))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}
