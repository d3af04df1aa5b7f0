//! Hand-made bad files, one per error kind, each asserting the specific
//! kind of error; every valid sample file truncated at every byte offset,
//! which must give a `Truncated` error and never a panic; and paths that
//! are not regular files (FIFOs, devices, directories, symlink loops,
//! /proc files), which must be refused at once, never block or read
//! without end, and name the path with a fix.

use crate::common;

use common::{deflate_stored, gzip, mkfifo, temp_dir, within};
use mlp_engine::data::deflate::crc32;
use mlp_engine::data::npy::{self, Elements};
use mlp_engine::data::{DataSource, Dataset, idx, npz};
use mlp_engine::training::model;
use mlp_engine::{Error, ErrorKind, Layout, Network};
use std::path::{Path, PathBuf};

/// A `.npy` with a hand-written header and raw data.
fn npy_raw(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn header(descr: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n")
}

/// One zip member as written, with every field open to corruption.
struct Member {
    name: String,
    method: u16,
    crc: u32,
    compressed: Vec<u8>,
    uncompressed_len: u32,
}

impl Member {
    fn stored(name: &str, data: &[u8]) -> Member {
        Member {
            name: name.into(),
            method: 0,
            crc: crc32(data),
            compressed: data.to_vec(),
            uncompressed_len: data.len() as u32,
        }
    }

    fn deflated(name: &str, data: &[u8]) -> Member {
        Member { method: 8, compressed: deflate_stored(data), ..Member::stored(name, data) }
    }
}

/// A zip archive of `members`; `entries` overrides the directory's count.
fn zip(members: &[Member], entries: Option<u16>) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for m in members {
        let offset = out.len() as u32;
        let fields = |v: &mut Vec<u8>| {
            v.extend_from_slice(&[0, 0]); // flags
            v.extend_from_slice(&m.method.to_le_bytes());
            v.extend_from_slice(&[0, 0, 0x21, 0]); // time, date
            v.extend_from_slice(&m.crc.to_le_bytes());
            v.extend_from_slice(&(m.compressed.len() as u32).to_le_bytes());
            v.extend_from_slice(&m.uncompressed_len.to_le_bytes());
            v.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0]);
        fields(&mut out);
        out.extend_from_slice(m.name.as_bytes());
        out.extend_from_slice(&m.compressed);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0]);
        fields(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(m.name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    let n = entries.unwrap_or(members.len() as u16);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn valid_npy() -> Vec<u8> {
    npy::write(&[2, 3], &Elements::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
}

fn images_npy() -> Vec<u8> {
    npy::write(&[2, 2, 2], &Elements::U8(vec![0, 10, 20, 30, 40, 50, 60, 255]))
}

fn labels_npy() -> Vec<u8> {
    npy::write(&[2], &Elements::Int(vec![3, 9]))
}

fn model_bytes() -> Vec<u8> {
    model::to_npz(&Network::new(Layout::new(4, 3, 10), 1, 0.0)).unwrap()
}

/// Parses an .npz archive of a data set the way `--data FILE.npz` does.
fn load_npz_bytes(bytes: &[u8]) -> Result<Dataset, mlp_engine::Error> {
    let dir = std::env::temp_dir().join(format!("mlp-bad-{}-{}", std::process::id(), crc32(bytes)));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.npz");
    std::fs::write(&path, bytes).unwrap();
    let result = Dataset::load_npz(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    result
}

fn expect(what: &str, result: Result<impl std::fmt::Debug, mlp_engine::Error>, kind: ErrorKind) {
    match result {
        Ok(v) => panic!("{what}: accepted, gave {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: wrong kind of error: {e}");
            assert!(e.to_string().contains("fix:"), "{what}: the message suggests no fix: {e}");
        }
    }
}

#[test]
fn each_bad_npy_gives_its_own_error() {
    let f4 = [0u8; 24];
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        (
            "bad magic",
            b"\x93NUMPZ\x01\x00".iter().copied().chain(valid_npy()[8..].iter().copied()).collect(),
            ErrorKind::BadMagic,
        ),
        ("not npy at all", b"hello, world".to_vec(), ErrorKind::BadMagic),
        ("version 4.0", npy_raw(4, &header("<f4", "(2, 3)"), &f4), ErrorKind::UnsupportedVersion),
        ("complex dtype", npy_raw(1, &header("<c8", "(3,)"), &f4), ErrorKind::UnsupportedDtype),
        ("half floats", npy_raw(1, &header("<f2", "(12,)"), &f4), ErrorKind::UnsupportedDtype),
        ("multibyte descr", npy_raw(3, &header("<é4", "(6,)"), &f4), ErrorKind::UnsupportedDtype),
        (
            "structured dtype",
            npy_raw(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }\n", &f4),
            ErrorKind::UnsupportedDtype,
        ),
        ("pickled objects", npy_raw(1, &header("|O", "(3,)"), &f4), ErrorKind::Pickled),
        (
            "header over 10,000 bytes",
            npy_raw(2, &format!("{}{}", header("<f4", "(6,)"), " ".repeat(10_001)), &f4),
            ErrorKind::HeaderTooLong,
        ),
        ("header not a dict", npy_raw(1, "[1, 2, 3]\n", &f4), ErrorKind::BadHeader),
        ("header without shape", npy_raw(1, "{'descr': '<f4', 'fortran_order': False}\n", &f4), ErrorKind::BadHeader),
        ("unterminated string", npy_raw(1, "{'descr: '<f4'", &f4), ErrorKind::BadHeader),
        ("shape overflows", npy_raw(1, &header("<f4", "(4294967296, 4294967296, 16)"), &f4), ErrorKind::BadShape),
        ("shape not numbers", npy_raw(1, &header("<f4", "(a, b)"), &f4), ErrorKind::BadShape),
        ("shape exceeds the data", npy_raw(1, &header("<f4", "(100, 784)"), &f4), ErrorKind::Truncated),
        ("data beyond the shape", npy_raw(1, &header("<f4", "(2,)"), &f4), ErrorKind::BadShape),
        (
            "uint64 beyond int64",
            npy_raw(1, &header("<u8", "(1,)"), &u64::MAX.to_le_bytes()),
            ErrorKind::UnsupportedDtype,
        ),
    ];
    for (what, bytes, kind) in cases {
        expect(what, npy::parse(&bytes), kind);
    }
}

#[test]
fn each_bad_npz_gives_its_own_error() {
    let (images, labels) = (images_npy(), labels_npy());
    let good = || vec![Member::stored("images.npy", &images), Member::deflated("labels.npy", &labels)];
    assert!(load_npz_bytes(&zip(&good(), None)).is_ok(), "the well-formed archive must load");
    let corrupt = |f: &dyn Fn(&mut Vec<Member>)| {
        let mut members = good();
        f(&mut members);
        zip(&members, None)
    };
    let mut not_zip = zip(&good(), None);
    not_zip[0] = b'X';
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        ("not a zip", not_zip, ErrorKind::BadMagic),
        ("CRC mismatch", corrupt(&|m| m[0].crc ^= 1), ErrorKind::Checksum),
        ("missing member", corrupt(&|m| m[1].name = "label.npy".into()), ErrorKind::MissingMember),
        ("stored sizes disagree", corrupt(&|m| m[0].uncompressed_len += 1), ErrorKind::BadArchive),
        ("deflate past declared size", corrupt(&|m| m[1].uncompressed_len -= 1), ErrorKind::DecompressionBomb),
        ("deflate short of declared size", corrupt(&|m| m[1].uncompressed_len += 1), ErrorKind::BadArchive),
        (
            "declared size beyond any deflate ratio",
            corrupt(&|m| m[1].uncompressed_len = u32::MAX - 1),
            ErrorKind::BadArchive,
        ),
        ("garbage deflate", corrupt(&|m| m[1].compressed[0] = 0x07), ErrorKind::BadCompression),
        ("unknown method", corrupt(&|m| m[1].method = 12), ErrorKind::BadCompression),
        (
            "member not npy",
            corrupt(&|m| *m = vec![Member::stored("images.npy", b"junk"), Member::stored("labels.npy", &labels)]),
            ErrorKind::BadMagic,
        ),
        ("more entries than the directory holds", zip(&good(), Some(40)), ErrorKind::BadArchive),
    ];
    for (what, bytes, kind) in cases {
        expect(what, load_npz_bytes(&bytes), kind);
    }
    // A directory pointing outside the file.
    let mut bytes = zip(&good(), None);
    let n = bytes.len();
    bytes[n - 6..n - 2].copy_from_slice(&(n as u32 * 2).to_le_bytes());
    expect("directory outside the file", load_npz_bytes(&bytes), ErrorKind::BadArchive);
    // A local header offset past the end.
    let mut bytes = zip(&good(), None);
    let cd = u32::from_le_bytes(bytes[n - 6..n - 2].try_into().unwrap()) as usize;
    bytes[cd + 42..cd + 46].copy_from_slice(&(n as u32 + 100).to_le_bytes());
    expect("member offset past the end", load_npz_bytes(&bytes), ErrorKind::Truncated);
}

#[test]
fn each_bad_data_set_gives_its_own_error() {
    let data = |images: (&[usize], Elements), labels: (&[usize], Elements)| {
        zip(
            &[
                Member::stored("images.npy", &npy::write(images.0, &images.1)),
                Member::stored("labels.npy", &npy::write(labels.0, &labels.1)),
            ],
            None,
        )
    };
    let px = |n: usize| Elements::U8(vec![7; n]);
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        ("counts differ", data((&[3, 4], px(12)), (&[2], Elements::Int(vec![0, 1]))), ErrorKind::CountMismatch),
        ("label 10", data((&[2, 4], px(8)), (&[2], Elements::Int(vec![0, 10]))), ErrorKind::LabelOutOfRange),
        ("label -1", data((&[2, 4], px(8)), (&[2], Elements::Int(vec![-1, 0]))), ErrorKind::LabelOutOfRange),
        (
            "NaN pixel",
            data((&[1, 2], Elements::F32(vec![0.5, f32::NAN])), (&[1], Elements::U8(vec![1]))),
            ErrorKind::NonFinite,
        ),
        (
            "infinite pixel",
            data((&[1, 2], Elements::F64(vec![f64::INFINITY, 0.0])), (&[1], Elements::U8(vec![1]))),
            ErrorKind::NonFinite,
        ),
        (
            "float64 pixel beyond float32",
            data((&[2, 2], Elements::F64(vec![0.0, 0.5, 1e300, 0.0])), (&[2], Elements::U8(vec![1, 2]))),
            ErrorKind::NonFinite,
        ),
        ("no rows", data((&[0, 784], px(0)), (&[0], Elements::Int(vec![]))), ErrorKind::Empty),
        ("float labels", data((&[1, 2], px(2)), (&[1], Elements::F32(vec![1.0]))), ErrorKind::UnsupportedDtype),
        (
            "wide integer pixels",
            data((&[1, 2], Elements::Int(vec![1, 2])), (&[1], Elements::U8(vec![1]))),
            ErrorKind::UnsupportedDtype,
        ),
        ("labels 2-D", data((&[2, 2], px(4)), (&[2, 1], Elements::Int(vec![0, 1]))), ErrorKind::BadShape),
        ("images 1-D", data((&[4], px(4)), (&[4], Elements::Int(vec![0, 1, 2, 3]))), ErrorKind::BadShape),
    ];
    for (what, bytes, kind) in cases {
        expect(what, load_npz_bytes(&bytes), kind);
    }
    // The value the file holds is named, not the infinity it would become.
    let huge = data((&[2, 2], Elements::F64(vec![0.0, 0.5, 1e300, 0.0])), (&[2], Elements::U8(vec![1, 2])));
    let message = load_npz_bytes(&huge).unwrap_err().to_string();
    assert!(
        message.contains("image 1 has a value float32 cannot hold: NaN, infinite or beyond its range (1e300)"),
        "{message}"
    );
}

