//! The `.npz` format: a zip archive of `.npy` members, as `np.savez`
//! (stored) and `np.savez_compressed` (raw deflate) write it, zip64 fields
//! included; and a writer of stored or deflated archives that `np.load`
//! opens.
//!
//! An archive is read from memory ([`Archive::open`]) or from a file of
//! which only the parts asked for are read ([`Archive::open_file`]: a probe
//! reads the directory and the members' headers, never their data).
//!
//! Sizes are taken from the central directory (and its zip64 extra field
//! where a 32-bit field is `0xFFFFFFFF`), never from the local headers,
//! which numpy fills with `0xFFFFFFFF`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use crate::data::bytes::{ByteReader, truncated};
use crate::data::deflate::{check_inflate_ratio, crc32, inflate_exact, inflate_prefix};
use crate::data::npy::{self, Elements, NpyArray, NpyHeader};
use crate::error::{Error, ErrorKind, Result};

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
/// Compressed bytes read to find a member's `.npy` header: ample for the
/// 10,000-byte header limit in any ordinary deflate stream.
const HEADER_PREFIX: usize = 1 << 16;

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

/// Where an archive's bytes are: all in memory, or in a file read only
/// where asked (so that a probe reads the directory and headers, not the data).
#[derive(Clone, Copy)]
enum Source<'a> {
    Memory(&'a [u8]),
    File(&'a File, u64),
}

impl<'a> Source<'a> {
    fn len(&self) -> u64 {
        match self {
            Source::Memory(bytes) => bytes.len() as u64,
            Source::File(_, len) => *len,
        }
    }

    /// `n` bytes at `offset`, or a `Truncated` error if the file is shorter.
    fn fetch(&self, offset: u64, n: usize, what: &'static str) -> Result<Cow<'a, [u8]>> {
        let in_file = offset.checked_add(n as u64).is_some_and(|end| end <= self.len());
        let pos = usize::try_from(offset).ok().filter(|_| in_file);
        let Some(pos) = pos else {
            let needed = usize::try_from(offset.saturating_add(n as u64)).unwrap_or(usize::MAX);
            return Err(truncated(what, needed, usize::try_from(self.len()).unwrap_or(usize::MAX)));
        };
        match *self {
            Source::Memory(bytes) => Ok(Cow::Borrowed(&bytes[pos..pos + n])),
            Source::File(mut file, _) => {
                let mut out = vec![0u8; n];
                file.seek(SeekFrom::Start(offset)).and_then(|_| file.read_exact(&mut out)).map_err(|e| {
                    Error::new(ErrorKind::Io, format!("cannot read the {what}: {e}"))
                        .fix("check that the file is not being changed while it is read")
                })?;
                Ok(Cow::Owned(out))
            }
        }
    }
}

/// The members of an archive, read lazily.
pub struct Archive<'a> {
    source: Source<'a>,
    entries: Vec<Entry>,
}

impl<'a> Archive<'a> {
    /// Reads the central directory of a zip archive held in memory.
    pub fn open(bytes: &'a [u8]) -> Result<Self> {
        Archive::read_directory(Source::Memory(bytes))
    }

    /// Reads the central directory of a zip archive in `file` (of `len`
    /// bytes), reading only the end records and the directory; members are
    /// read when asked for.
    pub fn open_file(file: &'a File, len: u64) -> Result<Self> {
        Archive::read_directory(Source::File(file, len))
    }

    fn read_directory(source: Source<'a>) -> Result<Self> {
        let len = source.len();
        let head = source.fetch(0, len.min(4) as usize, "zip header")?;
        let signature = LOCAL_SIG.to_le_bytes();
        if head.len() < 4 && signature.starts_with(&head) {
            return Err(Error::new(
                ErrorKind::Truncated,
                format!("file is truncated: {} bytes, not even a zip header", head.len()),
            )
            .fix("the file is incomplete; write or copy it again"));
        }
        if head.len() < 4 || head[..4] != signature {
            return Err(Error::new(ErrorKind::BadMagic, "not a .npz file (it does not start with a zip header)")
                .fix("pass a file written by np.savez or np.savez_compressed"));
        }
        // The end record lies in the last 22 + 65,535 bytes (it may be followed by a comment).
        let tail_len = len.min(22 + 0xFFFF);
        let tail_start = len - tail_len;
        let tail = source.fetch(tail_start, tail_len as usize, "zip end record")?;
        let end_in_tail = find_end_record(&tail)?;
        let end = tail_start + end_in_tail as u64;
        let mut r = ByteReader::at(&tail, end_in_tail + 4, "zip end record")?;
        let (_disk, _cd_disk) = (r.u16_le()?, r.u16_le()?);
        let (_entries_here, entries16) = (r.u16_le()?, r.u16_le()?);
        let (cd_size32, cd_offset32) = (r.u32_le()?, r.u32_le()?);
        let (mut count, mut cd_size, mut cd_offset) =
            (u64::from(entries16), u64::from(cd_size32), u64::from(cd_offset32));
        if entries16 == 0xFFFF || cd_size32 == 0xFFFF_FFFF || cd_offset32 == 0xFFFF_FFFF {
            (count, cd_size, cd_offset) = read_zip64_end(&source, end)?;
        }
        if cd_offset.checked_add(cd_size).is_none_or(|e| e > end) {
            return Err(bad_archive(format!(
                "central directory ({cd_size} bytes at {cd_offset}) lies outside the file"
            )));
        }
        // Each entry takes at least 46 bytes: bound the count by the directory size.
        if count > cd_size / 46 {
            return Err(bad_archive(format!("{count} entries cannot fit in a {cd_size}-byte directory")));
        }
        let cd_len = usize::try_from(cd_size).map_err(|_| bad_archive("directory size out of range"))?;
        let directory = source.fetch(cd_offset, cd_len, "zip central directory")?;
        let mut r = ByteReader::new(&directory, "zip central directory");
        let mut entries = Vec::with_capacity(count as usize);
        for _ in 0..count {
            entries.push(read_entry(&mut r)?);
        }
        Ok(Archive { source, entries })
    }

    /// Member names, e.g. `images.npy`.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// A member's directory entry, at most the first `max_data` of its
    /// compressed bytes, and its compressed and decompressed sizes, checked
    /// for what can be checked without decompressing.
    fn locate(&self, name: &str, max_data: usize) -> Result<(&Entry, Cow<'a, [u8]>, usize, usize)> {
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
        let offset = entry.local_offset;
        let local = self.source.fetch(offset, 30, "zip local header")?;
        let mut r = ByteReader::new(&local, "zip local header");
        if r.u32_le()? != LOCAL_SIG {
            return Err(bad_archive(format!("member '{name}' has no local header at offset {offset}")));
        }
        r.take(22)?; // version, flags, method, time, date, crc, sizes (taken from the directory)
        let name_len = u64::from(r.u16_le()?);
        let extra_len = u64::from(r.u16_le()?);
        let data_start = offset.saturating_add(30 + name_len + extra_len);
        let compressed_len = usize::try_from(entry.compressed).map_err(|_| bad_archive("member size out of range"))?;
        let expected = usize::try_from(entry.uncompressed).map_err(|_| bad_archive("member size out of range"))?;
        // The whole member must be in the file, even when only its start is read.
        self.source.fetch(data_start.saturating_add(entry.compressed), 0, "zip member")?;
        let data = self.source.fetch(data_start, compressed_len.min(max_data), "zip member")?;
        match entry.method {
            0 if compressed_len != expected => {
                Err(bad_archive(format!("stored member '{name}' has sizes {compressed_len} and {expected}")))
            }
            0 | 8 => Ok((entry, data, compressed_len, expected)),
            m => Err(Error::new(
                ErrorKind::BadCompression,
                format!("member '{name}' uses zip method {m}; only stored (0) and deflate (8) load"),
            )
            .fix("save the archive with np.savez or np.savez_compressed")),
        }
    }

    /// The raw bytes of a member, decompressed and CRC-checked; a stored
    /// member of an archive in memory is not copied.
    pub fn read(&self, name: &str) -> Result<Cow<'a, [u8]>> {
        let (entry, data, _, expected) = self.locate(name, usize::MAX)?;
        let what = format!("member '{name}'");
        let out = if entry.method == 0 { data } else { Cow::Owned(inflate_exact(&data, expected, &what)?) };
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
        let what = format!("member '{member}'");
        let header = self.member_header(&member, &what, HEADER_PREFIX).or_else(|e| {
            // A header may take more compressed bytes than the usual prefix
            // (many tiny deflate blocks); then the whole member is read.
            if e.kind() == ErrorKind::Truncated { self.member_header(&member, &what, usize::MAX) } else { Err(e) }
        });
        let (header, expected) = header.map_err(|e| e.context(&what))?;
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

    /// The `.npy` header of `member` from at most `max_data` compressed
    /// bytes, and the member's decompressed size.
    fn member_header(&self, member: &str, what: &str, max_data: usize) -> Result<(NpyHeader, usize)> {
        let (entry, data, compressed_len, expected) = self.locate(member, max_data)?;
        if entry.method == 0 {
            return Ok((npy::parse_header(&data)?, expected));
        }
        check_inflate_ratio(expected, compressed_len, what)?;
        // Magic, version, length and the longest header numpy writes.
        let prefix = inflate_prefix(&data, 12 + npy::MAX_HEADER_LEN, what)?;
        Ok((npy::parse_header(&prefix)?, expected))
    }

    /// A member parsed as an array; `name` without the `.npy` suffix.
    pub fn array(&self, name: &str) -> Result<NpyArray> {
        let bytes = self.read(&format!("{name}.npy"))?;
        npy::parse(&bytes).map_err(|e| e.context(&format!("member '{name}.npy'")))
    }
}

/// The entry count, directory size and directory offset of a zip64
/// archive, whose locator sits just before the end record at `end`.
fn read_zip64_end(source: &Source<'_>, end: u64) -> Result<(u64, u64, u64)> {
    let locator = end.checked_sub(20).ok_or_else(|| bad_archive("zip64 locator missing"))?;
    let bytes = source.fetch(locator, 20, "zip64 locator")?;
    let mut l = ByteReader::new(&bytes, "zip64 locator");
    if l.u32_le()? != ZIP64_LOCATOR_SIG {
        return Err(bad_archive("zip64 locator missing"));
    }
    let _disk = l.u32_le()?;
    let record = l.u64_le()?;
    let bytes = source.fetch(record, 56, "zip64 end record")?;
    let mut z = ByteReader::new(&bytes, "zip64 end record");
    if z.u32_le()? != ZIP64_END_SIG {
        return Err(bad_archive("zip64 end record missing"));
    }
    z.take(8 + 2 + 2 + 4 + 4 + 8)?; // size, versions, disk numbers, entries on this disk
    Ok((z.u64_le()?, z.u64_le()?, z.u64_le()?))
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

/// A stored (uncompressed) archive of `arrays`, as `np.savez` writes it.
///
/// # Errors
/// [`ErrorKind::TooLarge`] if the archive would need zip64 fields (see
/// [`write_members`]).
pub fn write(arrays: &[(&str, &[usize], &Elements)]) -> Result<Vec<u8>> {
    write_members(&npy_members(arrays), false)
}

/// A deflated archive of `arrays`, as `np.savez_compressed` writes it.
///
/// # Errors
/// As [`write()`].
pub fn write_compressed(arrays: &[(&str, &[usize], &Elements)]) -> Result<Vec<u8>> {
    write_members(&npy_members(arrays), true)
}

fn npy_members(arrays: &[(&str, &[usize], &Elements)]) -> Vec<(String, Vec<u8>)> {
    arrays.iter().map(|&(name, shape, elements)| (format!("{name}.npy"), npy::write(shape, elements))).collect()
}

/// The 32-bit and 16-bit fields of a plain (not zip64) zip archive, checked.
struct Zip32;

impl Zip32 {
    /// A size or offset of the archive as a 32-bit field. All ones is
    /// kept for "see the zip64 field", as readers take it.
    fn field(value: usize, what: &str) -> Result<u32> {
        u32::try_from(value).ok().filter(|&v| v != u32::MAX).ok_or_else(|| {
            Error::new(
                ErrorKind::TooLarge,
                format!("{what} is {value} bytes, past the 4 GiB that a zip archive without zip64 fields can hold"),
            )
            .fix("write fewer or smaller arrays per archive (each model or data file under 4 GiB)")
        })
    }

    /// A count or name length as a 16-bit field, all ones kept for zip64
    /// as in [`field`](Self::field).
    fn short(value: usize, what: &str) -> Result<u16> {
        u16::try_from(value).ok().filter(|&v| v != u16::MAX).ok_or_else(|| {
            Error::new(ErrorKind::TooLarge, format!("{what} is {value}, past the 65,534 a zip archive can hold"))
                .fix("write fewer arrays per archive, with shorter names")
        })
    }

    /// Checks one member: where it starts, its sizes and its name.
    fn member(offset: usize, size: usize, packed: usize, name: &str) -> Result<[u32; 3]> {
        let what = |field: &str| format!("{field} of member {name}");
        Self::short(name.len(), &what("the name length"))?;
        Ok([
            Self::field(offset, &what("the offset"))?,
            Self::field(size, &what("the size"))?,
            Self::field(packed, &what("the stored size"))?,
        ])
    }
}

/// A zip archive of raw members `(file name, bytes)`, each stored or
/// deflated; what [`write()`] and [`write_compressed`] make of `.npy` members.
///
/// # Errors
/// [`ErrorKind::TooLarge`] when a field would not fit a plain zip archive:
/// a member, or the archive before its directory, of 4 GiB or more (which
/// numpy writes with zip64 fields, and this writer does not), or more than
/// 65,535 members. Nothing is cast short, so no archive it returns is broken.
pub fn write_members(members: &[(String, Vec<u8>)], deflate: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let count = Zip32::short(members.len(), "the number of members")?;
    for (file_name, data) in members {
        let packed =
            if deflate { Cow::Owned(miniz_oxide::deflate::compress_to_vec(data, 6)) } else { Cow::Borrowed(data) };
        let method: u8 = if deflate { 8 } else { 0 };
        let crc = crc32(data);
        let [offset, size, packed_size] = Zip32::member(out.len(), data.len(), packed.len(), file_name)?;
        // Version 2.0, no flags, the method, time/date of 1980-01-01, CRC, sizes.
        let fields = |v: &mut Vec<u8>| {
            v.extend_from_slice(&[0, 0, method, 0, 0, 0, 0x21, 0]);
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&packed_size.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&(file_name.len() as u16).to_le_bytes());
        };
        out.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        out.extend_from_slice(&[20, 0]);
        fields(&mut out);
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        out.extend_from_slice(file_name.as_bytes());
        out.extend_from_slice(&packed);

        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0]);
        fields(&mut central);
        central.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        central.extend_from_slice(&0o100644u32.wrapping_shl(16).to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(file_name.as_bytes());
    }
    // Members each under 4 GiB can still end past it together.
    let cd_offset = Zip32::field(out.len(), "the archive before its directory")?;
    let cd_len = Zip32::field(central.len(), "the directory")?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END_SIG.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_archive_reads_back() {
        let w = Elements::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = Elements::Int(vec![7, 8]);
        let bytes = write(&[("W", &[3, 2], &w), ("b", &[2], &b)]).unwrap();
        let archive = Archive::open(&bytes).unwrap();
        assert_eq!(archive.names().collect::<Vec<_>>(), ["W.npy", "b.npy"]);
        assert_eq!(archive.array("W").unwrap(), NpyArray { shape: vec![3, 2], elements: w });
        assert_eq!(archive.array("b").unwrap().elements, b);
        assert_eq!(archive.array("missing").unwrap_err().kind(), ErrorKind::MissingMember);
    }

    #[test]
    fn compressed_archive_reads_back_and_is_smaller() {
        let w = Elements::F32(vec![0.5; 4000]);
        let stored = write(&[("W", &[40, 100], &w)]).unwrap();
        let deflated = write_compressed(&[("W", &[40, 100], &w)]).unwrap();
        assert!(deflated.len() * 10 < stored.len(), "{} vs {} bytes", deflated.len(), stored.len());
        let archive = Archive::open(&deflated).unwrap();
        assert_eq!(archive.array("W").unwrap(), NpyArray { shape: vec![40, 100], elements: w });
    }

    #[test]
    fn sizes_past_a_plain_zip_are_errors_not_wrapped_fields() {
        // The writer checks every field through Zip32; its bounds are
        // tested here without making 4 GiB of data.
        // All ones means "in the zip64 field" to a reader: the largest
        // value a plain field holds is one less.
        const LIMIT: usize = u32::MAX as usize - 1;
        assert_eq!(Zip32::member(LIMIT, LIMIT, 0, "W.npy").unwrap(), [u32::MAX - 1, u32::MAX - 1, 0]);
        for (offset, size, packed) in [(LIMIT + 1, 0, 0), (0, LIMIT + 1, 0), (0, 0, LIMIT + 1), (3 << 31, 1, 1)] {
            let error = Zip32::member(offset, size, packed, "W.npy").unwrap_err();
            assert_eq!(error.kind(), ErrorKind::TooLarge, "{offset} {size} {packed}");
            assert!(error.message().contains("member W.npy") && error.message().contains("4 GiB"), "{error}");
        }
        let long_name = "n".repeat(65_535);
        assert_eq!(Zip32::member(0, 0, 0, &long_name).unwrap_err().kind(), ErrorKind::TooLarge);
        // The directory's offset: members each under 4 GiB that end past it.
        assert_eq!(
            Zip32::field(LIMIT + 7, "the archive before its directory").unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        // Too many members, refused before any is written; the most that
        // fit read back.
        let members: Vec<(String, Vec<u8>)> = (0..65_535).map(|i| (format!("{i}.npy"), Vec::new())).collect();
        assert_eq!(write_members(&members, false).unwrap_err().kind(), ErrorKind::TooLarge);
        let archive = write_members(&members[..65_534], false).unwrap();
        assert_eq!(Archive::open(&archive).unwrap().names().count(), 65_534);
    }
}
