//! The machine's two roofs, measured: the FMA peak (the compute roof) and
//! the memory bandwidth (the memory roof) that `mlp bench` and `mlp
//! profile` hold their rates against.
//!
//! **FMA peak.** Every rayon thread runs [`CHAINS`] independent
//! multiply-add chains in registers at the widest vector level the engine's
//! GEMM uses on this CPU: AVX-512 (16 lanes; matrixmultiply's micro-kernel
//! when the CPU has `avx512f`), else AVX2+FMA (8 lanes), else the portable
//! build's separate multiply and add. Each chain and lane starts from its
//! own value, read through `black_box`: chains that started equal could be
//! merged by the compiler into one, and the loop would then time a single
//! chain and report several times the real peak.
//!
//! A core clock measured the same way (a chain of dependent one-cycle
//! integer operations) turns the figure into flops per cycle per core, the
//! check that it is physically possible: two FMA pipes give at most 2 × 8
//! lanes × 2 = 32 with AVX2, and 2 × 16 × 2 = 64 with AVX-512 (CPUs that
//! split a 512-bit operation into two 256-bit halves, as AMD's Zen 4 does,
//! reach 32 at either width).
//!
//! **Memory bandwidth.** STREAM's copy (`c ← a`) and triad (`a ← b + s·c`)
//! over three buffers of [`STREAM_BYTES`] each, far beyond any cache, split
//! over the run's rayon threads; bytes are counted as STREAM counts them
//! (each element read or written once, no write-allocate traffic).
//!
//! Both are measured in rounds and keep every round's figure: a machine
//! shared with other work gives a spread, and a spread wider than a few
//! percent is reported as a noisy measurement rather than hidden.

use std::hint::black_box;
use std::time::Instant;

/// Independent accumulators per thread: enough to cover the FMA latency
/// (4 cycles) on two pipes with room to spare, few enough for 16 registers.
pub const CHAINS: usize = 12;
/// f32 lanes per chain of the AVX2+FMA and portable builds (one 256-bit
/// register); the AVX-512 chains have 16.
const LANES: usize = 8;

/// The vector level a peak is measured at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// 512-bit FMA, 16 f32 lanes.
    Avx512,
    /// 256-bit FMA, 8 f32 lanes.
    Avx2Fma,
    /// Whatever the baseline target makes of a separate multiply and add.
    Portable,
}

impl Level {
    /// The widest level this CPU runs: that of the GEMM micro-kernel.
    pub fn widest() -> Level {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Level::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Level::Avx2Fma;
            }
        }
        Level::Portable
    }

    /// `"avx512f"`, `"avx2+fma"` or `"portable"`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Avx512 => "avx512f",
            Level::Avx2Fma => "avx2+fma",
            Level::Portable => "portable",
        }
    }
}

/// A measured peak.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    /// All threads together, GFLOP/s (a multiply-add counts as 2 flops):
    /// the best round.
    pub gflops: f64,
    /// The worst round, GFLOP/s: with `gflops`, the spread of the rounds.
    pub min_gflops: f64,
    /// Threads that ran at once.
    pub threads: usize,
    /// Measured core clock, GHz.
    pub clock_ghz: f64,
    /// The level's name (see [`Level::name`]).
    pub level: &'static str,
}

impl Peak {
    /// Flops per cycle per thread: at most 32 for AVX2+FMA on two pipes, 64
    /// for AVX-512 on two 512-bit pipes.
    pub fn flops_per_cycle(&self) -> f64 {
        self.gflops / self.threads as f64 / self.clock_ghz
    }

    /// The spread of the rounds relative to the best: 0 on a quiet machine.
    pub fn spread(&self) -> f64 {
        1.0 - self.min_gflops / self.gflops
    }

    /// Both measurements as one: the best and the worst of all their rounds.
    pub fn merge(self, other: Peak) -> Peak {
        Peak {
            gflops: self.gflops.max(other.gflops),
            min_gflops: self.min_gflops.min(other.min_gflops),
            clock_ghz: self.clock_ghz.max(other.clock_ghz),
            ..self
        }
    }
}

