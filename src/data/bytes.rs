//! Bounds-checked reading of little- and big-endian fields.
//!
//! Every read checks the remaining length first and reports a truncation as
//! an error, so the format parsers built on it cannot index out of bounds.

use crate::error::{Error, ErrorKind, Result};

/// A cursor over a byte slice whose reads fail cleanly at the end.
pub struct ByteReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// What is being read, for messages ("npy header", "zip directory").
    what: &'static str,
}

impl<'a> ByteReader<'a> {
    /// A reader at the start of `bytes`; `what` names them in messages.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        ByteReader { bytes, pos: 0, what }
    }

    /// A reader at offset `pos` of `bytes` (an error if past the end).
    pub fn at(bytes: &'a [u8], pos: usize, what: &'static str) -> Result<Self> {
        if pos > bytes.len() {
            return Err(truncated(what, pos, bytes.len()));
        }
        Ok(ByteReader { bytes, pos, what })
    }

    /// The offset of the next read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left after the offset.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(truncated(self.what, self.pos.saturating_add(n), self.bytes.len()));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian u16.
    pub fn u16_le(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// A little-endian u32.
    pub fn u32_le(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    pub fn u64_le(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A big-endian u32.
    pub fn u32_be(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
}

/// The error for a read of `needed` bytes from a file of `len` bytes.
pub fn truncated(what: &str, needed: usize, len: usize) -> Error {
    Error::new(
        ErrorKind::Truncated,
        format!("file is truncated: the {what} needs {needed} bytes but the file has {len}"),
    )
    .fix("the file is incomplete; download or copy it again")
}

/// Checks that the data a header declares (`needed` bytes for `shape`) is
/// exactly what the file holds after it, before anything is allocated for it.
pub fn check_data_len(needed: usize, available: usize, shape: &[usize]) -> Result<()> {
    if needed == available {
        return Ok(());
    }
    let kind = if needed > available { ErrorKind::Truncated } else { ErrorKind::BadShape };
    Err(Error::new(kind, format!("shape {shape:?} needs {needed} data bytes but the file holds {available}"))
        .fix("the file is incomplete or corrupt; write or download it again"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_are_errors() {
        let mut r = ByteReader::new(&[1, 2, 3], "test");
        assert_eq!(r.u16_le().unwrap(), 0x0201);
        assert_eq!(r.u16_le().unwrap_err().kind(), ErrorKind::Truncated);
    }
}
