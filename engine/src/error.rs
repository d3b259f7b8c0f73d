//! The one error type of the engine.
//!
//! Every fallible call returns [`Error`]. Variants are stable and meant to be
//! matched on; the C ABI maps each to a numbered status code.

use std::fmt;
use std::path::PathBuf;

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in libkv.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error (a failed read, a full disk on open, ...).
    Io(std::io::Error),
    /// A file holds bytes that do not decode: a bad checksum, a bad length,
    /// a bad magic number. `offset` is the byte offset inside `file`.
    Corruption {
        /// File in which the damage was found.
        file: PathBuf,
        /// Byte offset of the damaged record or header.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// Another handle (in this or another process) holds the directory lock.
    Locked(PathBuf),
    /// A write or fsync failed earlier; the handle refuses further writes
    /// because the kernel may have dropped dirty pages (fsyncgate). Reopen to
    /// recover. Reads keep working.
    Poisoned(String),
    /// The key is longer than `Options::max_key_size_bytes` (or empty).
    KeyTooLarge {
        /// Length of the offending key.
        size_bytes: usize,
        /// Limit in force.
        limit_bytes: usize,
    },
    /// The value is longer than `Options::max_value_size_bytes`.
    ValueTooLarge {
        /// Length of the offending value.
        size_bytes: usize,
        /// Limit in force.
        limit_bytes: usize,
    },
    /// A batch holds more operations or bytes than `Options::max_batch_*`.
    BatchTooLarge {
        /// What was exceeded, in words.
        reason: String,
    },
    /// The handle was closed.
    Closed,
    /// An operation against a key holding the wrong kind of value
    /// (Redis: `WRONGTYPE Operation against a key holding the wrong kind of value`).
    WrongType,
    /// The value is not an integer or out of range (Redis:
    /// `ERR value is not an integer or out of range`).
    NotInteger,
    /// The value is not a valid float (Redis: `ERR value is not a valid float`).
    NotFloat,
    /// An increment or decrement would overflow (Redis:
    /// `ERR increment or decrement would overflow`).
    Overflow,
    /// An argument is invalid; the message is Redis's where Redis has one.
    InvalidArgument(String),
    /// An internal invariant failed (a bug). Never returned on bad input.
    Internal(String),
}

impl Error {
    /// Builds a [`Error::Corruption`].
    pub(crate) fn corruption(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Error {
        Error::Corruption { file: file.into(), offset, reason: reason.into() }
    }

    /// Builds an [`Error::InvalidArgument`].
    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Corruption { file, offset, reason } => {
                write!(f, "corruption in {} at offset {offset}: {reason}", file.display())
            }
            Error::Locked(p) => write!(f, "database directory {} is locked by another handle", p.display()),
            Error::Poisoned(why) => write!(f, "database is poisoned after a failed write or fsync ({why}); reopen it"),
            Error::KeyTooLarge { size_bytes, limit_bytes } => {
                write!(f, "key of {size_bytes} bytes is outside the limit of 1..={limit_bytes} bytes")
            }
            Error::ValueTooLarge { size_bytes, limit_bytes } => {
                write!(f, "value of {size_bytes} bytes exceeds the limit of {limit_bytes} bytes")
            }
            Error::BatchTooLarge { reason } => write!(f, "batch too large: {reason}"),
            Error::Closed => write!(f, "database is closed"),
            Error::WrongType => write!(f, "WRONGTYPE Operation against a key holding the wrong kind of value"),
            Error::NotInteger => write!(f, "ERR value is not an integer or out of range"),
            Error::NotFloat => write!(f, "ERR value is not a valid float"),
            Error::Overflow => write!(f, "ERR increment or decrement would overflow"),
            Error::InvalidArgument(m) => write!(f, "{m}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}