#[inline(always)]
fn chains_body<const FUSED: bool>(
    start: [[f32; LANES]; CHAINS],
    m: f32,
    a: f32,
    iters: usize,
) -> [[f32; LANES]; CHAINS] {
    let mut acc = start;
    for _ in 0..iters {
        for chain in &mut acc {
            for v in chain.iter_mut() {
                *v = if FUSED { v.mul_add(m, a) } else { *v * m + a };
            }
        }
    }
    acc
}

/// The AVX-512 chains, written with intrinsics: LLVM turns the plain
/// array form of [`chains_body`] at 16 lanes into gathers and scatters.
/// Returns the sum of every lane, so that no chain is dead code.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn chains_avx512(start: [[f32; 16]; CHAINS], m: f32, a: f32, iters: usize) -> f32 {
    use std::arch::x86_64::{_mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps, _mm512_setr_ps, _mm512_setzero_ps};
    let mut acc = [_mm512_setzero_ps(); CHAINS];
    for (v, c) in acc.iter_mut().zip(&start) {
        #[rustfmt::skip]
        let lanes = _mm512_setr_ps(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15]);
        *v = lanes;
    }
    let (m, a) = (_mm512_set1_ps(m), _mm512_set1_ps(a));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, m, a);
        }
    }
    let mut sum = 0.0;
    for v in acc {
        sum += _mm512_reduce_add_ps(v);
    }
    sum
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chains_avx2_fma(start: [[f32; LANES]; CHAINS], m: f32, a: f32, iters: usize) -> [[f32; LANES]; CHAINS] {
    chains_body::<true>(start, m, a, iters)
}

/// Start values: every chain and lane its own, through `black_box`.
fn starts<const L: usize>(seed: usize) -> [[f32; L]; CHAINS] {
    black_box(std::array::from_fn(|c| std::array::from_fn(|l| 1.0 + ((seed * CHAINS + c) * L + l) as f32 * 1e-4)))
}

/// Runs the chains on this thread; returns GFLOP/s.
fn one_thread(level: Level, seed: usize, iters: usize) -> f64 {
    let (m, a) = (black_box(0.999_999_9f32), black_box(1e-7f32));
    let t = Instant::now();
    let lanes = match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 if std::is_x86_feature_detected!("avx512f") => {
            // SAFETY: avx512f was detected at run time just above.
            black_box(unsafe { chains_avx512(starts(seed), m, a, iters) });
            16
        }
        #[cfg(target_arch = "x86_64")]
        Level::Avx2Fma if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") => {
            // SAFETY: both features were detected at run time just above.
            black_box(unsafe { chains_avx2_fma(starts(seed), m, a, iters) });
            LANES
        }
        _ => {
            black_box(chains_body::<false>(starts(seed), m, a, iters));
            LANES
        }
    };
    let seconds = t.elapsed().as_secs_f64();
    (iters * CHAINS * lanes * 2) as f64 / seconds / 1e9
}

/// Core clock in GHz: a chain of dependent rotate-and-xor steps, two
/// one-cycle operations each, that no compiler can shorten.
fn clock_ghz() -> f64 {
    let iters = 20_000_000u64;
    let key = black_box(0x9E37_79B9_7F4A_7C15u64);
    let mut best = 0.0f64;
    for _ in 0..3 {
        let mut x = black_box(1u64);
        let t = Instant::now();
        for _ in 0..iters {
            x = x.rotate_left(7) ^ key;
        }
        let seconds = t.elapsed().as_secs_f64();
        black_box(x);
        best = best.max(2.0 * iters as f64 / seconds / 1e9);
    }
    best
}

