//! [`WriteBatch`]: several writes applied atomically.

/// One operation of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BatchOp {
    Put { key: Vec<u8>, value: Vec<u8>, expire_at_ms: u64 },
    Delete { key: Vec<u8> },
}

/// Writes applied all-or-nothing by [`crate::Db::write_batch`], also across
/// a crash: the batch is one checksummed record in the log.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    pub(crate) ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Adds a put without expiry.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.ops.push(BatchOp::Put { key: key.to_vec(), value: value.to_vec(), expire_at_ms: 0 });
        self
    }

    /// Adds a put that expires at `expire_at_ms` (Unix ms; 0 = never).
    pub fn put_with_expiry(&mut self, key: &[u8], value: &[u8], expire_at_ms: u64) -> &mut Self {
        self.ops.push(BatchOp::Put { key: key.to_vec(), value: value.to_vec(), expire_at_ms });
        self
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.ops.push(BatchOp::Delete { key: key.to_vec() });
        self
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Removes every operation.
    pub fn clear(&mut self) {
        self.ops.clear();
    }
}
