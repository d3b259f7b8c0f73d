//! The storage abstraction: every byte libkv reads or writes goes through
//! [`Storage`], so tests can swap the real file system for [`SimStorage`],
//! which simulates power cuts (dropping unsynced bytes) and injects faults.
//!
//! A storage instance is rooted at one database directory; files are named
//! by plain file names inside it.

mod aligned;
mod fs;
mod sim;

use std::any::Any;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use aligned::AlignedBuf;
pub use fs::FsStorage;
pub use sim::{Fault, SimStorage};

/// A file opened for reading only. Sealed segments and hint files.
pub trait ReadFile: Send + Sync {
    /// Fills `buf` from `offset`; a read past the end is `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Current length in bytes.
    fn len_bytes(&self) -> io::Result<u64>;
    /// The whole file as one slice, when it is memory-mapped.
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }
    /// Hints that the whole file will be read soon, front to back, so the
    /// OS can start reading it in the background. Best effort.
    fn advise_will_read(&self) {}
}

/// A file opened for reading and writing. The active segment.
///
/// Methods take `&self` (positional I/O) so that one handle can be shared by
/// the writer, the syncing thread and readers.
pub trait WriteFile: ReadFile {
    /// Writes all of `buf` at `offset`. On error, any prefix may have been written.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// `fdatasync`: data and the metadata needed to read it back are durable.
    fn sync_data(&self) -> io::Result<()>;
    /// Sets the length (truncates or extends with zeros). Not durable until synced.
    fn set_len(&self, len_bytes: u64) -> io::Result<()>;
}

/// Alignment, in bytes, of the offset, length and buffer address of a write
/// that a [`Storage::create_direct`] file sends around the page cache. 4096
/// covers both 512-byte and 4 KiB logical blocks.
pub const DIRECT_IO_ALIGN: usize = 4096;

/// An opaque guard: the directory lock is held while it lives.
pub type LockGuard = Box<dyn Any + Send + Sync>;

/// A database directory.
pub trait Storage: Send + Sync + 'static {
    /// Path used in error messages.
    fn path(&self) -> &Path;
    /// Creates the directory if missing.
    fn create_dir_all(&self) -> io::Result<()>;
    /// Names of all files in the directory.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Creates `name` (truncating it if it exists), for reading and writing.
    fn create(&self, name: &str) -> io::Result<Arc<dyn WriteFile>>;
    /// [`Storage::create`] for one large front-to-back write (merge output)
    /// that should bypass the page cache where the platform allows
    /// (`O_DIRECT`): the copy into the cache is then skipped, and the
    /// database's cached working set is not evicted by bytes nobody has
    /// asked to read. Writes whose offset, length and buffer are all
    /// [`DIRECT_IO_ALIGN`]-aligned go direct; any other write, and any read
    /// or `set_len`, first switches the handle to ordinary buffered I/O for
    /// good. Durability still needs [`WriteFile::sync_data`]. Storage
    /// without such a mode creates an ordinary file.
    fn create_direct(&self, name: &str) -> io::Result<Arc<dyn WriteFile>> {
        self.create(name)
    }
    /// Opens an existing `name` for reading and writing.
    fn open_write(&self, name: &str) -> io::Result<Arc<dyn WriteFile>>;
    /// Opens an existing `name` for reading (the real file system maps it).
    fn open_read(&self, name: &str) -> io::Result<Arc<dyn ReadFile>>;
    /// Opens `name` for a read of the whole file, front to back, starting
    /// now (open reads hint files this way). `FsStorage` maps it with
    /// `MAP_POPULATE`: one call maps every page, where a cold mapping pays
    /// a page fault per page.
    fn open_read_whole(&self, name: &str) -> io::Result<Arc<dyn ReadFile>> {
        self.open_read(name)
    }
    /// Removes `name`. Not durable until [`Storage::sync_dir`].
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Atomically renames `from` to `to`, replacing `to`. Not durable until
    /// [`Storage::sync_dir`].
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Makes creations, removals and renames in the directory durable.
    fn sync_dir(&self) -> io::Result<()>;
    /// Takes the exclusive lock on `name`, or fails with `WouldBlock` when
    /// another handle (in any process) holds it.
    fn lock(&self, name: &str) -> io::Result<LockGuard>;
}
