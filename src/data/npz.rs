//! The `.npz` format: a zip archive of `.npy` members, as `np.savez`
//! (stored) and `np.savez_compressed` (raw deflate) write it, zip64 fields
//! included; and a writer of stored archives that `np.load` opens.
//!
//! Sizes are taken from the central directory (and its zip64 extra field
//! where a 32-bit field is `0xFFFFFFFF`), never from the local headers,
//! which numpy fills with `0xFFFFFFFF`.

use crate::data::bytes::{ByteReader, crc32, inflate_exact, inflate_prefix, max_inflated_len};
use crate::data::npy::{self, Elements, NpyArray, NpyHeader};
use crate::error::{Error, ErrorKind, Result};

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;

fn bad_archive(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadArchive, msg).fix("the archive is corrupt or truncated; write it again with np.savez")
}

/// One member of the archive, as the central directory describes it.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    local_offset: u64,
}

/// The members of an archive, read lazily.
pub struct Archive<'a> {
    bytes: &'a [u8],
    entries: Vec<Entry>,
}

impl<'a> Archive<'a> {
    /// Reads the central directory of a zip archive held in memory.
    pub fn open(bytes: &'a [u8]) -> Result<Self> {
        let signature = LOCAL_SIG.to_le_bytes();
        if bytes.len() < 4 && signature.starts_with(bytes) {
            return Err(Error::new(
                ErrorKind::Truncated,
                format!("file is truncated: {} bytes, not even a zip header", bytes.len()),
            )
            .fix("the file is incomplete; write or copy it again"));
        }
        if bytes.len() < 4 || bytes[..4] != signature {
            return Err(Error::new(ErrorKind::BadMagic, "not a .npz file (it does not start with a zip header)")
                .fix("pass a file written by np.savez or np.savez_compressed"));
        }
        let end = find_end_record(bytes)?;
        let mut r = ByteReader::at(bytes, end + 4, "zip end record")?;
        let (_disk, _cd_disk) = (r.u16_le()?, r.u16_le()?);
        let (_entries_here, entries16) = (r.u16_le()?, r.u16_le()?);
        let (cd_size32, cd_offset32) = (r.u32_le()?, r.u32_le()?);
        let (mut count, mut cd_size, mut cd_offset) =
            (u64::from(entries16), u64::from(cd_size32), u64::from(cd_offset32));
        if entries16 == 0xFFFF || cd_size32 == 0xFFFF_FFFF || cd_offset32 == 0xFFFF_FFFF {
            // zip64: the locator sits just before the end record.
            let locator = end.checked_sub(20).ok_or_else(|| bad_archive("zip64 locator missing"))?;
            let mut l = ByteReader::at(bytes, locator, "zip64 locator")?;
            if l.u32_le()? != ZIP64_LOCATOR_SIG {
                return Err(bad_archive("zip64 locator missing"));
            }
            let _disk = l.u32_le()?;
            let record = usize::try_from(l.u64_le()?).map_err(|_| bad_archive("zip64 record offset out of range"))?;
            let mut z = ByteReader::at(bytes, record, "zip64 end record")?;
            if z.u32_le()? != ZIP64_END_SIG {
                return Err(bad_archive("zip64 end record missing"));
            }
            z.take(8 + 2 + 2 + 4 + 4 + 8)?; // size, versions, disk numbers, entries on this disk
            count = z.u64_le()?;
            cd_size = z.u64_le()?;
            cd_offset = z.u64_le()?;
        }
        let cd_start = usize::try_from(cd_offset).map_err(|_| bad_archive("directory offset out of range"))?;
        let cd_len = usize::try_from(cd_size).map_err(|_| bad_archive("directory size out of range"))?;
        if cd_start.checked_add(cd_len).is_none_or(|e| e > end) {
            return Err(bad_archive(format!("central directory ({cd_len} bytes at {cd_start}) lies outside the file")));
        }
        // Each entry takes at least 46 bytes: bound the count by the directory size.
        if count > (cd_len / 46) as u64 {
            return Err(bad_archive(format!("{count} entries cannot fit in a {cd_len}-byte directory")));
        }
        let mut r = ByteReader::at(&bytes[..cd_start + cd_len], cd_start, "zip central directory")?;
        let mut entries = Vec::with_capacity(count as usize);
        for _ in 0..count {
            entries.push(read_entry(&mut r)?);
        }
        Ok(Archive { bytes, entries })
    }

