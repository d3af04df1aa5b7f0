//! MNIST-family IDX files, plain or gzipped: `00 00 TYPE NDIM`, NDIM
//! big-endian u32 dimensions, then the data in C order, big-endian.

use crate::data::bytes::{ByteReader, check_data_len, crc32, inflate_limited};
use crate::data::npy::Elements;
use crate::error::{Error, ErrorKind, Result};

/// An IDX array: its dimensions and values.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub elements: Elements,
}

/// Parses IDX bytes (already decompressed).
pub fn parse(bytes: &[u8]) -> Result<IdxArray> {
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
    let len = dims.iter().try_fold(size, |acc: usize, &d| acc.checked_mul(d));
    let Some(len) = len else {
        return Err(Error::new(ErrorKind::BadShape, format!("dimensions {dims:?} overflow"))
            .fix("the file is corrupt; get it again"));
    };
    check_data_len(len, r.remaining(), &dims)?;
    let raw = r.take(len)?;
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

/// Decompresses a single-member gzip file, checking its CRC and length.
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
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
    let start = r.position();
    if bytes.len() < start + 8 {
        return Err(Error::new(ErrorKind::Truncated, "gzip file ends before its data")
            .fix("the file is incomplete; download it again"));
    }
    let trailer = &bytes[bytes.len() - 8..];
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    // The trailer's size is only the length modulo 2^32, so it cannot bound
    // the output; the deflate ratio and the machine's memory do.
    let out = inflate_limited(&bytes[start..bytes.len() - 8], usize::MAX, "gzip data")?;
    if out.len() as u32 != size || crc32(&out) != crc {
        return Err(Error::new(ErrorKind::Checksum, "gzip length or CRC-32 does not match the data")
            .fix("the file is corrupt; download it again"));
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
