//! A simulated, in-memory file system for crash and fault tests.
//!
//! Each file keeps two images: what the process sees and what has been made
//! durable by `sync_data`. The directory likewise has a visible and a durable
//! table of names. [`SimStorage::power_cut`] returns the machine as it would
//! boot after losing power: the durable images only, optionally with a torn
//! (random-length) prefix of each file's unsynced tail, as LazyFS and ALICE
//! model it.
//!
//! Faults are injected by counting mutating operations (write, sync, set_len,
//! create, remove, rename, sync_dir): see [`Fault`].

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{LockGuard, ReadFile, Storage, WriteFile};

/// A fault to inject at the `op`-th mutating operation (counted from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// That operation fails with `errno` (e.g. `libc::EIO`, `libc::ENOSPC`)
    /// and changes nothing; later operations succeed again.
    FailAt {
        /// Index of the failing operation.
        op: u64,
        /// Error number returned.
        errno: i32,
    },
    /// That operation, if it is a write, writes half of its bytes and then
    /// fails with `ENOSPC` (a short write). Other operations fail with `ENOSPC`.
    ShortWriteAt {
        /// Index of the failing operation.
        op: u64,
    },
    /// Power is lost just before that operation: it and every later operation
    /// fail with `EIO`, as in a machine that stopped. Call
    /// [`SimStorage::power_cut`] to get the rebooted disk.
    CrashAt {
        /// Index of the first operation that never happens.
        op: u64,
    },
}

#[derive(Default, Clone)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Default)]
struct SimState {
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    dir: HashMap<String, u64>,
    durable_dir: HashMap<String, u64>,
    locks: HashSet<String>,
    ops: u64,
    fault: Option<Fault>,
    crashed: bool,
}

enum OpKind {
    Write,
    Other,
}

impl SimState {
    /// Counts a mutating operation and decides whether it may proceed.
    /// `Ok(None)`: proceed. `Ok(Some(n))`: short write of `n` bytes then ENOSPC.
    fn begin_op(&mut self, kind: OpKind, len: usize) -> io::Result<Option<usize>> {
        if self.crashed {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let op = self.ops;
        self.ops += 1;
        match self.fault {
            Some(Fault::FailAt { op: at, errno }) if at == op => Err(io::Error::from_raw_os_error(errno)),
            Some(Fault::ShortWriteAt { op: at }) if at == op => match kind {
                OpKind::Write => Ok(Some(len / 2)),
                OpKind::Other => Err(io::Error::from_raw_os_error(libc::ENOSPC)),
            },
            Some(Fault::CrashAt { op: at }) if op >= at => {
                self.crashed = true;
                Err(io::Error::from_raw_os_error(libc::EIO))
            }
            _ => Ok(None),
        }
    }

    fn check_alive(&self) -> io::Result<()> {
        if self.crashed {
            Err(io::Error::from_raw_os_error(libc::EIO))
        } else {
            Ok(())
        }
    }

    fn inode(&mut self, id: u64) -> &mut Inode {
        self.inodes.entry(id).or_default()
    }
}

/// In-memory [`Storage`] with power-cut simulation and fault injection.
#[derive(Clone)]
pub struct SimStorage {
    state: Arc<Mutex<SimState>>,
    path: PathBuf,
}

impl Default for SimStorage {
    fn default() -> Self {
        SimStorage::new()
    }
}

impl SimStorage {
    /// An empty simulated disk.
    pub fn new() -> SimStorage {
        SimStorage { state: Arc::new(Mutex::new(SimState::default())), path: PathBuf::from("sim:") }
    }

    /// Arms `fault` (replacing any earlier one).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.state.lock().fault = fault;
    }

    /// Number of mutating operations so far.
    pub fn op_count(&self) -> u64 {
        self.state.lock().ops
    }

    /// True once a [`Fault::CrashAt`] fired.
    pub fn crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// The disk as it boots after a power cut now: durable names and bytes
    /// only. With `torn_seed = Some(s)`, each file also keeps a pseudo-random
    /// prefix (chosen from `s`) of the bytes written after its last sync.
    /// This handle and every file opened from it stop working (EIO).
    pub fn power_cut(&self, torn_seed: Option<u64>) -> SimStorage {
        let mut old = self.state.lock();
        old.crashed = true;
        let mut rng = torn_seed.unwrap_or(0) | 1;
        let mut next = || {
            // xorshift64: deterministic per seed, good enough to pick lengths.
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut state = SimState { next_inode: old.next_inode, ..SimState::default() };
        for (name, &id) in &old.durable_dir {
            let inode = old.inodes.get(&id).cloned().unwrap_or_default();
            let mut data = inode.durable.clone();
            if torn_seed.is_some() && inode.data.len() > data.len() && inode.data.starts_with(&data) {
                let extra = inode.data.len() - data.len();
                let keep = (next() % (extra as u64 + 1)) as usize;
                data.extend_from_slice(&inode.data[inode.durable.len()..inode.durable.len() + keep]);
            }
            state.inodes.insert(id, Inode { durable: data.clone(), data });
            state.dir.insert(name.clone(), id);
            state.durable_dir.insert(name.clone(), id);
        }
        SimStorage { state: Arc::new(Mutex::new(state)), path: self.path.clone() }
    }

    /// The visible bytes of `name`, if it exists.
    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        let st = self.state.lock();
        st.dir.get(name).and_then(|id| st.inodes.get(id)).map(|i| i.data.clone())
    }

