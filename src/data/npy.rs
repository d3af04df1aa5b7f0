//! The `.npy` format: reading every plain numeric dtype numpy writes
//! (versions 1–3, either byte order, C or Fortran order) and writing `f32`,
//! `u8` and `i64` arrays that `np.load` reads back.
//!
//! The rules followed are numpy's own (`numpy/lib/_format_impl.py`): magic
//! `\x93NUMPY`, a version, a header length, then a Python dict literal with
//! the keys `descr`, `fortran_order` and `shape`, then the raw data.

use crate::data::bytes::{ByteReader, check_data_len};
use crate::error::{Error, ErrorKind, Result};
use rayon::prelude::*;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy refuses longer headers unless told to trust the file.
pub const MAX_HEADER_LEN: usize = 10_000;

/// Element values, widened to one of four storage types.
#[derive(Clone, Debug, PartialEq)]
pub enum Elements {
    /// `u1`. (Booleans, `b1`, are refused: they are neither pixel
    /// intensities nor class labels.)
    U8(Vec<u8>),
    /// Every other integer type.
    Int(Vec<i64>),
    /// `f4`.
    F32(Vec<f32>),
    /// `f8`.
    F64(Vec<f64>),
}

impl Elements {
    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Elements::U8(v) => v.len(),
            Elements::Int(v) => v.len(),
            Elements::F32(v) => v.len(),
            Elements::F64(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// numpy's name of the stored type family, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Elements::U8(_) => "uint8",
            Elements::Int(_) => "integer",
            Elements::F32(_) => "float32",
            Elements::F64(_) => "float64",
        }
    }
}

/// An array in C (row-major) order, whatever order the file used.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Its values in C order.
    pub elements: Elements,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unsigned,
    Signed,
    Float,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dtype {
    kind: Kind,
    size: usize,
    big_endian: bool,
}

fn bad_header(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadHeader, msg).fix("the file is not a valid .npy; write it again with np.save")
}

fn parse_descr(descr: &str) -> Result<Dtype> {
    if descr.contains('O') {
        return Err(Error::new(
            ErrorKind::Pickled,
            format!("dtype '{descr}' holds pickled Python objects, which are never loaded"),
        )
        .fix("save a numeric array instead (e.g. arr.astype(np.float32))"));
    }
    let unsupported = || {
        Error::new(ErrorKind::UnsupportedDtype, format!("dtype '{descr}' is not supported"))
            .fix("save the array as uint8, an integer type, float32 or float64")
    };
    let bytes = descr.as_bytes();
    if bytes.len() < 3 {
        return Err(unsupported());
    }
    let big_endian = match bytes[0] {
        b'<' | b'|' | b'=' => false,
        b'>' => true,
        _ => return Err(unsupported()),
    };
    // `get`, not slicing: a hostile descr may put a multi-byte character here.
    let size: usize = descr.get(2..).and_then(|s| s.parse().ok()).ok_or_else(unsupported)?;
    let kind = match (bytes[1], size) {
        (b'b', 1) => {
            // 0/1 values would pass as pixels of 1/255 or as the labels A/B:
            // a silent misreading, so booleans are refused.
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("dtype '{descr}' is boolean; booleans are neither pixel values nor class labels"),
            )
            .fix("store images as uint8 (e.g. (a * 255).astype(np.uint8)) and labels as integers 0-9"));
        }
        (b'u', 1 | 2 | 4 | 8) => Kind::Unsigned,
        (b'i', 1 | 2 | 4 | 8) => Kind::Signed,
        (b'f', 4 | 8) => Kind::Float,
        _ => return Err(unsupported()),
    };
    Ok(Dtype { kind, size, big_endian })
}

/// A tiny parser for the header's Python dict literal.
struct Literal<'a> {
    s: &'a [u8],
    pos: usize,
}

enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
    Other,
}

