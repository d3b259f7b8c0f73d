//! The portable dump format of `kv dump` / `kv load` (specified in
//! `docs/dump-format.md`): a versioned stream of length-prefixed,
//! individually checksummed entries, ended by an entry carrying the count,
//! so that truncation and damage are both detected.

use std::io::{self, Read, Write};

/// First 8 bytes of a dump file.
pub const MAGIC: [u8; 8] = *b"LIBKVDMP";
/// Format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Entry type: a string key.
pub const TYPE_STRING: u8 = 1;
/// Entry type: (a chunk of) a sorted-set key.
pub const TYPE_ZSET: u8 = 2;
/// Entry type: end of dump.
pub const TYPE_END: u8 = 0xFF;
/// Largest entry body accepted: a corrupt length never sizes an allocation
/// past this (1 GiB value + 64 KiB key + framing).
pub const MAX_BODY_BYTES: u32 = (1 << 30) + (1 << 17);
/// Sorted-set members per entry: a huge set is split into several entries.
pub const ZSET_CHUNK_MEMBERS: usize = 65_536;

/// One key of a dump.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A string.
    String {
        /// Key.
        key: Vec<u8>,
        /// Absolute expiry, Unix ms; 0 = none.
        expire_at_ms: u64,
        /// Value.
        value: Vec<u8>,
    },
    /// A sorted set (or one chunk of it: consecutive chunks share the key).
    ZSet {
        /// Key.
        key: Vec<u8>,
        /// Absolute expiry, Unix ms; 0 = none.
        expire_at_ms: u64,
        /// `(member, score)` pairs.
        members: Vec<(Vec<u8>, f64)>,
    },
}

