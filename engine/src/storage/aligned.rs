//! A fixed-capacity byte buffer whose start is [`DIRECT_IO_ALIGN`]-aligned,
//! so that full buffers can be written with `O_DIRECT`
//! (see [`super::Storage::create_direct`]).

use super::DIRECT_IO_ALIGN;

/// Bytes appended up to a fixed capacity (a multiple of
/// [`DIRECT_IO_ALIGN`]); the buffer never reallocates, so its address
/// stays aligned.
pub struct AlignedBuf {
    /// Backing memory, one alignment unit longer than the capacity so an
    /// aligned window always fits.
    mem: Vec<u8>,
    start: usize,
    len: usize,
    capacity_bytes: usize,
}

impl AlignedBuf {
    /// An empty buffer holding up to `capacity_bytes` (rounded up to a
    /// multiple of [`DIRECT_IO_ALIGN`]).
    pub fn new(capacity_bytes: usize) -> AlignedBuf {
        let capacity_bytes = capacity_bytes.max(1).next_multiple_of(DIRECT_IO_ALIGN);
        let mem = vec![0u8; capacity_bytes + DIRECT_IO_ALIGN];
        let misalign = mem.as_ptr() as usize % DIRECT_IO_ALIGN;
        let start = (DIRECT_IO_ALIGN - misalign) % DIRECT_IO_ALIGN;
        AlignedBuf { mem, start, len: 0, capacity_bytes }
    }

    /// Appends as much of `bytes` as fits; returns how many bytes it took.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.capacity_bytes - self.len);
        let at = self.start + self.len;
        self.mem[at..at + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n
    }

    /// The bytes appended so far (aligned start).
    pub fn as_slice(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }

    /// Bytes appended so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when no more bytes fit.
    pub fn is_full(&self) -> bool {
        self.len == self.capacity_bytes
    }

    /// Forgets the contents (the capacity stays).
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buf_is_aligned_and_fills_to_capacity() {
        let mut b = AlignedBuf::new(5000);
        assert_eq!(b.as_slice().as_ptr() as usize % DIRECT_IO_ALIGN, 0);
        assert_eq!(b.push(&[1u8; 3000]), 3000);
        // Capacity rounds up to 8192: 5192 more fit, the rest does not.
        assert_eq!(b.push(&[2u8; 6000]), 8192 - 3000);
        assert!(b.is_full());
        assert_eq!(b.as_slice().len(), 8192);
        assert_eq!(&b.as_slice()[2999..3001], &[1, 2]);
        assert_eq!(b.push(&[3u8; 1]), 0);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.push(&[4u8; 10]), 10);
        assert_eq!(b.as_slice(), &[4u8; 10]);
        assert_eq!(b.as_slice().as_ptr() as usize % DIRECT_IO_ALIGN, 0);
    }
}
