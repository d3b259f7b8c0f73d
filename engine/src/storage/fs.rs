//! The real file system: positional I/O on `std::fs::File`, memory-mapped
//! reads of sealed files, `flock` for the directory lock.
//!
//! Appends to a preallocated file go through a shared writable mapping: a
//! `memcpy` instead of a `write(2)` per record. The bytes land in the page
//! cache exactly as a `write(2)` would put them there (they survive the
//! process being killed), `pread` sees them at once, and `fdatasync` on the
//! descriptor writes them back. Preallocation uses `fallocate`, so every
//! mapped page has disk blocks reserved and a full disk is an error at
//! preallocation time rather than a `SIGBUS` during a copy. Where
//! `fallocate` is unsupported the file is extended with `ftruncate` and
//! not mapped.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{LockGuard, ReadFile, Storage, WriteFile};

/// [`Storage`] on a directory of the real file system.
#[derive(Debug, Clone)]
pub struct FsStorage {
    dir: PathBuf,
}

impl FsStorage {
    /// Storage rooted at `dir` (created by [`Storage::create_dir_all`]).
    pub fn new(dir: impl Into<PathBuf>) -> FsStorage {
        FsStorage { dir: dir.into() }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

struct FsFile {
    file: File,
    /// Writable shared mapping of the whole (preallocated) file, if any.
    /// Writers copy through it under the read lock; `set_len` takes the
    /// write lock to unmap before the file changes size.
    map: parking_lot::RwLock<Option<memmap2::MmapRaw>>,
}

impl FsFile {
    fn new(file: File) -> FsFile {
        FsFile { file, map: parking_lot::RwLock::new(None) }
    }
}

impl ReadFile for FsFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
    fn len_bytes(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

impl WriteFile for FsFile {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let map = self.map.read();
        if let Some(m) = map.as_ref() {
            let end = offset.checked_add(buf.len() as u64).ok_or(io::ErrorKind::InvalidInput)?;
            if end <= m.len() as u64 {
                // SAFETY: (for `copy_in_order`'s contract) the mapping stays valid while the read guard is held
                // (unmapping needs the write lock); `offset..end` lies inside
                // it, and the file is at least that long with blocks reserved
                // (fallocate) because only `set_len`, under the write lock,
                // changes its size. libkv has one appender per file and never
                // creates Rust references into the mapping, so this copy
                // aliases nothing; readers use `pread`.
                unsafe { copy_in_order(buf, m.as_mut_ptr().add(offset as usize)) };
                return Ok(());
            }
        }
        self.file.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        // fdatasync writes back pages dirtied through the mapping as well.
        self.file.sync_data()
    }
    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        let mut map = self.map.write();
        *map = None;
        let current = self.file.metadata()?.len();
        if len_bytes <= current {
            return self.file.set_len(len_bytes);
        }
        let Ok(len) = libc::off_t::try_from(len_bytes) else { return Err(io::ErrorKind::InvalidInput.into()) };
        // SAFETY: plain syscall on an open descriptor; no memory is passed.
        let rc = unsafe { libc::fallocate(self.file.as_raw_fd(), 0, 0, len) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => self.file.set_len(len_bytes),
                _ => Err(err),
            };
        }
        // A failed mapping is not an error: writes fall back to pwrite.
        *map = memmap2::MmapOptions::new().len(len_bytes as usize).map_raw(&self.file).ok();
        Ok(())
    }
}

/// Copies `src` to `dst` strictly from first byte to last.
///
/// `memcpy` may store a buffer's head after its tail, so a process killed
/// mid-copy could leave a record's body without its header in the page
/// cache. Volatile stores are emitted in program order and retire in order,
/// so a copy cut short leaves a prefix — what a torn `write(2)` leaves, and
/// what recovery expects of a torn tail.
///
/// # Safety
///
/// `dst` must be valid for writes of `src.len()` bytes and not overlap `src`.
unsafe fn copy_in_order(src: &[u8], dst: *mut u8) {
    let mut i = 0;
    // Byte stores up to an 8-byte boundary of the destination.
    while i < src.len() && !(dst as usize + i).is_multiple_of(8) {
        // SAFETY: `i < src.len()`, inside the caller's valid range.
        unsafe { dst.add(i).write_volatile(src[i]) };
        i += 1;
    }
    while i + 8 <= src.len() {
        let word = u64::from_ne_bytes(src[i..i + 8].try_into().expect("8 bytes"));
        // SAFETY: `dst + i` is 8-aligned and `i + 8 <= src.len()`.
        unsafe { (dst.add(i) as *mut u64).write_volatile(word) };
        i += 8;
    }
    while i < src.len() {
        // SAFETY: `i < src.len()`.
        unsafe { dst.add(i).write_volatile(src[i]) };
        i += 1;
    }
}

/// A read-only file mapped into memory. Empty files are not mapped.
struct MappedFile {
    map: Option<memmap2::Mmap>,
}

impl ReadFile for MappedFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let data = self.as_slice().unwrap_or(&[]);
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let end = start.checked_add(buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
        let src = data.get(start..end).ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn len_bytes(&self) -> io::Result<u64> {
        Ok(self.map.as_ref().map_or(0, |m| m.len() as u64))
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self.map.as_deref().unwrap_or(&[]))
    }
    fn advise_will_read(&self) {
        if let Some(m) = &self.map {
            // Advice only: a failure changes nothing but speed.
            let _ = m.advise(memmap2::Advice::Sequential);
            let _ = m.advise(memmap2::Advice::WillNeed);
        }
    }
}

/// Holds the `flock` for as long as it lives; the kernel drops the lock when
/// the descriptor closes, including when the process dies.
struct FlockGuard {
    _file: File,
}

impl Storage for FsStorage {
    fn path(&self) -> &Path {
        &self.dir
    }

    fn create_dir_all(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    fn create(&self, name: &str) -> io::Result<Arc<dyn WriteFile>> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(self.file(name))?;
        Ok(Arc::new(FsFile::new(file)))
    }

    fn open_write(&self, name: &str) -> io::Result<Arc<dyn WriteFile>> {
        let file = OpenOptions::new().read(true).write(true).open(self.file(name))?;
        Ok(Arc::new(FsFile::new(file)))
    }

    fn open_read(&self, name: &str) -> io::Result<Arc<dyn ReadFile>> {
        let file = File::open(self.file(name))?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Arc::new(MappedFile { map: None }));
        }
        // SAFETY: the mapping is read-only and private to this handle. libkv
        // never writes to, truncates or extends a file once it is opened
        // read-only (sealed segments and hint files are immutable), and the
        // directory lock keeps other libkv processes out. A file removed by
        // compaction stays mapped until the last reader drops it.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Arc::new(MappedFile { map: Some(map) }))
    }

    fn open_read_whole(&self, name: &str) -> io::Result<Arc<dyn ReadFile>> {
        let file = File::open(self.file(name))?;
        if file.metadata()?.len() == 0 {
            return Ok(Arc::new(MappedFile { map: None }));
        }
        // SAFETY: as in `open_read`: a read-only private mapping of a file
        // libkv never modifies once written.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file)? };
        Ok(Arc::new(MappedFile { map: Some(map) }))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.file(name))
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.file(from), self.file(to))
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    fn lock(&self, name: &str) -> io::Result<LockGuard> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(self.file(name))?;
        // flock locks belong to the open file description, so a second open of
        // the same directory conflicts even inside this process (and through a
        // symlink, since the lock is on the inode).
        // SAFETY: `file` is open for the duration of the call; flock only
        // reads the descriptor number.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Box::new(FlockGuard { _file: file }))
    }
}
