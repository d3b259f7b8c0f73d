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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{LockGuard, ReadFile, Storage, WriteFile, DIRECT_IO_ALIGN};

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

    /// [`Storage::create_direct`]: `O_DIRECT` if the file system takes it.
    fn create_direct_file(&self, name: &str) -> io::Result<FsFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(true);
        match o.clone().custom_flags(libc::O_DIRECT).open(self.file(name)) {
            Ok(file) => {
                let f = FsFile::new(file);
                f.direct.store(true, Ordering::Release);
                Ok(f)
            }
            // tmpfs and some others refuse O_DIRECT: an ordinary file then.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(FsFile::new(o.open(self.file(name))?)),
            Err(e) => Err(e),
        }
    }
}

struct FsFile {
    file: File,
    /// Writable shared mapping of the whole (preallocated) file, if any.
    /// Writers copy through it under the read lock; `set_len` takes the
    /// write lock to unmap before the file changes size.
    map: parking_lot::RwLock<Option<memmap2::MmapRaw>>,
    /// The descriptor has `O_DIRECT` set (see [`Storage::create_direct`]).
    direct: AtomicBool,
}

impl FsFile {
    fn new(file: File) -> FsFile {
        FsFile { file, map: parking_lot::RwLock::new(None), direct: AtomicBool::new(false) }
    }

    /// Whether a write of `buf` at `offset` can go direct.
    fn direct_ok(&self, buf: &[u8], offset: u64) -> bool {
        self.direct.load(Ordering::Acquire)
            && (buf.as_ptr() as usize).is_multiple_of(DIRECT_IO_ALIGN)
            && buf.len().is_multiple_of(DIRECT_IO_ALIGN)
            && offset.is_multiple_of(DIRECT_IO_ALIGN as u64)
    }

    /// Clears `O_DIRECT`, so unaligned I/O works (the kernel keeps direct
    /// and cached I/O on one file coherent).
    fn leave_direct(&self) -> io::Result<()> {
        if !self.direct.load(Ordering::Acquire) {
            return Ok(());
        }
        let fd = self.file.as_raw_fd();
        // SAFETY: fcntl on an open descriptor; no memory is passed.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0 {
            return Err(io::Error::last_os_error());
        }
        self.direct.store(false, Ordering::Release);
        Ok(())
    }
}

impl ReadFile for FsFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.leave_direct()?;
        self.file.read_exact_at(buf, offset)
    }
    fn len_bytes(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

impl WriteFile for FsFile {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if self.direct_ok(buf, offset) {
            match self.file.write_all_at(buf, offset) {
                // Some file systems accept O_DIRECT at open and refuse the
                // I/O (stricter alignment, FUSE): carry on buffered.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => self.leave_direct()?,
                other => return other,
            }
        } else {
            self.leave_direct()?;
        }
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
        self.leave_direct()?;
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

    fn create_direct(&self, name: &str) -> io::Result<Arc<dyn WriteFile>> {
        Ok(Arc::new(self.create_direct_file(name)?))
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
        // never writes to, truncates or extends a file while it is opened
        // read-only (sealed segments and hint files are immutable; compaction
        // shrinks a merged input only once no handle to it is left), and the
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::AlignedBuf;

    /// Writes one aligned chunk, then an unaligned tail, then reads the file
    /// back through the same handle and through a fresh mapping.
    /// Returns whether the first write went direct.
    fn direct_round_trip(dir: &Path) -> bool {
        let storage = FsStorage::new(dir);
        let f = storage.create_direct_file("direct.seg").expect("create_direct");
        let was_direct = f.direct.load(Ordering::Acquire);
        let mut chunk = AlignedBuf::new(2 * DIRECT_IO_ALIGN);
        let body: Vec<u8> = (0..2 * DIRECT_IO_ALIGN).map(|i| (i % 251) as u8).collect();
        assert_eq!(chunk.push(&body), body.len());
        f.write_all_at(chunk.as_slice(), 0).expect("aligned write");
        assert_eq!(f.direct.load(Ordering::Acquire), was_direct, "an aligned write keeps the mode");
        // Unaligned length and offset: the handle turns buffered.
        f.write_all_at(b"tail", body.len() as u64).expect("unaligned write");
        assert!(!f.direct.load(Ordering::Acquire));
        f.sync_data().expect("sync");
        let mut back = vec![0u8; body.len() + 4];
        f.read_exact_at(&mut back, 0).expect("read back");
        assert_eq!(&back[..body.len()], &body[..]);
        assert_eq!(&back[body.len()..], b"tail");
        let r = storage.open_read("direct.seg").expect("open_read");
        assert_eq!(r.as_slice().expect("mapped"), &back[..]);
        was_direct
    }

    #[test]
    fn compact_direct_file_round_trips_aligned_and_unaligned_writes() {
        // In the source tree (a disk file system; /tmp may be tmpfs).
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).expect("tempdir");
        let direct = direct_round_trip(dir.path());
        // ext4, xfs and btrfs take O_DIRECT; so does the file system CI runs on.
        let fs_type = std::process::Command::new("stat").args(["-f", "-c", "%T"]).arg(dir.path()).output();
        if let Ok(out) = fs_type {
            let t = String::from_utf8_lossy(&out.stdout);
            if t.contains("ext2/ext3") || t.contains("xfs") || t.contains("btrfs") {
                assert!(direct, "O_DIRECT refused on {t}");
            }
        }
    }

    #[test]
    fn compact_direct_file_falls_back_where_o_direct_is_refused() {
        // tmpfs refuses O_DIRECT at open: an ordinary file is used instead.
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            return;
        }
        let dir = tempfile::tempdir_in(shm).expect("tempdir");
        direct_round_trip(dir.path());
    }
}
