//! The machine's arithmetic limit: a short measured FMA peak, the roofline
//! that `mlp bench` reports its rates against.
//!
//! Every rayon thread runs [`CHAINS`] independent multiply-add chains in
//! registers at the widest vector level this build can express (AVX2+FMA,
//! 8 lanes; or the portable build's separate multiply and add). Each chain
//! and lane starts from its own value, read through `black_box`: chains that
//! started equal could be merged by the compiler into one, and the loop
//! would then time a single chain and report several times the real peak.
//!
//! A core clock measured the same way (a chain of dependent one-cycle
//! integer operations) turns the figure into flops per cycle per core, the
//! check that it is physically possible: AVX2+FMA on two FMA pipes gives at
//! most 2 × 8 lanes × 2 = 32.

use std::hint::black_box;
use std::time::Instant;

use crate::engine::simd::SimdPath;

/// Independent accumulators per thread: enough to cover the FMA latency
/// (4 cycles) on two pipes with room to spare, few enough for 16 registers.
pub const CHAINS: usize = 12;
/// f32 lanes per chain (one 256-bit register).
const LANES: usize = 8;

/// A measured peak.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    /// All threads together, GFLOP/s (a multiply-add counts as 2 flops).
    pub gflops: f64,
    /// Threads that ran at once.
    pub threads: usize,
    /// Measured core clock, GHz.
    pub clock_ghz: f64,
    /// `"avx2+fma"` or `"portable"`.
    pub level: &'static str,
}

impl Peak {
    /// Flops per cycle per thread: at most 32 for AVX2+FMA on two pipes.
    pub fn flops_per_cycle(&self) -> f64 {
        self.gflops / self.threads as f64 / self.clock_ghz
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chains_avx2_fma(start: [[f32; LANES]; CHAINS], m: f32, a: f32, iters: usize) -> [[f32; LANES]; CHAINS] {
    chains_body::<true>(start, m, a, iters)
}

/// Runs the chains on this thread; returns GFLOP/s.
fn one_thread(path: SimdPath, seed: usize, iters: usize) -> f64 {
    let start: [[f32; LANES]; CHAINS] =
        std::array::from_fn(|c| std::array::from_fn(|l| 1.0 + ((seed * CHAINS + c) * LANES + l) as f32 * 1e-4));
    let (start, m, a) = (black_box(start), black_box(0.999_999_9f32), black_box(1e-7f32));
    let t = Instant::now();
    #[cfg(target_arch = "x86_64")]
    let out = if path.is_avx2_fma() {
        // SAFETY: a SimdPath naming AVX2/FMA exists only after run-time
        // detection of both features.
        unsafe { chains_avx2_fma(start, m, a, iters) }
    } else {
        chains_body::<false>(start, m, a, iters)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let out = chains_body::<false>(start, m, a, iters);
    let seconds = t.elapsed().as_secs_f64();
    black_box(out);
    (iters * CHAINS * LANES * 2) as f64 / seconds / 1e9
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

/// Measures the FMA peak of every rayon thread running at once, best of
/// three rounds of about 50 ms, at the level `path` names.
pub fn measure(path: SimdPath) -> Peak {
    let iters = 30_000_000 / if path.is_avx2_fma() { 1 } else { 4 };
    let mut best = 0.0f64;
    for _ in 0..3 {
        let rates = rayon::broadcast(|ctx| one_thread(path, ctx.index(), iters));
        best = best.max(rates.iter().sum());
    }
    Peak { gflops: best, threads: rayon::current_num_threads(), clock_ghz: clock_ghz(), level: path.name() }
}