    /// Member names, e.g. `images.npy`.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// A member's directory entry and its compressed bytes, checked for
    /// what can be checked without decompressing.
    fn locate(&self, name: &str) -> Result<(&Entry, &'a [u8], usize)> {
        let entry = self.entries.iter().find(|e| e.name == name).ok_or_else(|| {
            Error::new(ErrorKind::MissingMember, format!("archive has no member '{name}'")).fix(format!(
                "save the archive with that array, e.g. np.savez(path, {}=...)",
                name.trim_end_matches(".npy")
            ))
        })?;
        if entry.flags & 1 != 0 {
            return Err(Error::new(ErrorKind::BadArchive, format!("member '{name}' is encrypted"))
                .fix("save the archive without encryption"));
        }
        let offset = usize::try_from(entry.local_offset).map_err(|_| bad_archive("member offset out of range"))?;
        let mut r = ByteReader::at(self.bytes, offset, "zip local header")?;
        if r.u32_le()? != LOCAL_SIG {
            return Err(bad_archive(format!("member '{name}' has no local header at offset {offset}")));
        }
        r.take(22)?; // version, flags, method, time, date, crc, sizes (taken from the directory)
        let name_len = r.u16_le()? as usize;
        let extra_len = r.u16_le()? as usize;
        r.take(name_len + extra_len)?;
        let compressed_len = usize::try_from(entry.compressed).map_err(|_| bad_archive("member size out of range"))?;
        let expected = usize::try_from(entry.uncompressed).map_err(|_| bad_archive("member size out of range"))?;
        let data = r.take(compressed_len)?;
        match entry.method {
            0 if compressed_len != expected => {
                Err(bad_archive(format!("stored member '{name}' has sizes {compressed_len} and {expected}")))
            }
            0 | 8 => Ok((entry, data, expected)),
            m => Err(Error::new(
                ErrorKind::BadCompression,
                format!("member '{name}' uses zip method {m}; only stored (0) and deflate (8) load"),
            )
            .fix("save the archive with np.savez or np.savez_compressed")),
        }
    }

    /// The raw bytes of a member, decompressed and CRC-checked.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        let (entry, data, expected) = self.locate(name)?;
        let what = format!("member '{name}'");
        let out = if entry.method == 0 { data.to_vec() } else { inflate_exact(data, expected, &what)? };
        let crc = crc32(&out);
        if crc != entry.crc {
            return Err(Error::new(
                ErrorKind::Checksum,
                format!("{what}: CRC-32 is {crc:08x}, the archive says {:08x}", entry.crc),
            )
            .fix("the file is corrupt; copy or write it again"));
        }
        Ok(out)
    }

    /// The `.npy` header of a member (`name` without the `.npy` suffix),
    /// read without decompressing more than the header, and the member's
    /// decompressed size. The header must account for exactly that size, as
    /// loading will require.
    pub fn array_header(&self, name: &str) -> Result<(NpyHeader, usize)> {
        let member = format!("{name}.npy");
        let (entry, data, expected) = self.locate(&member)?;
        let what = format!("member '{member}'");
        let header = if entry.method == 0 {
            npy::parse_header(data)
        } else {
            if expected > max_inflated_len(data.len()) {
                return Err(bad_archive(format!(
                    "{what} declares {expected} bytes, more than {} compressed bytes can hold",
                    data.len()
                )));
            }
            // Magic, version, length and the longest header numpy writes.
            let prefix = inflate_prefix(data, 12 + npy::MAX_HEADER_LEN, &what)?;
            npy::parse_header(&prefix)
        }
        .map_err(|e| e.context(&what))?;
        if header.file_len() != expected {
            let kind = if header.file_len() > expected { ErrorKind::Truncated } else { ErrorKind::BadShape };
            return Err(Error::new(
                kind,
                format!(
                    "{what}: shape {:?} needs {} bytes but the member holds {expected}",
                    header.shape,
                    header.file_len()
                ),
            )
            .fix("the file is incomplete or corrupt; write it again"));
        }
        Ok((header, expected))
    }

    /// A member parsed as an array; `name` without the `.npy` suffix.
    pub fn array(&self, name: &str) -> Result<NpyArray> {
        let bytes = self.read(&format!("{name}.npy"))?;
        npy::parse(&bytes).map_err(|e| e.context(&format!("member '{name}.npy'")))
    }
}