impl<'a> Literal<'a> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && (self.s[self.pos] as char).is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(bad_header(format!("header: expected '{}' at byte {}", c as char, self.pos)))
        }
    }

    fn string(&mut self) -> Result<String> {
        let quote = self.peek().ok_or_else(|| bad_header("header ends inside the dict"))?;
        if quote != b'\'' && quote != b'"' {
            return Err(bad_header(format!("header: expected a quoted key at byte {}", self.pos)));
        }
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos] != quote {
            self.pos += 1;
        }
        if self.pos >= self.s.len() {
            return Err(bad_header("header: unterminated string"));
        }
        let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        self.pos += 1;
        Ok(text)
    }

    fn value(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => {
                self.pos += 1;
                let mut dims = Vec::new();
                loop {
                    if self.eat(b')') {
                        return Ok(Value::Tuple(dims));
                    }
                    let start = self.pos;
                    while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
                        self.pos += 1;
                    }
                    let digits = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
                    let dim: usize = digits.parse().map_err(|_| {
                        Error::new(
                            ErrorKind::BadShape,
                            format!("header: shape has a dimension that is not a size at byte {start}"),
                        )
                        .fix("the file is not a valid .npy; write it again with np.save")
                    })?;
                    dims.push(dim);
                    if !self.eat(b',') {
                        self.expect(b')')?;
                        return Ok(Value::Tuple(dims));
                    }
                }
            }
            Some(b'T') if self.s[self.pos..].starts_with(b"True") => {
                self.pos += 4;
                Ok(Value::Bool(true))
            }
            Some(b'F') if self.s[self.pos..].starts_with(b"False") => {
                self.pos += 5;
                Ok(Value::Bool(false))
            }
            Some(b'[') => Ok(Value::Other),
            _ => Err(bad_header(format!("header: unexpected value at byte {}", self.pos))),
        }
    }
}

struct Header {
    dtype: Dtype,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// What an `.npy` header declares, read without touching the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Bytes per stored element.
    pub item_size: usize,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Where the data starts.
    pub data_offset: usize,
    /// Bytes of data the shape declares.
    pub data_len: usize,
    /// Bytes of each decoded element in [`Elements`] (1, 4 or 8).
    decoded_width: usize,
    /// Whether the elements are floating point.
    float: bool,
}

impl NpyHeader {
    /// Elements the shape declares.
    pub fn elements(&self) -> usize {
        self.data_len / self.item_size
    }

    /// Whether the elements are floating point (`f4` or `f8`).
    pub fn is_float(&self) -> bool {
        self.float
    }

    /// Bytes of the decoded [`Elements`], counting the reordered copy that a
    /// Fortran-order array needs while it is reordered.
    pub fn decoded_bytes(&self) -> u64 {
        let once = (self.elements() as u64).saturating_mul(self.decoded_width as u64);
        if self.fortran_order { once.saturating_mul(2) } else { once }
    }

    /// Bytes of the whole `.npy`: header and data.
    pub fn file_len(&self) -> usize {
        self.data_offset + self.data_len
    }
}

fn parse_dict(text: &[u8]) -> Result<Header> {
    let mut p = Literal { s: text, pos: 0 };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    while !p.eat(b'}') {
        let key = p.string()?;
        p.expect(b':')?;
        let value = p.value()?;
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(parse_descr(&s)?),
            ("descr", Value::Other) => {
                return Err(Error::new(ErrorKind::UnsupportedDtype, "structured dtypes are not supported")
                    .fix("save a plain numeric array"));
            }
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (k, _) => {
                return Err(bad_header(format!("header: unexpected key or value for '{k}'")));
            }
        }
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    match (descr, fortran, shape) {
        (Some(dtype), Some(fortran_order), Some(shape)) => Ok(Header { dtype, fortran_order, shape }),
        _ => Err(bad_header("header lacks one of 'descr', 'fortran_order', 'shape'")),
    }
}

/// Parses the header at the start of `.npy` bytes (the data may be absent
/// or cut short: only the magic, version and header dict must be there).
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader> {
    let (header, data_offset) = read_header(bytes)?;
    let data_len = data_len(&header)?;
    let decoded_width = match (header.dtype.kind, header.dtype.size) {
        (Kind::Unsigned, 1) => 1,
        (Kind::Float, 4) => 4,
        _ => 8,
    };
    Ok(NpyHeader {
        shape: header.shape,
        item_size: header.dtype.size,
        fortran_order: header.fortran_order,
        data_offset,
        data_len,
        decoded_width,
        float: header.dtype.kind == Kind::Float,
    })
}

/// The magic, version and header dict; returns the header and where the data starts.
fn read_header(bytes: &[u8]) -> Result<(Header, usize)> {
    let mut r = ByteReader::new(bytes, "npy header");
    if bytes.len() < MAGIC.len() && MAGIC.starts_with(bytes) {
        return Err(Error::new(
            ErrorKind::Truncated,
            format!("file is truncated: {} bytes, not even a .npy header", bytes.len()),
        )
        .fix("the file is incomplete; write or copy it again"));
    }
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::new(ErrorKind::BadMagic, "not a .npy file (it does not start with \\x93NUMPY)")
            .fix("pass a file written by np.save or np.savez"));
    }
    r.take(MAGIC.len())?;
    let (major, minor) = (r.u8()?, r.u8()?);
    let header_len = match major {
        1 => r.u16_le()? as usize,
        2 | 3 => r.u32_le()? as usize,
        _ => {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!(".npy version {major}.{minor} is not supported (1.0–3.0 are)"),
            )
            .fix("save the file again with a current numpy"));
        }
    };
    if header_len > MAX_HEADER_LEN {
        return Err(Error::new(
            ErrorKind::HeaderTooLong,
            format!(".npy header is {header_len} bytes, over numpy's limit of {MAX_HEADER_LEN}"),
        )
        .fix("the file is corrupt or hostile; write it again with np.save"));
    }
    let header = parse_dict(r.take(header_len)?)?;
    Ok((header, r.position()))
}

