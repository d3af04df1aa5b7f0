//! Helpers shared by the integration tests: comparisons that print the worst
//! element, and deterministic test data.
#![allow(dead_code)]

use mlp_engine::engine::rng::Rng;

/// Asserts `|fast − reference| ≤ tol · max|reference|` elementwise: an error
/// relative to the tensor's own scale (floored at 1e-9 so that an all-zero
/// tensor must come out as zeros to within 1e-9·tol). On failure prints the
/// worst index, both values and the difference.
pub fn assert_close(what: &str, fast: &[f32], reference: &[f64], tol: f64) {
    assert_eq!(fast.len(), reference.len(), "{what}: lengths differ");
    let scale = reference.iter().fold(1e-9f64, |m, v| m.max(v.abs()));
    let mut worst = (0usize, 0.0f64);
    for (i, (&f, &r)) in fast.iter().zip(reference).enumerate() {
        let d = (f64::from(f) - r).abs();
        if d.is_nan() || d > worst.1 {
            worst = (i, if d.is_nan() { f64::INFINITY } else { d });
        }
    }
    let (i, d) = worst;
    if !fast.is_empty() {
        assert!(
            d <= tol * scale,
            "{what}: worst element {i}: fast {} vs reference {} (difference {d:.3e} > {tol:.1e} × scale {scale:.3e})",
            fast[i],
            reference[i]
        );
    }
}

/// Scalar version of [`assert_close`].
pub fn assert_close_scalar(what: &str, fast: f64, reference: f64, tol: f64) {
    let d = (fast - reference).abs();
    assert!(d <= tol * reference.abs().max(1.0), "{what}: fast {fast} vs reference {reference} (difference {d:.3e})");
}

/// `rows × cols` values in [0, 1), like scaled pixels, with about a third
/// exactly zero (as in glyph images).
pub fn pixels(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols)
        .map(|_| {
            let u = rng.uniform();
            if u < 0.33 { 0.0 } else { u as f32 }
        })
        .collect()
}

/// `n` labels below `classes`.
pub fn labels(rng: &mut Rng, n: usize, classes: usize) -> Vec<u8> {
    (0..n).map(|_| rng.below(classes as u64) as u8).collect()
}

/// Raw deflate data made of stored blocks: valid deflate, so tests can build
/// compressed files without an encoder.
pub fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[]] } else { data.chunks(65_535).collect() };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// A single-member gzip file of `data` (stored deflate blocks).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend_from_slice(&deflate_stored(data));
    out.extend_from_slice(&mlp_engine::data::deflate::crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Runs `f` on its own thread and fails the test if it has not returned
/// within `seconds`: a reader that blocks (on a FIFO, say) fails the test
/// instead of hanging the suite.
pub fn within<T: Send + 'static>(what: &str, seconds: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(seconds)) {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer within {seconds} s (blocked or far too slow)"),
    }
}

/// The `mlp` binary of this build, ready for arguments.
pub fn mlp_command() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_mlp"))
}

/// Runs `mlp` with `args` to the end and returns what it printed.
pub fn mlp(args: &[&str]) -> std::process::Output {
    mlp_command().args(args).output().expect("run mlp")
}

/// `mlp-test-<process>-<module>-<name>` in the temporary folder. One test
/// program holds the tests of many modules, run at once on the harness's
/// threads, and two modules may pick the same name: the calling test's
/// module (libtest names each test's thread after its path, e.g.
/// `report::sweep_report_compares_the_sizes`) keeps their folders apart.
fn test_path(name: &str) -> std::path::PathBuf {
    let thread = std::thread::current();
    let module = thread.name().and_then(|path| path.rsplit_once("::")).map(|(module, _)| module.replace("::", "-"));
    let tag = module.map_or_else(|| name.to_string(), |module| format!("{module}-{name}"));
    std::env::temp_dir().join(format!("mlp-test-{}-{tag}", std::process::id()))
}

/// A path unique to this test process and module that does not exist
/// (anything left there by an earlier run is removed): a new `--out` folder.
pub fn fresh_path(name: &str) -> std::path::PathBuf {
    let dir = test_path(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// An empty folder unique to this test process and module.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = test_path(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Makes a FIFO at `path` with the system's `mkfifo`.
pub fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo {} failed", path.display());
}

/// Raw deflate (one fixed-Huffman block) of `prefix` followed by `zeros`
/// zero bytes, built by hand: runs of zeros become back-references of
/// length 258 at distance 1 (13 bits each), so a gigabyte of zeros takes
/// about 6 MB and milliseconds to make, without an encoder.
pub fn deflate_then_zeros(prefix: &[u8], zeros: usize) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.bits(1, 1); // final block
    w.bits(1, 2); // fixed Huffman codes
    let literal = |w: &mut BitWriter, v: u8| {
        if v < 144 { w.code(0x30 + u32::from(v), 8) } else { w.code(0x190 + u32::from(v) - 144, 9) }
    };
    prefix.iter().for_each(|&b| literal(&mut w, b));
    let mut left = zeros;
    if left > 0 {
        literal(&mut w, 0);
        left -= 1;
    }
    while left >= 258 {
        w.code(0xC5, 8); // length code 285: 258 bytes
        w.code(0, 5); // distance code 0: distance 1
        left -= 258;
    }
    (0..left).for_each(|_| literal(&mut w, 0));
    w.code(0, 7); // end of block
    w.finish()
}

/// Writes bits least significant first, as deflate packs them.
#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn bits(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, which deflate stores most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = code.reverse_bits() >> (32 - len);
        self.bits(reversed, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A gzip member of the given raw deflate data, with the CRC and length given.
pub fn gzip_member(deflated: &[u8], crc: u32, len: u32) -> Vec<u8> {
    let mut out = vec![0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend_from_slice(deflated);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out
}

/// Waits for `child`, killing it and failing the test after `limit`.
pub fn wait_limited(mut child: std::process::Child, limit: std::time::Duration) -> std::process::Output {
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("mlp did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.wait_with_output().expect("output")
}

/// Rows of a run folder's `metrics.csv` so far, its header not counted
/// (0 before it exists).
pub fn metric_rows(dir: &std::path::Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.csv")).map(|t| t.lines().count().saturating_sub(1)).unwrap_or(0)
}