/// Offset of the end-of-central-directory record, searched from the end
/// (it may be followed by a comment of up to 65,535 bytes).
fn find_end_record(bytes: &[u8]) -> Result<usize> {
    let lowest = bytes.len().saturating_sub(22 + 0xFFFF);
    // A zip that starts right but has no end record was cut short.
    let truncated = || {
        Error::new(ErrorKind::Truncated, "the zip archive has no end-of-directory record: it is truncated")
            .fix("the file is incomplete; write or copy it again")
    };
    let mut pos = bytes.len().checked_sub(22).ok_or_else(truncated)?;
    loop {
        if u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]) == END_SIG {
            return Ok(pos);
        }
        if pos == lowest {
            return Err(truncated());
        }
        pos -= 1;
    }
}

fn read_entry(r: &mut ByteReader<'_>) -> Result<Entry> {
    if r.u32_le()? != CENTRAL_SIG {
        return Err(bad_archive("central directory entry has a bad signature"));
    }
    let _versions = r.take(4)?;
    let flags = r.u16_le()?;
    let method = r.u16_le()?;
    let _time_date = r.take(4)?;
    let crc = r.u32_le()?;
    let compressed32 = r.u32_le()?;
    let uncompressed32 = r.u32_le()?;
    let name_len = r.u16_le()? as usize;
    let extra_len = r.u16_le()? as usize;
    let comment_len = r.u16_le()? as usize;
    let _disk_attrs = r.take(8)?;
    let offset32 = r.u32_le()?;
    let name = String::from_utf8_lossy(r.take(name_len)?).into_owned();
    let mut extra = ByteReader::new(r.take(extra_len)?, "zip extra field");
    r.take(comment_len)?;
    let (mut uncompressed, mut compressed, mut local_offset) =
        (u64::from(uncompressed32), u64::from(compressed32), u64::from(offset32));
    while extra.remaining() >= 4 {
        let id = extra.u16_le()?;
        let len = extra.u16_le()? as usize;
        let mut field = ByteReader::new(extra.take(len)?, "zip64 extra field");
        if id == 0x0001 {
            // Only the fields that are 0xFFFFFFFF in the record are present, in this order.
            if uncompressed32 == 0xFFFF_FFFF {
                uncompressed = field.u64_le()?;
            }
            if compressed32 == 0xFFFF_FFFF {
                compressed = field.u64_le()?;
            }
            if offset32 == 0xFFFF_FFFF {
                local_offset = field.u64_le()?;
            }
        }
    }
    Ok(Entry { name, method, flags, crc, compressed, uncompressed, local_offset })
}

/// Builds a stored (uncompressed) `.npz` of named arrays, as `np.savez` would.
pub fn write(arrays: &[(&str, &[usize], &Elements)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for &(name, shape, elements) in arrays {
        let data = npy::write(shape, elements);
        let file_name = format!("{name}.npy");
        let crc = crc32(&data);
        let offset = out.len() as u32;
        let size = u32::try_from(data.len()).expect("member over 4 GiB needs zip64, which this writer does not make");
        // Local header: version 2.0, no flags, stored, time/date of 1980-01-01.
        out.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(file_name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(file_name.as_bytes());
        out.extend_from_slice(&data);

        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(file_name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        central.extend_from_slice(&0o100644u32.wrapping_shl(16).to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(file_name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END_SIG.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(arrays.len() as u16).to_le_bytes());
    out.extend_from_slice(&(arrays.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_archive_reads_back() {
        let w = Elements::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = Elements::Int(vec![7, 8]);
        let bytes = write(&[("W", &[3, 2], &w), ("b", &[2], &b)]);
        let archive = Archive::open(&bytes).unwrap();
        assert_eq!(archive.names().collect::<Vec<_>>(), ["W.npy", "b.npy"]);
        assert_eq!(archive.array("W").unwrap(), NpyArray { shape: vec![3, 2], elements: w });
        assert_eq!(archive.array("b").unwrap().elements, b);
        assert_eq!(archive.array("missing").unwrap_err().kind(), ErrorKind::MissingMember);
    }
}