/// Bytes of data the shape declares, overflow-checked.
fn data_len(header: &Header) -> Result<usize> {
    let count = header.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    // The data must also fit after the header in an addressable file.
    let len =
        count.and_then(|n| n.checked_mul(header.dtype.size)).filter(|b| b.checked_add(MAX_HEADER_LEN + 12).is_some());
    len.ok_or_else(|| {
        Error::new(ErrorKind::BadShape, format!("shape {:?} has more elements than can exist", header.shape))
            .fix("the file is corrupt; write it again")
    })
}

/// Parses a whole `.npy` file held in memory.
pub fn parse(bytes: &[u8]) -> Result<NpyArray> {
    let (header, data_offset) = read_header(bytes)?;
    let data_len = data_len(&header)?;
    // Allocation is bounded by what the file holds.
    check_data_len(data_len, bytes.len() - data_offset, &header.shape)?;
    let raw = &bytes[data_offset..];
    let mut elements = decode(raw, header.dtype)?;
    if header.fortran_order && header.shape.len() > 1 {
        elements = fortran_to_c(elements, &header.shape);
    }
    Ok(NpyArray { shape: header.shape, elements })
}

fn decode(raw: &[u8], dtype: Dtype) -> Result<Elements> {
    let words = raw.chunks_exact(dtype.size);
    let word = |w: &[u8]| -> u64 {
        let mut buf = [0u8; 8];
        if dtype.big_endian {
            buf[8 - w.len()..].copy_from_slice(w);
            u64::from_be_bytes(buf)
        } else {
            buf[..w.len()].copy_from_slice(w);
            u64::from_le_bytes(buf)
        }
    };
    Ok(match (dtype.kind, dtype.size) {
        (Kind::Unsigned, 1) => Elements::U8(raw.to_vec()),
        (Kind::Unsigned, 8) => {
            let mut out = Vec::with_capacity(raw.len() / 8);
            for w in words {
                let v = word(w);
                out.push(i64::try_from(v).map_err(|_| {
                    Error::new(ErrorKind::UnsupportedDtype, format!("uint64 value {v} does not fit in int64"))
                        .fix("store the array as int64 or a smaller type")
                })?);
            }
            Elements::Int(out)
        }
        (Kind::Unsigned, _) => Elements::Int(words.map(|w| word(w) as i64).collect()),
        (Kind::Signed, size) => {
            let shift = 64 - 8 * size as u32;
            Elements::Int(words.map(|w| ((word(w) << shift) as i64) >> shift).collect())
        }
        // Floats are the large arrays (images): decoded on all threads.
        (Kind::Float, 4) => {
            let bits = |w: &[u8]| -> [u8; 4] { w.try_into().expect("4-byte words") };
            Elements::F32(if dtype.big_endian {
                raw.par_chunks_exact(4).map(|w| f32::from_be_bytes(bits(w))).collect()
            } else {
                raw.par_chunks_exact(4).map(|w| f32::from_le_bytes(bits(w))).collect()
            })
        }
        (Kind::Float, _) => Elements::F64(raw.par_chunks_exact(8).map(|w| f64::from_bits(word(w))).collect()),
    })
}

/// Reorders column-major data of `shape` into row-major order in time
/// linear in the elements, however many dimensions the header lists: unit
/// dimensions are dropped (they move nothing), and the source offset is
/// updated incrementally as the row-major index advances.
fn fortran_to_c(elements: Elements, shape: &[usize]) -> Elements {
    let dims: Vec<usize> = shape.iter().copied().filter(|&d| d != 1).collect();
    if dims.len() <= 1 {
        // A vector (or nothing) reads the same in both orders.
        return elements;
    }
    match elements {
        Elements::U8(v) => Elements::U8(permute(&v, &dims).0),
        Elements::Int(v) => Elements::Int(permute(&v, &dims).0),
        Elements::F32(v) => Elements::F32(permute(&v, &dims).0),
        Elements::F64(v) => Elements::F64(permute(&v, &dims).0),
    }
}

