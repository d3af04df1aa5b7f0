//! MNIST-family IDX files, plain or gzipped: `00 00 TYPE NDIM`, NDIM
//! big-endian u32 dimensions, then the data in C order, big-endian.
//!
//! Gzip input may hold several members (what `cat a.gz b.gz` makes); all are
//! read, each checked against its own CRC-32 and length. The header alone
//! can be read ([`parse_header`], [`gunzip_prefix`]) to learn the size of
//! the data before anything large is inflated.

use crate::data::bytes::{ByteReader, check_data_len};
use crate::data::deflate::{InflateEnd, crc32, inflate_error, inflate_into, inflate_memory_cap, max_inflated_len};
use crate::data::npy::Elements;
use crate::error::{Error, ErrorKind, Result};

/// An IDX array: its dimensions and values.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The dimensions, first one the rows.
    pub dims: Vec<usize>,
    /// The values in C order.
    pub elements: Elements,
}

/// What an IDX header declares, read without touching the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxHeader {
    /// The dimensions, first one the rows.
    pub dims: Vec<usize>,
    /// The type code: 08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64.
    pub type_code: u8,
    /// Where the data starts: `4 + 4 × dims`.
    pub data_offset: usize,
    /// Bytes of data the dimensions declare.
    pub data_len: usize,
}

impl IdxHeader {
    /// Elements the dimensions declare.
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// Bytes of the decoded [`Elements`] (u8 stay bytes, other integers
    /// widen to i64, floats keep their width).
    pub fn decoded_bytes(&self) -> u64 {
        let width: u64 = match self.type_code {
            0x08 => 1,
            0x0D => 4,
            _ => 8,
        };
        (self.elements() as u64).saturating_mul(width)
    }

    /// Bytes of the whole decompressed file: header and data.
    pub fn file_len(&self) -> usize {
        self.data_offset + self.data_len
    }
}

/// Parses the header at the start of IDX bytes (the data may be absent).
pub fn parse_header(bytes: &[u8]) -> Result<IdxHeader> {
    let mut r = ByteReader::new(bytes, "IDX header");
    let magic = r.take(4)?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(Error::new(ErrorKind::BadMagic, "not an IDX file (it does not start with two zero bytes)")
            .fix("pass MNIST-style files such as train-images-idx3-ubyte(.gz)"));
    }
    let (type_code, ndim) = (magic[2], magic[3] as usize);
    let size = match type_code {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        t => {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("IDX type code 0x{t:02X} is not one of 08 09 0B 0C 0D 0E"),
            )
            .fix("the file is corrupt or not an IDX file"));
        }
    };
    if ndim == 0 {
        return Err(
            Error::new(ErrorKind::BadShape, "IDX file has no dimensions").fix("the file is corrupt; get it again")
        );
    }
    let mut dims = Vec::with_capacity(ndim);
    for _ in 0..ndim {
        dims.push(r.u32_be()? as usize);
    }
    let data_len = dims.iter().try_fold(size, |acc: usize, &d| acc.checked_mul(d));
    // The data must also fit after the header in an addressable file.
    let Some(data_len) = data_len.filter(|n| n.checked_add(r.position()).is_some()) else {
        return Err(Error::new(ErrorKind::BadShape, format!("dimensions {dims:?} overflow"))
            .fix("the file is corrupt; get it again"));
    };
    Ok(IdxHeader { dims, type_code, data_offset: r.position(), data_len })
}

/// Parses IDX bytes (already decompressed).
pub fn parse(bytes: &[u8]) -> Result<IdxArray> {
    let header = parse_header(bytes)?;
    let IdxHeader { dims, type_code, data_offset, data_len: len } = header;
    check_data_len(len, bytes.len() - data_offset, &dims)?;
    let raw = &bytes[data_offset..];
    let elements = match type_code {
        0x08 => Elements::U8(raw.to_vec()),
        0x09 => Elements::Int(raw.iter().map(|&b| i64::from(b as i8)).collect()),
        0x0B => Elements::Int(raw.chunks_exact(2).map(|w| i64::from(i16::from_be_bytes([w[0], w[1]]))).collect()),
        0x0C => Elements::Int(
            raw.chunks_exact(4).map(|w| i64::from(i32::from_be_bytes([w[0], w[1], w[2], w[3]]))).collect(),
        ),
        0x0D => Elements::F32(raw.chunks_exact(4).map(|w| f32::from_be_bytes([w[0], w[1], w[2], w[3]])).collect()),
        _ => Elements::F64(raw.chunks_exact(8).map(|w| f64::from_be_bytes(w.try_into().unwrap_or([0; 8]))).collect()),
    };
    Ok(IdxArray { dims, elements })
}

/// Serialises u8 data as IDX (type 0x08), for tests and tools.
pub fn write_u8(dims: &[usize], data: &[u8]) -> Vec<u8> {
    assert_eq!(dims.iter().product::<usize>(), data.len(), "dims do not match data");
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Whether `bytes` start with the gzip signature.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1F, 0x8B])
}

