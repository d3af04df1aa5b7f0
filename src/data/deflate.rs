//! CRC-32 and bounded raw-deflate decompression: the pieces of zip (and
//! PNG) the crate implements itself.
//!
//! Every decompression stops at a limit its caller sets (a declared size,
//! deflate's 1032:1 ratio, half of this machine's memory), so no stream
//! can expand without bound.

use crate::error::{Error, ErrorKind, Result};

/// CRC-32 (IEEE 802.3, as zip and gzip use), 16 bytes per step ("slicing
/// by 16": sixteen 256-entry tables, one per byte position, whose lookups
/// do not wait on each other). A byte at a time the table lookups form one
/// chain, about 0.5 GB/s, which was seconds of a large data set's loading.
pub fn crc32(bytes: &[u8]) -> u32 {
    static TABLES: std::sync::OnceLock<[[u32; 256]; 16]> = std::sync::OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        let mut tables = [[0u32; 256]; 16];
        for (i, entry) in tables[0].iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *entry = c;
        }
        // tables[k][i]: the CRC of byte i followed by k zero bytes.
        for k in 1..16 {
            for i in 0..256 {
                let prev = tables[k - 1][i];
                tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xFF) as usize];
            }
        }
        tables
    });
    let mut crc = !0u32;
    let (blocks, tail) = bytes.as_chunks::<16>();
    for block in blocks {
        let first = (u32::from_le_bytes([block[0], block[1], block[2], block[3]]) ^ crc).to_le_bytes();
        let mut next = 0u32;
        for (j, &b) in first.iter().enumerate() {
            next ^= tables[15 - j][usize::from(b)];
        }
        for j in 4..16 {
            next ^= tables[15 - j][usize::from(block[j])];
        }
        crc = next;
    }
    for &b in tail {
        crc = tables[0][((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The largest output raw deflate can produce from `compressed` bytes: a
/// deflate stream cannot expand data by more than 1032:1, so a declared size
/// beyond this is a lie (or a bomb) and is refused before allocating.
pub fn max_inflated_len(compressed: usize) -> usize {
    compressed.saturating_mul(1032).saturating_add(1024)
}

/// The most memory one decompression may take: half of this machine's
/// memory, the same limit as for one file. Stops a stream whose every byte
/// is honest but whose output would not fit.
pub fn inflate_memory_cap() -> usize {
    usize::try_from(crate::data::memory::half_of_memory()).unwrap_or(usize::MAX)
}

/// How an [`inflate_into`] call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateEnd {
    /// The deflate stream ended; this many input bytes were its data.
    Done(usize),
    /// The output reached the limit before the stream ended.
    Limit,
    /// The input ended in the middle of the stream.
    Truncated,
    /// The data is not valid deflate.
    Corrupt,
}

/// Inflates one raw deflate stream from the start of `compressed`,
/// appending at most `limit` bytes to `out` (whatever ends it, `out` holds
/// exactly what was produced). Reports where the stream ended, so that data
/// after it (a gzip trailer and the next member) can be found.
pub fn inflate_into(compressed: &[u8], out: &mut Vec<u8>, limit: usize) -> InflateEnd {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
    // The whole input is at hand and the output is one growing buffer, so
    // back-references are resolved in place (no wrapping window).
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut state = Box::<DecompressorOxide>::default();
    let start = out.len();
    let mut size = compressed.len().saturating_mul(4).clamp(64, 1 << 20).min(limit);
    grow(out, start + size);
    let (mut in_pos, mut out_pos) = (0usize, 0usize);
    loop {
        let input = compressed.get(in_pos..).unwrap_or(&[]);
        let (status, used_in, used_out) = decompress(&mut state, input, &mut out[start..], out_pos, flags);
        in_pos += used_in;
        out_pos += used_out;
        let end = match status {
            TINFLStatus::Done => InflateEnd::Done(in_pos),
            TINFLStatus::HasMoreOutput if size < limit => {
                size = size.saturating_mul(2).min(limit);
                grow(out, start + size);
                continue;
            }
            TINFLStatus::HasMoreOutput => InflateEnd::Limit,
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => InflateEnd::Truncated,
            _ => InflateEnd::Corrupt,
        };
        out.truncate(start + out_pos);
        return end;
    }
}

/// Resizes `out` to `len` with exactly that capacity: `Vec`'s own growth
/// could double past the limit the caller set.
fn grow(out: &mut Vec<u8>, len: usize) {
    out.reserve_exact(len.saturating_sub(out.len()));
    out.resize(len, 0);
}

/// Inflates raw deflate data, refusing to produce more than `limit` bytes.
pub fn inflate_limited(compressed: &[u8], limit: usize, what: &str) -> Result<Vec<u8>> {
    let limit = limit.min(max_inflated_len(compressed.len()));
    if limit > inflate_memory_cap() {
        return Err(Error::new(
            ErrorKind::DecompressionBomb,
            format!("{what} may decompress to {limit} bytes, more than half of this machine's memory"),
        )
        .fix("the file is too large for this machine, or hostile"));
    }
    let mut out = Vec::new();
    match inflate_into(compressed, &mut out, limit) {
        InflateEnd::Done(_) => Ok(out),
        end => Err(inflate_error(end, what, limit)),
    }
}

/// The error for a stream that did not end well.
pub fn inflate_error(end: InflateEnd, what: &str, limit: usize) -> Error {
    match end {
        InflateEnd::Limit => {
            Error::new(ErrorKind::DecompressionBomb, format!("{what} decompresses past its declared {limit} bytes"))
                .fix("the file is corrupt or hostile; do not use it")
        }
        InflateEnd::Truncated => {
            Error::new(ErrorKind::Truncated, format!("{what} ends in the middle of its compressed data"))
                .fix("the file is incomplete; download or copy it again")
        }
        InflateEnd::Done(_) | InflateEnd::Corrupt => {
            Error::new(ErrorKind::BadCompression, format!("{what} does not decompress (invalid deflate data)"))
                .fix("the file is corrupt; write or download it again")
        }
    }
}

/// The first bytes (at most `max`) that raw deflate data decompresses to,
/// for reading a header without inflating the rest. Truncated or corrupt
/// data after the prefix is not noticed here; loading notices it.
pub fn inflate_prefix(compressed: &[u8], max: usize, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match inflate_into(compressed, &mut out, max) {
        InflateEnd::Corrupt if out.is_empty() => Err(inflate_error(InflateEnd::Corrupt, what, max)),
        _ => Ok(out),
    }
}

/// Refuses a declared size that `compressed` bytes of deflate data cannot
/// produce (see [`max_inflated_len`]).
pub fn check_inflate_ratio(expected: usize, compressed: usize, what: &str) -> Result<()> {
    if expected > max_inflated_len(compressed) {
        return Err(Error::new(
            ErrorKind::BadArchive,
            format!("{what} declares {expected} bytes, more than {compressed} compressed bytes can hold"),
        )
        .fix("the file is corrupt; write it again"));
    }
    Ok(())
}

/// Inflates raw deflate data that must produce exactly `expected` bytes.
pub fn inflate_exact(compressed: &[u8], expected: usize, what: &str) -> Result<Vec<u8>> {
    check_inflate_ratio(expected, compressed.len(), what)?;
    let out = inflate_limited(compressed, expected, what)?;
    if out.len() != expected {
        return Err(Error::new(
            ErrorKind::BadArchive,
            format!("{what} decompresses to {} bytes, but {expected} are declared", out.len()),
        )
        .fix("the file is corrupt; write it again"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_known_strings() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    }

    #[test]
    fn crc32_sixteen_bytes_a_step_equals_the_bitwise_definition() {
        // The polynomial applied bit by bit, the definition itself.
        let bitwise = |bytes: &[u8]| {
            let mut crc = !0u32;
            for &b in bytes {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 != 0 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 };
                }
            }
            !crc
        };
        let mut state = 0x9E37_79B9u32;
        let data: Vec<u8> = (0..1000)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        // Every length from 0 to 100 (tails of 0..15 after whole blocks),
        // at every start offset modulo 16, and one long run.
        for start in 0..16 {
            for len in 0..100 {
                let bytes = &data[start..start + len];
                assert_eq!(crc32(bytes), bitwise(bytes), "start {start}, length {len}");
            }
        }
        assert_eq!(crc32(&data), bitwise(&data));
    }
}