/// Gathers `src` (column-major, `dims` all above 1) in row-major order;
/// also returns the steps the index took, at most twice the elements
/// because every carry passes a dimension of at least 2.
fn permute<T: Copy>(src: &[T], dims: &[usize]) -> (Vec<T>, usize) {
    let n = src.len();
    let mut out = Vec::with_capacity(n);
    let Some(last) = dims.len().checked_sub(1).filter(|_| n > 0) else {
        return (out, 0);
    };
    // Column-major strides: the first axis is contiguous. The product of
    // all dims is `n`, so none of these overflow.
    let mut strides = vec![1usize; dims.len()];
    for a in 1..dims.len() {
        strides[a] = strides[a - 1] * dims[a - 1];
    }
    let (mut index, mut offset, mut steps) = (vec![0usize; dims.len()], 0usize, 0usize);
    for _ in 0..n {
        out.push(src[offset]);
        // Advance the row-major index (last axis fastest), keeping
        // offset = sum(index[a] * strides[a]).
        let mut a = last;
        loop {
            steps += 1;
            index[a] += 1;
            offset += strides[a];
            if index[a] < dims[a] || a == 0 {
                break;
            }
            offset -= strides[a] * dims[a];
            index[a] = 0;
            a -= 1;
        }
    }
    (out, steps)
}

/// Serialises an array as a version 1.0 `.npy` in C order, little-endian.
pub fn write(shape: &[usize], elements: &Elements) -> Vec<u8> {
    let count: usize = shape.iter().product();
    assert_eq!(count, elements.len(), "shape {shape:?} does not match {} elements", elements.len());
    let descr = match elements {
        Elements::U8(_) => "|u1",
        Elements::Int(_) => "<i8",
        Elements::F32(_) => "<f4",
        Elements::F64(_) => "<f8",
    };
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Pad with spaces and end with '\n' so the data starts at a multiple of 64.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + count * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    match elements {
        Elements::U8(v) => out.extend_from_slice(v),
        Elements::Int(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Elements::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Elements::F64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_storage_type() {
        let cases = [
            (vec![2, 3], Elements::F32(vec![0.5, -1.0, 2.0, 3.0, f32::MAX, 0.0])),
            (vec![4], Elements::Int(vec![0, -9, i64::MAX, i64::MIN])),
            (vec![1, 2, 2], Elements::U8(vec![0, 1, 254, 255])),
            (vec![], Elements::F64(vec![1.25])),
        ];
        for (shape, elements) in cases {
            let bytes = write(&shape, &elements);
            let back = parse(&bytes).unwrap();
            assert_eq!(back, NpyArray { shape: shape.clone(), elements: elements.clone() });
            let header_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
            assert_eq!(header_end % 64, 0, "data of {shape:?} does not start on a 64-byte boundary");
        }
    }

    #[test]
    fn fortran_reorder_work_is_linear_in_the_elements() {
        // 1,000 elements under 4,000 unit dimensions: the unit dimensions
        // must cost nothing, the index at most two steps per element.
        let mut shape = vec![1usize; 4000];
        shape[1000] = 10;
        shape[3000] = 100;
        let data: Vec<i64> = (0..1000).collect();
        let dims: Vec<usize> = shape.iter().copied().filter(|&d| d != 1).collect();
        let (out, steps) = permute(&data, &dims);
        assert!(steps <= 2 * data.len(), "{steps} index steps for {} elements", data.len());
        // Column-major (10, 100): element (i, j) is at i + 10 j.
        assert_eq!(out[1], 10);
        assert_eq!(out[100], 1);
        assert_eq!(fortran_to_c(Elements::Int(data.clone()), &shape), Elements::Int(out));
        // Many dimensions above 1 (every carry passes a dimension of 2).
        let dims = [2usize; 12];
        let (out, steps) = permute(&(0..4096).collect::<Vec<i64>>(), &dims);
        assert!(steps <= 2 * 4096, "{steps} steps");
        assert_eq!(out[1], 2048, "the last row-major axis is the slowest column-major one");
    }

    #[test]
    fn fortran_order_is_reordered() {
        // A 2×3 array [[1,2,3],[4,5,6]] stored column-major is 1 4 2 5 3 6.
        let c = fortran_to_c(Elements::Int(vec![1, 4, 2, 5, 3, 6]), &[2, 3]);
        assert_eq!(c, Elements::Int(vec![1, 2, 3, 4, 5, 6]));
    }
}
