//! The real file system: positional I/O on `std::fs::File`, memory-mapped
//! reads of sealed files, `flock` for the directory lock.

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
        self.file.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.file.set_len(len_bytes)
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
        Ok(Arc::new(FsFile { file }))
    }

    fn open_write(&self, name: &str) -> io::Result<Arc<dyn WriteFile>> {
        let file = OpenOptions::new().read(true).write(true).open(self.file(name))?;
        Ok(Arc::new(FsFile { file }))
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
