//! The merge's output writer: full chunks of merge output are written by a
//! second thread while the merge thread fills the next one, so copying and
//! the device's writing overlap (with `O_DIRECT` output a write waits for
//! the device, which would otherwise stall the copying).

use std::io;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::storage::{AlignedBuf, WriteFile};

/// Buffers in all: one being filled, the others queued or being written.
const BUFFERS: usize = 3;

struct Job {
    file: Arc<dyn WriteFile>,
    buf: AlignedBuf,
    at: u64,
}

struct Done {
    buf: AlignedBuf,
    result: io::Result<()>,
}

/// Chunked writes of merge output, queued to a writer thread. A write error
/// is reported by a later [`MergeWriter::submit`] or by
/// [`MergeWriter::wait_all`], before anything is made durable.
pub(crate) struct MergeWriter {
    /// The chunk being filled.
    current: AlignedBuf,
    free: Vec<AlignedBuf>,
    /// `None` when the thread could not be started: writes are then made
    /// inline by `submit`.
    jobs: Option<mpsc::SyncSender<Job>>,
    done: Option<mpsc::Receiver<Done>>,
    in_flight: usize,
    thread: Option<JoinHandle<()>>,
}

impl MergeWriter {
    /// A writer of chunks of `chunk_bytes`.
    pub(crate) fn new(chunk_bytes: usize) -> MergeWriter {
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(BUFFERS);
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let thread = std::thread::Builder::new().name("kv-merge-write".into()).spawn(move || {
            for Job { file, buf, at } in job_rx {
                let result = file.write_all_at(buf.as_slice(), at);
                if done_tx.send(Done { buf, result }).is_err() {
                    return;
                }
            }
        });
        let (jobs, done, thread) = match thread {
            Ok(t) => (Some(job_tx), Some(done_rx), Some(t)),
            Err(_) => (None, None, None),
        };
        MergeWriter {
            current: AlignedBuf::new(chunk_bytes),
            free: (1..BUFFERS).map(|_| AlignedBuf::new(chunk_bytes)).collect(),
            jobs,
            done,
            in_flight: 0,
            thread,
        }
    }

    /// The chunk being filled.
    pub(crate) fn buf(&mut self) -> &mut AlignedBuf {
        &mut self.current
    }

    /// Queues the current chunk to be written to `file` at `at` and starts
    /// a new one; waits only when every buffer is in flight.
    pub(crate) fn submit(&mut self, file: &Arc<dyn WriteFile>, at: u64) -> io::Result<()> {
        if self.current.is_empty() {
            return Ok(());
        }
        if self.jobs.is_none() {
            let r = file.write_all_at(self.current.as_slice(), at);
            self.current.clear();
            return r;
        }
        debug_assert_eq!(self.free.len() + self.in_flight + 1, BUFFERS);
        let next = match self.free.pop() {
            Some(b) => b,
            None => self.reclaim()?,
        };
        let buf = std::mem::replace(&mut self.current, next);
        let Some(jobs) = &self.jobs else { return Err(io::Error::other("merge writer has no thread")) };
        if jobs.send(Job { file: file.clone(), buf, at }).is_err() {
            return Err(io::Error::other("merge writer thread stopped"));
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Waits for one queued write; returns its (emptied) buffer.
    fn reclaim(&mut self) -> io::Result<AlignedBuf> {
        let done = self.done.as_ref().ok_or_else(|| io::Error::other("merge writer has no thread"))?;
        let Done { mut buf, result } = done.recv().map_err(|_| io::Error::other("merge writer thread stopped"))?;
        self.in_flight -= 1;
        buf.clear();
        match result {
            Ok(()) => Ok(buf),
            Err(e) => {
                // Every buffer comes back, so `submit` never waits on an
                // empty queue.
                self.free.push(buf);
                Err(e)
            }
        }
    }

    /// Waits until every queued write has finished; the first error wins.
    pub(crate) fn wait_all(&mut self) -> io::Result<()> {
        let mut first = Ok(());
        while self.in_flight > 0 {
            match self.reclaim() {
                Ok(b) => self.free.push(b),
                Err(e) => {
                    if first.is_ok() {
                        first = Err(e);
                    }
                }
            }
        }
        first
    }
}

impl Drop for MergeWriter {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has drained it.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