/// The length of the gzip member header at the start of `bytes`.
fn gzip_header_len(bytes: &[u8]) -> Result<usize> {
    let mut r = ByteReader::new(bytes, "gzip header");
    let header = r.take(10)?;
    if header[0] != 0x1F || header[1] != 0x8B {
        return Err(Error::new(ErrorKind::BadMagic, "not a gzip file")
            .fix("pass the .gz file as downloaded, or the decompressed file"));
    }
    if header[2] != 8 {
        return Err(Error::new(ErrorKind::BadCompression, format!("gzip method {} is not deflate", header[2]))
            .fix("the file is corrupt"));
    }
    let flags = header[3];
    if flags & 0x04 != 0 {
        let len = r.u16_le()? as usize;
        r.take(len)?;
    }
    for bit in [0x08, 0x10] {
        // Zero-terminated file name and comment.
        if flags & bit != 0 {
            while r.u8()? != 0 {}
        }
    }
    if flags & 0x02 != 0 {
        r.take(2)?;
    }
    Ok(r.position())
}

/// Decompresses a gzip file of one or more members, checking each one's
/// CRC-32 and length.
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    gunzip_limited(bytes, usize::MAX)
}

/// [`gunzip`], refusing to produce more than `limit` bytes in all (e.g. the
/// size an IDX header declares), or more than half of this machine's memory.
pub fn gunzip_limited(bytes: &[u8], limit: usize) -> Result<Vec<u8>> {
    // The trailer's size is only the length modulo 2^32, so it cannot bound
    // the output; the caller's limit, the deflate ratio and memory do.
    let ratio_bound = max_inflated_len(bytes.len());
    let cap = inflate_memory_cap();
    let limit = limit.min(ratio_bound).min(cap);
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let start = pos + gzip_header_len(&bytes[pos..])?;
        let member_start = out.len();
        let room = limit - member_start;
        let end = inflate_into(&bytes[start..], &mut out, room);
        let InflateEnd::Done(used) = end else {
            if end == InflateEnd::Limit && limit == cap {
                return Err(Error::new(
                    ErrorKind::DecompressionBomb,
                    format!("gzip data decompresses to more than half of this machine's memory ({cap} bytes)"),
                )
                .fix("the file is too large for this machine, or hostile"));
            }
            return Err(inflate_error(end, "gzip data", limit));
        };
        let mut trailer = ByteReader::at(bytes, start + used, "gzip trailer")?;
        let (crc, size) = (trailer.u32_le()?, trailer.u32_le()?);
        let member = &out[member_start..];
        if member.len() as u32 != size || crc32(member) != crc {
            return Err(Error::new(ErrorKind::Checksum, "gzip length or CRC-32 does not match the data")
                .fix("the file is corrupt; download it again"));
        }
        pos = trailer.position();
        let rest = &bytes[pos..];
        // Zero padding after the last member is ignored, as gzip does.
        if rest.iter().all(|&b| b == 0) {
            return Ok(out);
        }
        // Anything else must be another member (or the start of one, cut short).
        let member_follows = is_gzip(rest) || rest == [0x1F];
        if !member_follows {
            return Err(Error::new(
                ErrorKind::BadMagic,
                format!("{} bytes after the gzip data are neither another gzip member nor padding", rest.len()),
            )
            .fix("the file is corrupt or has something appended; download it again"));
        }
    }
}

/// How much of a gzip file to inflate to read an IDX header: 4 bytes, then
/// at most 255 dimensions of 4 bytes.
const HEADER_MAX: usize = 4 + 4 * 255;

/// The IDX header of gzipped IDX bytes (of which `bytes` may be only the
/// start), inflating no more than a header can take.
pub fn gzip_header(bytes: &[u8]) -> Result<IdxHeader> {
    parse_header(&gunzip_prefix(bytes, HEADER_MAX)?)
}

/// The first bytes (at most `max`) of the data of a gzip file, for reading
/// a header without inflating the whole file. The header may span members,
/// so members are followed; checksums and damage past the prefix are left
/// for loading to find.
pub fn gunzip_prefix(bytes: &[u8], max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while out.len() < max && is_gzip(&bytes[pos..]) {
        let start = pos + gzip_header_len(&bytes[pos..])?;
        let room = max - out.len();
        match inflate_into(&bytes[start..], &mut out, room) {
            InflateEnd::Done(used) => pos = (start + used + 8).min(bytes.len()),
            InflateEnd::Corrupt if out.is_empty() => {
                return Err(inflate_error(InflateEnd::Corrupt, "gzip data", max));
            }
            _ => break,
        }
    }
    if pos == 0 && !is_gzip(bytes) {
        return Err(Error::new(ErrorKind::BadMagic, "not a gzip file")
            .fix("pass the .gz file as downloaded, or the decompressed file"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u8_round_trip_and_truncation() {
        let bytes = write_u8(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let a = parse(&bytes).unwrap();
        assert_eq!(a.dims, [2, 3]);
        assert_eq!(a.elements, Elements::U8(vec![1, 2, 3, 4, 5, 6]));
        assert_eq!(parse(&bytes[..bytes.len() - 1]).unwrap_err().kind(), ErrorKind::Truncated);
    }
}