    /// Replaces the bytes of `name` (visible and durable), creating it
    /// durably if needed. For corruption tests.
    pub fn write_file(&self, name: &str, bytes: &[u8]) {
        let mut st = self.state.lock();
        let id = match st.dir.get(name) {
            Some(&id) => id,
            None => {
                let id = st.next_inode;
                st.next_inode += 1;
                st.dir.insert(name.to_string(), id);
                st.durable_dir.insert(name.to_string(), id);
                id
            }
        };
        *st.inode(id) = Inode { data: bytes.to_vec(), durable: bytes.to_vec() };
    }

    /// Names of the files in the directory.
    pub fn file_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.state.lock().dir.keys().cloned().collect();
        v.sort();
        v
    }
}

struct SimFile {
    state: Arc<Mutex<SimState>>,
    inode: u64,
}

impl ReadFile for SimFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        st.check_alive()?;
        let data = &st.inode(self.inode).data;
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let end = start.checked_add(buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
        let src = data.get(start..end).ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn len_bytes(&self) -> io::Result<u64> {
        let mut st = self.state.lock();
        st.check_alive()?;
        Ok(st.inode(self.inode).data.len() as u64)
    }
}

impl WriteFile for SimFile {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        let short = st.begin_op(OpKind::Write, buf.len())?;
        let n = short.unwrap_or(buf.len());
        let start = offset as usize;
        let data = &mut st.inode(self.inode).data;
        if data.len() < start + n {
            data.resize(start + n, 0);
        }
        data[start..start + n].copy_from_slice(&buf[..n]);
        match short {
            Some(_) => Err(io::Error::from_raw_os_error(libc::ENOSPC)),
            None => Ok(()),
        }
    }
    fn sync_data(&self) -> io::Result<()> {
        let mut st = self.state.lock();
        st.begin_op(OpKind::Other, 0)?;
        let inode = st.inode(self.inode);
        inode.durable = inode.data.clone();
        Ok(())
    }
    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        st.begin_op(OpKind::Other, 0)?;
        st.inode(self.inode).data.resize(len_bytes as usize, 0);
        Ok(())
    }
}

struct SimLockGuard {
    state: Arc<Mutex<SimState>>,
    name: String,
}

impl Drop for SimLockGuard {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.name);
    }
}

impl Storage for SimStorage {
    fn path(&self) -> &Path {
        &self.path
    }

    fn create_dir_all(&self) -> io::Result<()> {
        self.state.lock().check_alive()
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let st = self.state.lock();
        st.check_alive()?;
        Ok(st.dir.keys().cloned().collect())
    }

    fn create(&self, name: &str) -> io::Result<Arc<dyn WriteFile>> {
        let mut st = self.state.lock();
        st.begin_op(OpKind::Other, 0)?;
        let id = st.next_inode;
        st.next_inode += 1;
        st.inodes.insert(id, Inode::default());
        st.dir.insert(name.to_string(), id);
        Ok(Arc::new(SimFile { state: self.state.clone(), inode: id }))
    }

    fn open_write(&self, name: &str) -> io::Result<Arc<dyn WriteFile>> {
        let st = self.state.lock();
        st.check_alive()?;
        let id = *st.dir.get(name).ok_or(io::ErrorKind::NotFound)?;
        Ok(Arc::new(SimFile { state: self.state.clone(), inode: id }))
    }

    fn open_read(&self, name: &str) -> io::Result<Arc<dyn ReadFile>> {
        let st = self.state.lock();
        st.check_alive()?;
        let id = *st.dir.get(name).ok_or(io::ErrorKind::NotFound)?;
        Ok(Arc::new(SimFile { state: self.state.clone(), inode: id }))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        let mut st = self.state.lock();
        st.begin_op(OpKind::Other, 0)?;
        st.dir.remove(name).map(|_| ()).ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut st = self.state.lock();
        st.begin_op(OpKind::Other, 0)?;
        let id = st.dir.remove(from).ok_or(io::ErrorKind::NotFound)?;
        st.dir.insert(to.to_string(), id);
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        let mut st = self.state.lock();
        st.begin_op(OpKind::Other, 0)?;
        st.durable_dir = st.dir.clone();
        Ok(())
    }

    fn lock(&self, name: &str) -> io::Result<LockGuard> {
        let mut st = self.state.lock();
        st.check_alive()?;
        if !st.locks.insert(name.to_string()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Box::new(SimLockGuard { state: self.state.clone(), name: name.to_string() }))
    }
}