#[test]
fn each_bad_idx_or_gzip_gives_its_own_error() {
    let good = idx::write_u8(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    let mut bad_type = good.clone();
    bad_type[2] = 0x07;
    let mut no_dims = good.clone();
    no_dims[3] = 0;
    let mut not_idx = good.clone();
    not_idx[0] = 1;
    let huge = [0u8, 0, 0x08, 2, 0, 0, 255, 255, 0, 0, 255, 255];
    let overflowing = [0u8, 0, 0x08, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255];
    for (what, bytes, kind) in [
        ("not IDX", not_idx, ErrorKind::BadMagic),
        ("unknown type", bad_type, ErrorKind::UnsupportedDtype),
        ("no dimensions", no_dims, ErrorKind::BadShape),
        ("dimensions beyond the data", huge.to_vec(), ErrorKind::Truncated),
        ("dimensions overflow", overflowing.to_vec(), ErrorKind::BadShape),
        ("data beyond the dimensions", [good.clone(), vec![0]].concat(), ErrorKind::BadShape),
    ] {
        expect(what, idx::parse(&bytes), kind);
    }
    let mut bad_crc = gzip(&good);
    let n = bad_crc.len();
    bad_crc[n - 5] ^= 0x40;
    let mut bad_method = gzip(&good);
    bad_method[2] = 7;
    let mut bad_size = gzip(&good);
    bad_size[n - 4] ^= 1;
    for (what, bytes, kind) in [
        ("gzip CRC", bad_crc, ErrorKind::Checksum),
        ("gzip length", bad_size, ErrorKind::Checksum),
        ("gzip method", bad_method, ErrorKind::BadCompression),
        ("not gzip", good.clone(), ErrorKind::BadMagic),
    ] {
        expect(what, idx::gunzip(&bytes), kind);
    }
    assert_eq!(idx::gunzip(&gzip(&good)).unwrap(), good);
}

#[test]
fn each_bad_model_gives_its_own_error() {
    let t = |name: &str, shape: &[usize], v: Elements| Member::stored(&format!("{name}.npy"), &npy::write(shape, &v));
    let f = |n: usize| Elements::F32(vec![0.1; n]);
    let model = |w_h: Member, b_h: Member, w_o: Member, b_o: Member| zip(&[w_h, b_h, w_o, b_o], None);
    let good = || (t("W_h", &[4, 3], f(12)), t("b_h", &[3], f(3)), t("W_o", &[3, 10], f(30)), t("b_o", &[10], f(10)));
    let (w_h, b_h, w_o, b_o) = good();
    assert!(model::from_npz(&model(w_h, b_h, w_o, b_o), Path::new("m.npz")).is_ok());
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        (
            "W_o rows differ from H",
            {
                let (a, b, _, d) = good();
                model(a, b, t("W_o", &[4, 10], f(40)), d)
            },
            ErrorKind::BadModel,
        ),
        (
            "b_h length",
            {
                let (a, _, c, d) = good();
                model(a, t("b_h", &[2], f(2)), c, d)
            },
            ErrorKind::BadModel,
        ),
        (
            "b_o length",
            {
                let (a, b, c, _) = good();
                model(a, b, c, t("b_o", &[9], f(9)))
            },
            ErrorKind::BadModel,
        ),
        (
            "W_h 1-D",
            {
                let (_, b, c, d) = good();
                model(t("W_h", &[12], f(12)), b, c, d)
            },
            ErrorKind::BadModel,
        ),
        (
            "integer weights",
            {
                let (_, b, c, d) = good();
                model(t("W_h", &[4, 3], Elements::Int(vec![0; 12])), b, c, d)
            },
            ErrorKind::BadModel,
        ),
        (
            "NaN weight",
            {
                let (a, b, _, d) = good();
                model(a, b, t("W_o", &[3, 10], Elements::F32(vec![f32::NAN; 30])), d)
            },
            ErrorKind::BadModel,
        ),
        (
            "missing b_o",
            {
                let (a, b, c, _) = good();
                zip(&[a, b, c], None)
            },
            ErrorKind::MissingMember,
        ),
    ];
    for (what, bytes, kind) in cases {
        let result = model::from_npz(&bytes, Path::new("m.npz"));
        assert!(
            result.as_ref().err().is_some_and(|e| e.to_string().starts_with("m.npz")),
            "{what}: the error must name the file"
        );
        expect(what, result.map(|n| n.layout()), kind);
    }
}

