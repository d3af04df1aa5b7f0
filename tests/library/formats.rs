//! The .npy / .npz / IDX readers against files numpy wrote (in
//! `tests/fixtures/npz/`, values in its EXPECTED.txt), round trips through
//! our writers, gzip, the shipped notMNIST sample, and numpy's shuffle
//! against its fixtures. Every fixture is committed: a missing one fails.

use crate::common;

use common::gzip;
use std::path::{Path, PathBuf};

use mlp_engine::ErrorKind;
use mlp_engine::data::npy::{self, Elements};
use mlp_engine::data::shuffle::{Mt19937, numpy_permutation};
use mlp_engine::data::{Dataset, idx, npz};

/// A file under the repository's `tests/fixtures/` or `data/`; a missing
/// one fails the test (the files are committed, so absence is a broken clone).
fn repo_file(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    assert!(p.exists(), "{} is missing: it is part of the repository", p.display());
    p
}

/// EXPECTED.txt: per file, a line `NAME dtype=.. shape=(..) fortran_order=..`
/// followed by a line of values in C order.
/// (file name, shape, values in C order) of one fixture.
type Fixture = (String, Vec<usize>, Vec<f64>);

fn expected_values() -> Vec<Fixture> {
    let path = repo_file("tests/fixtures/npz/EXPECTED.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let mut out = Vec::new();
    for pair in lines.chunks(2) {
        let [head, values] = pair else { continue };
        if !head.contains("shape=") {
            continue;
        }
        let name = head.split_whitespace().next().unwrap().to_string();
        let shape_text = head.split("shape=(").nth(1).unwrap().split(')').next().unwrap();
        let shape = shape_text.split(',').filter_map(|d| d.trim().parse().ok()).collect();
        let values = values.split_whitespace().map(|v| v.parse().unwrap()).collect();
        out.push((name, shape, values));
    }
    assert!(out.len() >= 6, "{} lists only {} fixtures", path.display(), out.len());
    out
}

fn as_f64(e: &Elements) -> Vec<f64> {
    match e {
        Elements::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Elements::Int(v) => v.iter().map(|&x| x as f64).collect(),
        Elements::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Elements::F64(v) => v.clone(),
    }
}

#[test]
fn numpy_written_npy_files_read_exactly() {
    let expected = expected_values();
    let dir = repo_file("tests/fixtures/npz");
    let npy_files: Vec<_> = expected.iter().filter(|(n, ..)| n.ends_with(".npy")).collect();
    assert!(npy_files.len() >= 6, "EXPECTED.txt lists {} .npy files", npy_files.len());
    for (name, shape, values) in npy_files {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let array = npy::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&array.shape, shape, "{name} shape");
        // Printed values are exact decimal expansions of the stored floats.
        assert_eq!(&as_f64(&array.elements), values, "{name} values");
        // And our writer round-trips them exactly.
        let again = npy::parse(&npy::write(&array.shape, &array.elements)).unwrap();
        assert_eq!(again, array, "{name} round trip");
    }
}

#[test]
fn numpy_written_npz_archives_read_stored_and_deflated() {
    let expected = expected_values();
    let dir = repo_file("tests/fixtures/npz");
    let find = |n: &str| expected.iter().find(|(name, ..)| name == n).cloned().unwrap();
    let (_, image_shape, image_values) = find("u8_3x4x5.npy");
    let (_, _, label_values) = find("i8_4.npy");
    for file in ["stored.npz", "deflated.npz"] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let archive = npz::Archive::open(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let images = archive.array("images").unwrap();
        assert_eq!(images.shape, image_shape, "{file}");
        assert_eq!(as_f64(&images.elements), image_values, "{file}");
        assert_eq!(as_f64(&archive.array("labels").unwrap().elements), label_values, "{file}");
        // The fixture pairs 3 images with 4 labels: as a data set it is refused.
        let err = Dataset::load_npz(&dir.join(file)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CountMismatch, "{err}");
        assert!(err.to_string().contains("3 images but 4 labels"), "{err}");
    }
}