/// Measures the FMA peak of every rayon thread running at once, three
/// rounds of about 50 ms, at [`Level::widest`].
pub fn measure() -> Peak {
    let level = Level::widest();
    let iters = match level {
        Level::Avx512 => 15_000_000,
        Level::Avx2Fma => 30_000_000,
        Level::Portable => 7_500_000,
    };
    let (mut best, mut worst) = (0.0f64, f64::INFINITY);
    for _ in 0..3 {
        let rates = rayon::broadcast(|ctx| one_thread(level, ctx.index(), iters));
        let total: f64 = rates.iter().sum();
        (best, worst) = (best.max(total), worst.min(total));
    }
    Peak {
        gflops: best,
        min_gflops: worst,
        threads: rayon::current_num_threads(),
        clock_ghz: clock_ghz(),
        level: level.name(),
    }
}

/// Bytes of each of the three STREAM buffers: 128 MiB, four times the
/// largest L3 a core of this class sees (32 MB on AMD's Zen 3 and 4), so
/// that every pass streams from memory.
pub const STREAM_BYTES: usize = 128 << 20;
/// Bytes of all three STREAM buffers (384 MiB), held while the bandwidth
/// is measured: counted in a benchmark's memory check.
pub const BANDWIDTH_BYTES: u64 = 3 * STREAM_BYTES as u64;
/// Elements per rayon task of a STREAM pass (4 MiB of each buffer).
const STREAM_CHUNK: usize = 1 << 20;
/// Timed rounds of each kernel; the best counts, as in STREAM.
const STREAM_ROUNDS: usize = 5;

/// A measured memory bandwidth, GB/s (10⁹ bytes per second).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bandwidth {
    /// `c ← a`: 8 bytes per element; the best round.
    pub copy_gbs: f64,
    /// `a ← b + s·c`: 12 bytes per element; the best round.
    pub triad_gbs: f64,
    /// The worst round of either kernel, relative to that kernel's best,
    /// the larger of the two: 0 on a quiet machine.
    pub spread: f64,
    /// Threads that ran at once.
    pub threads: usize,
    /// Bytes of each buffer.
    pub buffer_bytes: usize,
}

impl Bandwidth {
    /// The memory roof: the better of copy and triad.
    pub fn roof_gbs(&self) -> f64 {
        self.copy_gbs.max(self.triad_gbs)
    }
}

/// Measures STREAM copy and triad on every rayon thread, over buffers of
/// [`STREAM_BYTES`] (384 MiB in all, allocated for the measurement and
/// freed after it), alternating the two kernels round by round.
pub fn measure_bandwidth() -> Bandwidth {
    use rayon::prelude::*;
    let n = STREAM_BYTES / 4;
    // Filled by all threads, so each page is first touched by the thread
    // that will stream it (and no page fault lands in a timed round).
    let filled = |v: f32| {
        let mut buffer = Vec::with_capacity(n);
        buffer.par_extend(rayon::iter::repeat_n(v, n));
        buffer
    };
    let (mut a, b, mut c) = (filled(1.0f32), filled(2.0f32), filled(0.5f32));
    let scalar = black_box(3.0f32);
    let timed = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    let (mut copy, mut triad) = (Vec::new(), Vec::new());
    for _ in 0..STREAM_ROUNDS {
        let seconds = timed(&mut || {
            c.par_chunks_mut(STREAM_CHUNK).zip(a.par_chunks(STREAM_CHUNK)).for_each(|(c, a)| c.copy_from_slice(a));
        });
        copy.push(8.0 * n as f64 / seconds / 1e9);
        let seconds = timed(&mut || {
            a.par_chunks_mut(STREAM_CHUNK).zip(b.par_chunks(STREAM_CHUNK)).zip(c.par_chunks(STREAM_CHUNK)).for_each(
                |((a, b), c)| {
                    for ((a, &b), &c) in a.iter_mut().zip(b).zip(c) {
                        *a = b + scalar * c;
                    }
                },
            );
        });
        triad.push(12.0 * n as f64 / seconds / 1e9);
    }
    black_box((&a, &c));
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let spread = |v: &[f64]| 1.0 - v.iter().copied().fold(f64::INFINITY, f64::min) / best(v);
    Bandwidth {
        copy_gbs: best(&copy),
        triad_gbs: best(&triad),
        spread: spread(&copy).max(spread(&triad)),
        threads: rayon::current_num_threads(),
        buffer_bytes: STREAM_BYTES,
    }
}