/// Why a dump could not be read.
#[derive(Debug)]
pub enum DumpError {
    /// Reading failed.
    Io(io::Error),
    /// The bytes are not a valid dump; `offset` is where the bad entry starts.
    Corrupt {
        /// Byte offset in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

impl From<io::Error> for DumpError {
    fn from(e: io::Error) -> Self {
        DumpError::Io(e)
    }
}

/// Writes a dump: header on creation, then items, then [`Writer::finish`].
pub struct Writer<W: Write> {
    out: W,
    count: u64,
    body: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Starts a dump on `out` by writing the header.
    pub fn new(mut out: W) -> io::Result<Writer<W>> {
        let mut head = Vec::with_capacity(16);
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        let crc = crc32fast::hash(&head);
        head.extend_from_slice(&crc.to_le_bytes());
        out.write_all(&head)?;
        Ok(Writer { out, count: 0, body: Vec::new() })
    }

    fn put_bytes(&mut self, b: &[u8]) -> io::Result<()> {
        let len = u32::try_from(b.len()).map_err(|_| io::Error::other("field longer than 4 GiB"))?;
        self.body.extend_from_slice(&len.to_le_bytes());
        self.body.extend_from_slice(b);
        Ok(())
    }

    fn flush_entry(&mut self) -> io::Result<()> {
        let len = u32::try_from(self.body.len())
            .ok()
            .filter(|&l| l <= MAX_BODY_BYTES)
            .ok_or_else(|| io::Error::other("dump entry larger than the format allows"))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&crc32fast::hash(&self.body).to_le_bytes())?;
        self.out.write_all(&self.body)?;
        self.body.clear();
        Ok(())
    }

    /// Appends one item (sorted sets are split into chunks as needed).
    pub fn write(&mut self, item: &Item) -> io::Result<()> {
        match item {
            Item::String { key, expire_at_ms, value } => {
                self.body.push(TYPE_STRING);
                self.body.extend_from_slice(&expire_at_ms.to_le_bytes());
                self.put_bytes(key)?;
                self.put_bytes(value)?;
                self.flush_entry()?;
            }
            Item::ZSet { key, expire_at_ms, members } => {
                // An empty set does not exist in Redis semantics; never written.
                for chunk in members.chunks(ZSET_CHUNK_MEMBERS) {
                    self.body.push(TYPE_ZSET);
                    self.body.extend_from_slice(&expire_at_ms.to_le_bytes());
                    self.put_bytes(key)?;
                    self.body.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
                    for (m, score) in chunk {
                        self.body.extend_from_slice(&score.to_le_bytes());
                        self.put_bytes(m)?;
                    }
                    self.flush_entry()?;
                }
            }
        }
        self.count += 1;
        Ok(())
    }

    /// Writes the end entry and returns the output (not synced).
    pub fn finish(mut self) -> io::Result<W> {
        self.body.push(TYPE_END);
        self.body.extend_from_slice(&self.count.to_le_bytes());
        self.flush_entry()?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a dump item by item.
pub struct Reader<R: Read> {
    input: R,
    offset: u64,
    items: u64,
    done: bool,
    last_zset_key: Option<Vec<u8>>,
}

/// A cursor over one entry body.
struct Body<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Some(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

impl<R: Read> Reader<R> {
    /// Opens a dump, checking its header.
    pub fn new(mut input: R) -> Result<Reader<R>, DumpError> {
        let mut head = [0u8; 16];
        read_full(&mut input, &mut head, 0)?;
        let corrupt = |reason: &str| DumpError::Corrupt { offset: 0, reason: reason.into() };
        if head[0..8] != MAGIC {
            return Err(corrupt("not a libkv dump (bad magic)"));
        }
        if crc32fast::hash(&head[0..12]) != u32::from_le_bytes([head[12], head[13], head[14], head[15]]) {
            return Err(corrupt("dump header checksum mismatch"));
        }
        let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if version != VERSION {
            return Err(corrupt(&format!("dump format version {version}; this build reads {VERSION}")));
        }
        Ok(Reader { input, offset: 16, items: 0, done: false, last_zset_key: None })
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next item, or `None` after the verified end entry.
    pub fn next_item(&mut self) -> Result<Option<Item>, DumpError> {
        if self.done {
            return Ok(None);
        }
        let at = self.offset;
        let corrupt = |reason: String| DumpError::Corrupt { offset: at, reason };
        let mut frame = [0u8; 8];
        read_full(&mut self.input, &mut frame, at)?;
        let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        if len > MAX_BODY_BYTES {
            return Err(corrupt(format!("entry length {len} past the limit")));
        }
        let mut body = vec![0u8; len as usize];
        read_full(&mut self.input, &mut body, at)?;
        if crc32fast::hash(&body) != crc {
            return Err(corrupt("entry checksum mismatch".into()));
        }
        self.offset += 8 + len as u64;
        let mut b = Body { b: &body, pos: 0 };
        let bad = || corrupt("malformed entry".into());
        let item = match b.u8().ok_or_else(bad)? {
            TYPE_STRING => {
                let expire_at_ms = b.u64().ok_or_else(bad)?;
                let key = b.bytes().ok_or_else(bad)?.to_vec();
                let value = b.bytes().ok_or_else(bad)?.to_vec();
                Item::String { key, expire_at_ms, value }
            }
            TYPE_ZSET => {
                let expire_at_ms = b.u64().ok_or_else(bad)?;
                let key = b.bytes().ok_or_else(bad)?.to_vec();
                let n = b.u32().ok_or_else(bad)? as usize;
                // Each member takes at least 12 bytes: bound the allocation.
                let mut members = Vec::with_capacity(n.min(len as usize / 12));
                for _ in 0..n {
                    let score = f64::from_le_bytes(b.take(8).ok_or_else(bad)?.try_into().map_err(|_| bad())?);
                    if score.is_nan() {
                        return Err(corrupt("NaN score".into()));
                    }
                    members.push((b.bytes().ok_or_else(bad)?.to_vec(), score));
                }
                Item::ZSet { key, expire_at_ms, members }
            }
            TYPE_END => {
                let count = b.u64().ok_or_else(bad)?;
                if count != self.items {
                    return Err(corrupt(format!("end entry says {count} keys, found {}", self.items)));
                }
                self.done = true;
                return Ok(None);
            }
            t => return Err(corrupt(format!("unknown entry type {t}"))),
        };
        if b.pos != body.len() {
            return Err(corrupt("trailing bytes in entry".into()));
        }
        // Chunks of one sorted set count as one key.
        let continues =
            matches!(&item, Item::ZSet { key, .. } if self.last_zset_key.as_deref() == Some(key.as_slice()));
        if !continues {
            self.items += 1;
        }
        self.last_zset_key = match &item {
            Item::ZSet { key, .. } => Some(key.clone()),
            Item::String { .. } => None,
        };
        Ok(Some(item))
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8], at: u64) -> Result<(), DumpError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            DumpError::Corrupt { offset: at, reason: "dump truncated (no end entry)".into() }
        } else {
            DumpError::Io(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Item> {
        vec![
            Item::String { key: b"a".to_vec(), expire_at_ms: 0, value: b"1".to_vec() },
            Item::String { key: b"b\xff".to_vec(), expire_at_ms: 1_900_000_000_000, value: vec![0, 1, 2] },
            Item::ZSet {
                key: b"z".to_vec(),
                expire_at_ms: 5,
                members: vec![(b"m".to_vec(), -1.5), (b"n".to_vec(), f64::INFINITY)],
            },
        ]
    }

    fn encode(items: &[Item]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new()).unwrap();
        for i in items {
            w.write(i).unwrap();
        }
        w.finish().unwrap()
    }

    fn decode(bytes: &[u8]) -> Result<Vec<Item>, DumpError> {
        let mut r = Reader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(i) = r.next_item()? {
            out.push(i);
        }
        Ok(out)
    }

    #[test]
    fn round_trip() {
        assert_eq!(decode(&encode(&sample())).unwrap(), sample());
    }

    #[test]
    fn every_truncation_and_every_byte_flip_is_detected() {
        let bytes = encode(&sample());
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "truncation at {len} went unnoticed");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(decode(&b).is_err(), "flip of byte {i} went unnoticed");
        }
    }

    #[test]
    fn big_sorted_sets_are_chunked_and_count_as_one_key() {
        let members: Vec<(Vec<u8>, f64)> =
            (0..ZSET_CHUNK_MEMBERS + 3).map(|i| (i.to_string().into_bytes(), i as f64)).collect();
        let items = vec![Item::ZSet { key: b"big".to_vec(), expire_at_ms: 0, members }];
        let got = decode(&encode(&items)).unwrap();
        assert_eq!(got.len(), 2);
        let n: usize = got.iter().map(|i| if let Item::ZSet { members, .. } = i { members.len() } else { 0 }).sum();
        assert_eq!(n, ZSET_CHUNK_MEMBERS + 3);
    }
}