#[test]
fn every_truncation_of_every_valid_file_is_reported_as_truncated() {
    let npz_data =
        zip(&[Member::stored("images.npy", &images_npy()), Member::deflated("labels.npy", &labels_npy())], None);
    let idx_file = idx::write_u8(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("npy", valid_npy()),
        ("npz", npz_data),
        ("model", model_bytes()),
        ("idx", idx_file.clone()),
        ("idx.gz", gzip(&idx_file)),
    ];
    for (name, bytes) in files {
        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            let result = match name {
                "npy" => npy::parse(prefix).map(|_| ()),
                "npz" => npz::Archive::open(prefix).and_then(|a| a.array("images").map(|_| ())),
                "model" => model::from_npz(prefix, Path::new("m.npz")).map(|_| ()),
                "idx" => idx::parse(prefix).map(|_| ()),
                _ => idx::gunzip(prefix).map(|_| ()),
            };
            match result {
                Ok(()) => panic!("{name} cut to {len} of {} bytes was accepted", bytes.len()),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Truncated, "{name} cut to {len} of {} bytes: {e}", bytes.len())
                }
            }
        }
    }
}

/// Which reader a case goes through.
#[derive(Clone, Copy, Debug)]
enum Reader {
    Npz,
    IdxImages,
    IdxLabels,
    IdxDir,
    Model,
}