#[test]
fn dataset_loader_refuses_mismatched_or_bad_arrays() {
    let dir = std::env::temp_dir().join(format!("mlp-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, images: (&[usize], Elements), labels: (&[usize], Elements)| {
        let path = dir.join(name);
        std::fs::write(&path, npz::write(&[("images", images.0, &images.1), ("labels", labels.0, &labels.1)]).unwrap())
            .unwrap();
        path
    };
    let ok =
        write("ok.npz", (&[2, 2, 2], Elements::U8(vec![0, 255, 1, 2, 3, 4, 5, 6])), (&[2], Elements::Int(vec![3, 4])));
    let ds = Dataset::load_npz(&ok).unwrap();
    assert_eq!((ds.rows(), ds.features, ds.images[1], ds.labels.clone()), (2, 4, 1.0, vec![3, 4]));
    let cases = [
        (
            write("count.npz", (&[2, 2], Elements::U8(vec![0; 4])), (&[3], Elements::Int(vec![0, 1, 2]))),
            ErrorKind::CountMismatch,
        ),
        (
            write("label.npz", (&[2, 2], Elements::U8(vec![0; 4])), (&[2], Elements::Int(vec![0, 10]))),
            ErrorKind::LabelOutOfRange,
        ),
        (
            write("neg.npz", (&[2, 2], Elements::U8(vec![0; 4])), (&[2], Elements::Int(vec![-1, 0]))),
            ErrorKind::LabelOutOfRange,
        ),
        (
            write(
                "nan.npz",
                (&[2, 2], Elements::F32(vec![0.0, f32::NAN, 0.0, 0.0])),
                (&[2], Elements::Int(vec![0, 1])),
            ),
            ErrorKind::NonFinite,
        ),
        (write("empty.npz", (&[0, 4], Elements::U8(vec![])), (&[0], Elements::Int(vec![]))), ErrorKind::Empty),
        (
            write("flabels.npz", (&[2, 2], Elements::U8(vec![0; 4])), (&[2], Elements::F32(vec![0.0, 1.0]))),
            ErrorKind::UnsupportedDtype,
        ),
    ];
    for (path, kind) in cases {
        let err = Dataset::load_npz(&path).unwrap_err();
        assert_eq!(err.kind(), kind, "{}: {err}", path.display());
        assert!(err.to_string().contains(&path.display().to_string()), "error does not name the file: {err}");
    }
    let only_images = dir.join("members.npz");
    std::fs::write(&only_images, npz::write(&[("images", &[1, 1], &Elements::U8(vec![0]))]).unwrap()).unwrap();
    assert_eq!(Dataset::load_npz(&only_images).unwrap_err().kind(), ErrorKind::MissingMember);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn idx_files_plain_and_gzipped_load_as_a_pool() {
    let dir = std::env::temp_dir().join(format!("mlp-idx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let images: Vec<u8> = (0..5 * 784).map(|i| (i % 256) as u8).collect();
    let labels = [0u8, 1, 2, 3, 9];
    std::fs::write(dir.join("a-images-idx3-ubyte"), idx::write_u8(&[5, 28, 28], &images)).unwrap();
    std::fs::write(dir.join("a-labels-idx1-ubyte"), idx::write_u8(&[5], &labels)).unwrap();
    // The second pair differs from the first: equal files are refused as duplicates.
    let mut other = images.clone();
    other[0] = 77;
    std::fs::write(dir.join("b-images-idx3-ubyte.gz"), gzip(&idx::write_u8(&[5, 28, 28], &other))).unwrap();
    std::fs::write(dir.join("b-labels-idx1-ubyte.gz"), gzip(&idx::write_u8(&[5], &labels))).unwrap();
    let pool = Dataset::load_idx_dir(&dir).unwrap();
    assert_eq!((pool.rows(), pool.features), (10, 784));
    assert_eq!(&pool.labels[..], &[0, 1, 2, 3, 9, 0, 1, 2, 3, 9]);
    assert_eq!(pool.images[784 * 5 + 255], 1.0);
    // A gzip file whose CRC is wrong is refused.
    let mut bad = gzip(&idx::write_u8(&[5], &labels));
    let n = bad.len();
    bad[n - 8] ^= 1;
    std::fs::write(dir.join("b-labels-idx1-ubyte.gz"), bad).unwrap();
    assert_eq!(Dataset::load_idx_dir(&dir).unwrap_err().kind(), ErrorKind::Checksum);
    // Labels of another count.
    std::fs::write(dir.join("b-labels-idx1-ubyte.gz"), gzip(&idx::write_u8(&[4], &labels[..4]))).unwrap();
    assert_eq!(Dataset::load_idx_dir(&dir).unwrap_err().kind(), ErrorKind::CountMismatch);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shipped_notmnist_sample_loads() {
    let dir = repo_file("data/notmnist-t10k");
    let ds = Dataset::load_idx_dir(&dir).unwrap();
    assert_eq!((ds.rows(), ds.features), (10_000, 784));
    let mut per_class = [0usize; 10];
    ds.labels.iter().for_each(|&y| per_class[y as usize] += 1);
    assert_eq!(per_class, [1000; 10], "the sample holds 1,000 images per letter");
    assert!(ds.images.iter().all(|&v| (0.0..=1.0).contains(&v)));
    let split = ds.split(6000, 2000, 521).unwrap();
    assert_eq!((split.train, split.valid, split.test), (6000, 2000, 2000));
    assert_eq!(ds.split(10_000, 1, 521).unwrap_err().kind(), ErrorKind::BadSplit);
}

fn read_numbers(rel: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(repo_file(rel)).unwrap();
    text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(|l| l.trim().parse().unwrap()).collect()
}

#[test]
fn mt19937_matches_numpy_raw_outputs() {
    let expected = read_numbers("tests/fixtures/mt19937-seed521.txt");
    assert_eq!(expected.len(), 8);
    let mut mt = Mt19937::new(521);
    let got: Vec<u64> = expected.iter().map(|_| u64::from(mt.next_u32())).collect();
    assert_eq!(got, expected);
}

#[test]
fn shuffle_matches_numpy_course_permutations() {
    for (n, file) in [
        (18_724, "tests/fixtures/numpy-shuffle-seed521-n18724.txt"),
        (10_000, "tests/fixtures/numpy-shuffle-seed521-n10000.txt"),
    ] {
        let expected = read_numbers(file);
        assert_eq!(expected.len(), n);
        let got: Vec<u64> = numpy_permutation(n, 521).into_iter().map(|i| i as u64).collect();
        assert_eq!(got, expected, "permutation of {n}");
    }
}

#[test]
fn split_orders_rows_by_the_permutation() {
    let ds = Dataset {
        images: (0..20).map(|i| i as f32).collect(),
        labels: (0..10).map(|i| i as u8).collect(),
        features: 2,
        source: "t".into(),
    };
    let split = ds.split(6, 3, 521).unwrap();
    let perm = numpy_permutation(10, 521);
    for (row, &src) in perm.iter().enumerate() {
        assert_eq!(split.labels[row] as usize, src);
        assert_eq!(split.images[row * 2], (src * 2) as f32);
    }
    assert_eq!((split.train, split.valid, split.test), (6, 3, 1));
}

#[test]
fn into_split_permutes_in_place_exactly_as_split_gathers() {
    for (n, d, seed) in [(1usize, 3usize, 521u32), (2, 1, 0), (10, 2, 521), (997, 5, 7), (4096, 3, 12345)] {
        let ds = Dataset {
            images: (0..n * d).map(|i| i as f32).collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            features: d,
            source: "t".into(),
        };
        let train = (n / 2).max(1);
        let valid = (n - train) / 2;
        let perm = numpy_permutation(n, seed);
        let mine = ds.clone();
        let buffer = mine.images.as_ptr();
        let split = mine.into_split(train, valid, seed).unwrap();
        // The rows were permuted in the data set's own buffer, not copied out.
        assert_eq!(split.images.as_ptr(), buffer, "n {n}: into_split made a second copy of the images");
        assert_eq!((split.train, split.valid, split.test), (train, valid, n - train - valid));
        for (row, &src) in perm.iter().enumerate() {
            assert_eq!(split.labels[row], ds.labels[src], "n {n} row {row}");
            assert_eq!(split.images[row * d..(row + 1) * d], ds.images[src * d..(src + 1) * d], "n {n} row {row}");
        }
        let copy = ds.split(train, valid, seed).unwrap();
        assert_eq!((copy.images, copy.labels), (split.images, split.labels));
    }
    let ds = Dataset { images: vec![0.0; 4], labels: vec![0; 2], features: 2, source: "t".into() };
    assert_eq!(ds.clone().into_split(0, 1, 1).unwrap_err().kind(), ErrorKind::BadSplit);
    assert_eq!(ds.into_split(2, 1, 1).unwrap_err().kind(), ErrorKind::BadSplit);
}