fn run(reader: Reader, path: &Path, dir: &Path) -> Result<(), Error> {
    let good_images = dir.join("good-images-idx3-ubyte");
    let good_labels = dir.join("good-labels-idx1-ubyte");
    match reader {
        Reader::Npz => DataSource::Npz(path.to_path_buf()).load().map(|_| ()),
        Reader::IdxImages => Dataset::load_idx_pair(path, &good_labels).map(|_| ()),
        Reader::IdxLabels => Dataset::load_idx_pair(&good_images, path).map(|_| ()),
        Reader::IdxDir => Dataset::load_idx_dir(path).map(|_| ()),
        Reader::Model => model::load(path).map(|_| ()),
    }
}

#[test]
fn paths_that_are_not_regular_files_are_refused_quickly_with_a_fix() {
    let dir = temp_dir("special");
    std::fs::write(dir.join("good-images-idx3-ubyte"), idx::write_u8(&[1, 2, 2], &[0, 1, 2, 3])).unwrap();
    std::fs::write(dir.join("good-labels-idx1-ubyte"), idx::write_u8(&[1], &[3])).unwrap();
    let fifo = dir.join("pipe.npz");
    mkfifo(&fifo);
    let zero_link = dir.join("zero.npz");
    std::os::unix::fs::symlink("/dev/zero", &zero_link).unwrap();
    let (loop_a, loop_b) = (dir.join("loop-a.npz"), dir.join("loop-b.npz"));
    std::os::unix::fs::symlink(&loop_b, &loop_a).unwrap();
    std::os::unix::fs::symlink(&loop_a, &loop_b).unwrap();
    let sub = dir.join("folder.npz");
    std::fs::create_dir(&sub).unwrap();
    // A folder of IDX files in which the image file is a FIFO.
    let fifo_dir = dir.join("fifo-folder");
    std::fs::create_dir(&fifo_dir).unwrap();
    let fifo_member = fifo_dir.join("x-images-idx3-ubyte");
    mkfifo(&fifo_member);
    std::fs::write(fifo_dir.join("x-labels-idx1-ubyte"), idx::write_u8(&[1], &[3])).unwrap();
    let model_fifo = dir.join("model.npz");
    mkfifo(&model_fifo);
    let dev_zero = PathBuf::from("/dev/zero");

    // (what, reader, path given, path the error must name, kind, words the message must hold)
    let cases: Vec<(&str, Reader, PathBuf, PathBuf, ErrorKind, &str)> = vec![
        ("FIFO as --data", Reader::Npz, fifo.clone(), fifo.clone(), ErrorKind::NotRegularFile, "FIFO"),
        ("FIFO as --images", Reader::IdxImages, fifo.clone(), fifo.clone(), ErrorKind::NotRegularFile, "FIFO"),
        ("FIFO as --labels", Reader::IdxLabels, fifo.clone(), fifo.clone(), ErrorKind::NotRegularFile, "FIFO"),
        ("FIFO as --model", Reader::Model, model_fifo.clone(), model_fifo, ErrorKind::NotRegularFile, "FIFO"),
        ("FIFO in a --data folder", Reader::IdxDir, fifo_dir, fifo_member, ErrorKind::NotRegularFile, "FIFO"),
        ("/dev/zero", Reader::Npz, dev_zero.clone(), dev_zero.clone(), ErrorKind::NotRegularFile, "character device"),
        ("/dev/zero as --images", Reader::IdxImages, dev_zero.clone(), dev_zero, ErrorKind::NotRegularFile, "device"),
        (
            "symlink to /dev/zero",
            Reader::Npz,
            zero_link.clone(),
            zero_link.clone(),
            ErrorKind::NotRegularFile,
            "device",
        ),
        (
            "symlink to /dev/zero as model",
            Reader::Model,
            zero_link.clone(),
            zero_link,
            ErrorKind::NotRegularFile,
            "device",
        ),
        (
            "a directory as --data FILE.npz",
            Reader::Npz,
            sub.clone(),
            sub.clone(),
            ErrorKind::NotRegularFile,
            "directory",
        ),
        ("a directory as --model", Reader::Model, sub.clone(), sub, ErrorKind::NotRegularFile, "directory"),
        ("a symlink loop", Reader::Npz, loop_a.clone(), loop_a.clone(), ErrorKind::Io, "symbolic links"),
        ("a symlink loop as --labels", Reader::IdxLabels, loop_a.clone(), loop_a, ErrorKind::Io, "cannot"),
        ("/proc/self/mem", Reader::Npz, "/proc/self/mem".into(), "/proc/self/mem".into(), ErrorKind::Io, "cannot read"),
        (
            "/proc/self/status",
            Reader::Model,
            "/proc/self/status".into(),
            "/proc/self/status".into(),
            ErrorKind::NotRegularFile,
            "virtual file",
        ),
        (
            "a missing file",
            Reader::Npz,
            dir.join("absent.npz"),
            dir.join("absent.npz"),
            ErrorKind::Io,
            "check the path",
        ),
    ];
    for (what, reader, path, named, kind, words) in cases {
        let dir2 = dir.clone();
        let result = within(what, 10, move || run(reader, &path, &dir2));
        let err = result.err().unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(err.kind(), kind, "{what}: {err}");
        assert_eq!(err.path(), Some(named.as_path()), "{what}: names the wrong file: {err}");
        let text = err.to_string();
        assert!(text.contains("\n  fix: "), "{what}: no fix line: {text}");
        assert!(text.contains(words), "{what}: the message should say '{words}': {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_io_error_carries_a_fix_whatever_the_os_error() {
    let kinds = [
        std::io::ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied,
        std::io::ErrorKind::InvalidData,
        std::io::ErrorKind::UnexpectedEof,
        std::io::ErrorKind::Other,
    ];
    for kind in kinds {
        let err = Error::io(Path::new("f"), "read the file", &std::io::Error::from(kind));
        assert!(err.fix_text().is_some_and(|f| !f.is_empty()), "{kind:?}: no fix: {err}");
    }
    for code in [5, 40, 21, 20, 24, 105] {
        let err = Error::io(Path::new("f"), "read the file", &std::io::Error::from_raw_os_error(code));
        assert!(err.fix_text().is_some(), "errno {code}: no fix: {err}");
    }
}

#[test]
fn label_errors_name_the_label_file() {
    let dir = temp_dir("label-names");
    let images = dir.join("t-images-idx3-ubyte");
    std::fs::write(&images, idx::write_u8(&[2, 2, 2], &[0; 8])).unwrap();
    // IDX label files of other element types, written by hand.
    let idx_of = |type_code: u8, data: &[u8]| {
        let mut out = vec![0, 0, type_code, 1, 0, 0, 0, 2];
        out.extend_from_slice(data);
        out
    };
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        ("label 10", idx::write_u8(&[2], &[0, 10]), ErrorKind::LabelOutOfRange),
        ("label 255", idx::write_u8(&[2], &[255, 1]), ErrorKind::LabelOutOfRange),
        ("negative label", idx_of(0x09, &[1, 0xFF]), ErrorKind::LabelOutOfRange),
        ("int32 label 12", idx_of(0x0C, &[0, 0, 0, 1, 0, 0, 0, 12]), ErrorKind::LabelOutOfRange),
        ("float labels", idx_of(0x0D, &[0x3F, 0x80, 0, 0, 0, 0, 0, 0]), ErrorKind::UnsupportedDtype),
        ("2-D labels", idx::write_u8(&[2, 1], &[0, 1]), ErrorKind::BadShape),
    ];
    for (what, bytes, kind) in cases {
        let labels = dir.join(format!("{}-labels-idx1-ubyte", what.replace(' ', "_")));
        std::fs::write(&labels, bytes).unwrap();
        let err = Dataset::load_idx_pair(&images, &labels).unwrap_err();
        assert_eq!(err.kind(), kind, "{what}: {err}");
        assert_eq!(err.path(), Some(labels.as_path()), "{what}: the error must name the label file: {err}");
        assert!(err.fix_text().is_some(), "{what}: no fix: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An `.npy` header for `descr` and `shape`, padded as numpy pads it.
fn npy_header_bytes(descr: &str, fortran: bool, shape: &str) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut text = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    let unpadded = 10 + text.len() + 1;
    text.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// A deflated member holding an `.npy` header and `zeros` zero bytes of
/// data, made in milliseconds however large; its CRC is left 0 because
/// computing it would take as long as the load the test must avoid.
fn zero_member(name: &str, header: &[u8], zeros: usize) -> Member {
    Member {
        name: name.into(),
        method: 8,
        crc: 0,
        compressed: common::deflate_then_zeros(header, zeros),
        uncompressed_len: u32::try_from(header.len() + zeros).unwrap(),
    }
}

#[test]
fn probe_reads_headers_only_of_small_files_that_declare_huge_data() {
    let dir = temp_dir("probe-huge");
    // 1,300,000 images of 784 bytes (1 GB) in a ~6 MB deflated .npz.
    let rows = 1_300_000usize;
    let images = npy_header_bytes("|u1", false, &format!("({rows}, 784)"));
    let labels = npy_header_bytes("|u1", false, &format!("({rows},)"));
    let archive =
        zip(&[zero_member("images.npy", &images, rows * 784), zero_member("labels.npy", &labels, rows)], None);
    assert!(archive.len() < 8 << 20, "the test file is {} bytes", archive.len());
    let npz_path = dir.join("huge.npz");
    std::fs::write(&npz_path, &archive).unwrap();
    // The same as an IDX pair of .gz files.
    let image_idx = [0u8, 0, 8, 3, 0, 0x13, 0xD6, 0x20, 0, 0, 0, 28, 0, 0, 0, 28];
    assert_eq!(u32::from_be_bytes(image_idx[4..8].try_into().unwrap()) as usize, rows);
    let label_idx = [0u8, 0, 8, 1, 0, 0x13, 0xD6, 0x20];
    let gz_images = dir.join("huge-images-idx3-ubyte.gz");
    let gz_labels = dir.join("huge-labels-idx1-ubyte.gz");
    std::fs::write(&gz_images, common::gzip_member(&common::deflate_then_zeros(&image_idx, rows * 784), 0, 0)).unwrap();
    std::fs::write(&gz_labels, common::gzip_member(&common::deflate_then_zeros(&label_idx, rows), 0, 0)).unwrap();
    let sources = [
        ("npz", DataSource::Npz(npz_path)),
        ("IDX .gz pair", DataSource::IdxPair { images: gz_images, labels: gz_labels }),
        ("IDX folder", DataSource::IdxDir(dir.clone())),
    ];
    for (what, source) in sources {
        let started = std::time::Instant::now();
        let shape = within(what, 10, move || source.probe()).unwrap_or_else(|e| panic!("{what}: {e}"));
        let took = started.elapsed();
        assert_eq!((shape.rows, shape.features), (rows, 784), "{what}");
        // The f32 images alone are 4 GB; the bound counts them and more.
        assert!(shape.load_bytes >= (rows * 784 * 5) as u64, "{what}: load_bytes {} too small", shape.load_bytes);
        assert!(took.as_secs_f64() < 2.0, "{what}: probe took {took:?}; it must not inflate the data");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn probe_agrees_with_load_and_refuses_what_load_refuses() {
    let dir = temp_dir("probe-agrees");
    let px: Vec<u8> = (0..6 * 4).map(|i| i as u8).collect();
    let labels = Elements::Int(vec![0, 1, 2, 3, 4, 5]);
    let good = dir.join("good.npz");
    std::fs::write(
        &good,
        npz::write(&[("images", &[6, 2, 2], &Elements::U8(px.clone())), ("labels", &[6], &labels)]).unwrap(),
    )
    .unwrap();
    let deflated = dir.join("deflated.npz");
    let members = [
        Member::deflated("images.npy", &npy::write(&[6, 4], &Elements::U8(px.clone()))),
        Member::deflated("labels.npy", &npy::write(&[6], &labels)),
    ];
    std::fs::write(&deflated, zip(&members, None)).unwrap();
    std::fs::write(dir.join("p-images-idx3-ubyte.gz"), gzip(&idx::write_u8(&[6, 2, 2], &px))).unwrap();
    std::fs::write(dir.join("p-labels-idx1-ubyte.gz"), gzip(&idx::write_u8(&[6], &[0, 1, 2, 3, 4, 5]))).unwrap();
    let sources = [
        DataSource::Npz(good),
        DataSource::Npz(deflated),
        DataSource::IdxPair { images: dir.join("p-images-idx3-ubyte.gz"), labels: dir.join("p-labels-idx1-ubyte.gz") },
        DataSource::IdxDir(dir.clone()),
        DataSource::Sample,
        DataSource::Synthetic { rows: 7, seed: 1 },
    ];
    for source in sources {
        let shape = source.probe().unwrap_or_else(|e| panic!("{source:?}: {e}"));
        let data = source.load().unwrap();
        assert_eq!((shape.rows, shape.features), (data.rows(), data.features), "{source:?}");
        assert!(shape.load_bytes >= shape.dataset_bytes(), "{source:?}");
    }
    // Refused by probe as by load, with the same kind of error.
    let bad = |name: &str, images: (&[usize], Elements), labels: (&[usize], Elements)| {
        let path = dir.join(name);
        std::fs::write(&path, npz::write(&[("images", images.0, &images.1), ("labels", labels.0, &labels.1)]).unwrap())
            .unwrap();
        DataSource::Npz(path)
    };
    let cases = [
        (
            bad("count.npz", (&[2, 2], Elements::U8(vec![0; 4])), (&[3], Elements::Int(vec![0; 3]))),
            ErrorKind::CountMismatch,
        ),
        (bad("flat.npz", (&[4], Elements::U8(vec![0; 4])), (&[4], Elements::Int(vec![0; 4]))), ErrorKind::BadShape),
        (bad("empty.npz", (&[0, 4], Elements::U8(vec![])), (&[0], Elements::Int(vec![]))), ErrorKind::Empty),
    ];
    for (source, kind) in cases {
        assert_eq!(source.probe().unwrap_err().kind(), kind, "{source:?}");
        assert_eq!(source.load().unwrap_err().kind(), kind, "{source:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn model_probe_reads_a_huge_model_from_headers_only() {
    // H = 1,000,000: W_h alone is 3.1 GB of float32 zeros, in ~20 MB.
    let hidden = 1_000_000usize;
    let f4 = |shape: &str| npy_header_bytes("<f4", false, shape);
    let members = [
        zero_member("W_h.npy", &f4(&format!("(784, {hidden})")), 784 * hidden * 4),
        zero_member("b_h.npy", &f4(&format!("({hidden},)")), hidden * 4),
        zero_member("W_o.npy", &f4(&format!("({hidden}, 10)")), hidden * 40),
        zero_member("b_o.npy", &f4("(10,)"), 40),
    ];
    let bytes = zip(&members, None);
    let layout = within("model probe", 10, move || model::probe_npz(&bytes, Path::new("big.npz")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((layout.inputs, layout.hidden, layout.classes), (784, hidden, 10));
    // The probe refuses bad shapes and types as loading does.
    let small = |w_o: &str, descr: &str| {
        let h = |d: &str, s: &str| npy_header_bytes(d, false, s);
        let m = [
            zero_member("W_h.npy", &h(descr, "(4, 3)"), 12 * 4),
            zero_member("b_h.npy", &h("<f4", "(3,)"), 12),
            zero_member("W_o.npy", &h("<f4", w_o), 4 * 30),
            zero_member("b_o.npy", &h("<f4", "(10,)"), 40),
        ];
        model::probe_npz(&zip(&m, None), Path::new("m.npz"))
    };
    assert!(small("(3, 10)", "<f4").is_ok());
    expect("W_o rows differ", small("(30, 1)", "<f4"), ErrorKind::BadModel);
    expect("integer W_h", small("(3, 10)", "<i4"), ErrorKind::BadModel);
}

#[test]
fn fortran_order_with_thousands_of_unit_dimensions_loads_in_linear_time() {
    // 8,000,000 elements under 3,998 unit dimensions: the old reorder did
    // work proportional to elements × dimensions (minutes).
    let mut shape = "(2000, ".to_string();
    shape.push_str(&"1,".repeat(3998));
    shape.push_str("4000)");
    let mut bytes = npy_header_bytes("|u1", true, &shape);
    assert!(bytes.len() < 10_000);
    let n = 2000 * 4000;
    bytes.extend((0..n).map(|i| (i % 251) as u8));
    let array = within("fortran reorder", 5, move || npy::parse(&bytes)).unwrap();
    let Elements::U8(v) = array.elements else { panic!("not u8") };
    // Row-major (i, j) is column-major offset i + 2000 j.
    assert_eq!(v[1], (2000 % 251) as u8);
    assert_eq!(v[4000], 1);
}

#[test]
fn multi_member_gzip_reads_every_member_and_checks_each() {
    let data = idx::write_u8(&[3, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let (a, b) = data.split_at(7);
    let joined = [gzip(a), gzip(b)].concat();
    assert_eq!(idx::gunzip(&joined).unwrap(), data);
    // Three members, one empty, and trailing zero padding.
    assert_eq!(idx::gunzip(&[gzip(a), gzip(&[]), gzip(b), vec![0; 5]].concat()).unwrap(), data);
    let mut bad_crc = joined.clone();
    let n = bad_crc.len();
    bad_crc[n - 6] ^= 1;
    let mut bad_len = joined.clone();
    bad_len[n - 3] ^= 1;
    let mut bad_first = joined.clone();
    let first_trailer = gzip(a).len() - 8;
    bad_first[first_trailer] ^= 1;
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        ("second member's CRC", bad_crc, ErrorKind::Checksum),
        ("second member's length", bad_len, ErrorKind::Checksum),
        ("first member's CRC", bad_first, ErrorKind::Checksum),
        ("second member cut short", joined[..n - 10].to_vec(), ErrorKind::Truncated),
        ("garbage after the members", [joined.clone(), b"junk".to_vec()].concat(), ErrorKind::BadMagic),
    ];
    for (what, bytes, kind) in cases {
        expect(what, idx::gunzip(&bytes), kind);
    }
    // As files: a data set whose image file is two members.
    let dir = temp_dir("multi-gzip");
    std::fs::write(dir.join("m-images-idx3-ubyte.gz"), &joined).unwrap();
    std::fs::write(dir.join("m-labels-idx1-ubyte.gz"), [gzip(&idx::write_u8(&[3], &[1, 2, 3]))].concat()).unwrap();
    let ds = Dataset::load_idx_dir(&dir).unwrap();
    assert_eq!((ds.rows(), ds.features, ds.labels.clone()), (3, 4, vec![1, 2, 3]));
    assert_eq!(ds.images[11], 12.0 / 255.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn boolean_arrays_are_refused() {
    let b1 = |shape: &str, n: usize| npy_raw(1, &header("|b1", shape), &vec![1u8; n]);
    let cases = [
        ("boolean images", b1("(2, 4)", 8), npy::write(&[2], &Elements::Int(vec![0, 1]))),
        ("boolean labels", npy::write(&[2, 4], &Elements::U8(vec![9; 8])), b1("(2,)", 2)),
    ];
    for (what, images, labels) in cases {
        let bytes = zip(&[Member::stored("images.npy", &images), Member::stored("labels.npy", &labels)], None);
        let result = load_npz_bytes(&bytes);
        let message = result.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
        expect(what, result, ErrorKind::UnsupportedDtype);
        assert!(message.contains("boolean"), "{what}: {message}");
    }
}

#[test]
fn an_idx_folder_holding_the_same_data_twice_is_refused() {
    let images = idx::write_u8(&[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]);
    let other = idx::write_u8(&[2, 2, 2], &[7, 6, 5, 4, 3, 2, 1, 0]);
    let labels = idx::write_u8(&[2], &[0, 1]);
    type Files = Vec<(&'static str, Vec<u8>)>;
    let cases: Vec<(&str, Files)> = vec![
        (
            "a file beside its gzipped copy",
            vec![
                ("t-images-idx3-ubyte", images.clone()),
                ("t-images-idx3-ubyte.gz", gzip(&images)),
                ("t-labels-idx1-ubyte", labels.clone()),
                ("t-labels-idx1-ubyte.gz", gzip(&labels)),
            ],
        ),
        (
            "two pairs of identical images",
            vec![
                ("a-images-idx3-ubyte", images.clone()),
                ("a-labels-idx1-ubyte", labels.clone()),
                ("b-images-idx3-ubyte.gz", gzip(&images)),
                ("b-labels-idx1-ubyte.gz", gzip(&idx::write_u8(&[2], &[5, 6]))),
                ("c-images-idx3-ubyte", other.clone()),
                ("c-labels-idx1-ubyte", labels.clone()),
            ],
        ),
    ];
    for (i, (what, files)) in cases.into_iter().enumerate() {
        let dir = temp_dir(&format!("dupes-{i}"));
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        expect(what, Dataset::load_idx_dir(&dir).map(|d| d.rows()), ErrorKind::Duplicate);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // Different pairs still pool.
    let dir = temp_dir("dupes-distinct");
    for (name, bytes) in [
        ("a-images-idx3-ubyte", images),
        ("a-labels-idx1-ubyte", labels.clone()),
        ("c-images-idx3-ubyte", other),
        ("c-labels-idx1-ubyte", labels),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    assert_eq!(Dataset::load_idx_dir(&dir).unwrap().rows(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes a stored (uncompressed) `.npz` whose members are an `.npy` header
/// followed by `zeros` zero bytes left as a hole in a sparse file: gigabytes
/// of valid archive that take no disk space and no time to make.
fn sparse_npz(path: &Path, members: &[(&str, Vec<u8>, u64)]) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::File::create(path).unwrap();
    let mut central = Vec::new();
    let mut offset = 0u64;
    for (name, header, zeros) in members {
        let size = u32::try_from(header.len() as u64 + zeros).unwrap();
        let fields = |v: &mut Vec<u8>| {
            v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x21, 0]); // flags, stored, time, date
            v.extend_from_slice(&0u32.to_le_bytes()); // CRC (a probe does not check it)
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        let mut local = 0x0403_4b50u32.to_le_bytes().to_vec();
        local.extend_from_slice(&[20, 0]);
        fields(&mut local);
        local.extend_from_slice(name.as_bytes());
        local.extend_from_slice(header);
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.write_all(&local).unwrap();
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0]);
        fields(&mut central);
        central.extend_from_slice(&[0; 10]); // comment length, disk, attributes
        central.extend_from_slice(&u32::try_from(offset).unwrap().to_le_bytes());
        central.extend_from_slice(name.as_bytes());
        offset += local.len() as u64 + zeros;
    }
    let mut end = 0x0605_4b50u32.to_le_bytes().to_vec();
    end.extend_from_slice(&[0, 0, 0, 0]);
    end.extend_from_slice(&(members.len() as u16).to_le_bytes());
    end.extend_from_slice(&(members.len() as u16).to_le_bytes());
    end.extend_from_slice(&(central.len() as u32).to_le_bytes());
    end.extend_from_slice(&u32::try_from(offset).unwrap().to_le_bytes());
    end.extend_from_slice(&[0, 0]);
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&central).unwrap();
    file.write_all(&end).unwrap();
}

#[test]
fn probe_of_a_stored_npz_reads_its_directory_and_headers_not_its_data() {
    // 5,000,000 images of 784 bytes: a 3.9 GB stored archive (sparse on disk).
    let dir = temp_dir("probe-sparse");
    let rows = 5_000_000u64;
    let path = dir.join("big.npz");
    sparse_npz(
        &path,
        &[
            ("images.npy", npy_header_bytes("|u1", false, &format!("({rows}, 784)")), rows * 784),
            ("labels.npy", npy_header_bytes("<i8", false, &format!("({rows},)")), rows * 8),
        ],
    );
    let source = DataSource::Npz(path.clone());
    let shape = within("sparse probe", 10, move || source.probe()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((shape.rows as u64, shape.features), (rows, 784));
    // File, u8 images, f32 images, i64 labels (twice: raw and decoded), u8 labels.
    assert!(shape.load_bytes >= rows * (784 + 784 + 784 * 4 + 8 + 8 + 1), "{}", shape.load_bytes);
    // A model file is probed the same way.
    let model_path = dir.join("model.npz");
    let f4 = |shape: &str| npy_header_bytes("<f4", false, shape);
    let hidden = 1_000_000u64;
    sparse_npz(
        &model_path,
        &[
            ("W_h.npy", f4(&format!("(784, {hidden})")), 784 * hidden * 4),
            ("b_h.npy", f4(&format!("({hidden},)")), hidden * 4),
            ("W_o.npy", f4(&format!("({hidden}, 10)")), hidden * 40),
            ("b_o.npy", f4("(10,)"), 40),
        ],
    );
    let layout = within("sparse model probe", 10, move || model::probe(&model_path)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(layout.hidden, hidden as usize);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the `mlp` binary, failing the test if it takes more than 20 s.
fn mlp_within(args: Vec<String>) -> std::process::Output {
    within("mlp", 20, move || std::process::Command::new(env!("CARGO_BIN_EXE_mlp")).args(args).output().unwrap())
}

#[test]
fn mlp_refuses_data_and_models_too_large_before_inflating_them() {
    let dir = temp_dir("mlp-too-large");
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // A few MB declaring 1.3 million images: a split beyond them is a wrong
    // flag, known from the headers (no inflation first).
    let rows = 1_300_000usize;
    let header = |descr: &str, shape: String| npy_header_bytes(descr, false, &shape);
    let members = [
        zero_member("images.npy", &header("|u1", format!("({rows}, 784)")), rows * 784),
        zero_member("labels.npy", &header("|u1", format!("({rows},)")), rows),
    ];
    let huge = dir.join("huge.npz");
    std::fs::write(&huge, zip(&members, None)).unwrap();
    let out = mlp_within(args(&["train", "--data", huge.to_str().unwrap(), "--split", "2000000,100"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--split") && stderr.contains(&rows.to_string()), "{stderr}");
    // Data whose float32 images alone exceed this machine's memory (an IDX
    // pair of .gz files, which has no 4 GB member limit): refused as a file
    // error naming the size and the limit, before anything is inflated.
    let memory = mlp_engine::data::machine_memory_bytes().expect("Linux MemTotal");
    let rows = u32::try_from(memory / (784 * 4) + 1).expect("rows fit an IDX dimension");
    let mut image_idx = vec![0u8, 0, 8, 3];
    for d in [rows, 28, 28] {
        image_idx.extend_from_slice(&d.to_be_bytes());
    }
    let mut label_idx = vec![0u8, 0, 8, 1];
    label_idx.extend_from_slice(&rows.to_be_bytes());
    let (images, labels) = (dir.join("too-big-images-idx3-ubyte.gz"), dir.join("too-big-labels-idx1-ubyte.gz"));
    let zeros = rows as usize * 784;
    std::fs::write(&images, common::gzip_member(&common::deflate_then_zeros(&image_idx, zeros), 0, 0)).unwrap();
    std::fs::write(&labels, common::gzip_member(&common::deflate_then_zeros(&label_idx, rows as usize), 0, 0)).unwrap();
    let out = mlp_within(args(&["train", "--images", images.to_str().unwrap(), "--labels", labels.to_str().unwrap()]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("too-big-images") && stderr.contains("would need") && stderr.contains("GiB"), "{stderr}");
    // A model of a million hidden units in a few MB: `mlp eval` refuses it
    // from its headers before inflating 3 GB and allocating its workspace.
    let hidden = 1_000_000usize;
    let f4 = |shape: String| header("<f4", shape);
    let members = [
        zero_member("W_h.npy", &f4(format!("(784, {hidden})")), 784 * hidden * 4),
        zero_member("b_h.npy", &f4(format!("({hidden},)")), hidden * 4),
        zero_member("W_o.npy", &f4(format!("({hidden}, 10)")), hidden * 40),
        zero_member("b_o.npy", &f4("(10,)".into()), 40),
    ];
    let model = dir.join("model.npz");
    std::fs::write(&model, zip(&members, None)).unwrap();
    let out = mlp_within(args(&["eval", "--model", model.to_str().unwrap()]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("model.npz") && stderr.contains("would need"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_leading_zero_dimension_does_not_hide_an_overflowing_image_size() {
    // 0 × 2³²−1 × 2³²−1 × 2³²−1: no data, but the per-image size overflows.
    let mut images = vec![0u8, 0, 8, 4];
    for d in [0u32, u32::MAX, u32::MAX, u32::MAX] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    let labels = [0u8, 0, 8, 1, 0, 0, 0, 0];
    let err = Dataset::from_idx_bytes(&images, &labels, "zero-rows".into()).unwrap_err();
    // Refused for its shape, not passed as "no images" after a wrapped product.
    assert_eq!(err.kind(), ErrorKind::BadShape, "{err}");
}
