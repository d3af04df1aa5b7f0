//! Facts about the machine this process runs on: cores, total memory, the
//! address-space limit, peak resident memory, the CPU model, and the CPU
//! features that pick the kernels; and the one pool of worker threads that
//! every parallel part of a command runs on.

use crate::error::CliResult;
use mlp_engine::{Error, ErrorKind};

/// Cores this process may use (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Total memory of this machine in bytes, if readable.
pub fn memory_bytes() -> Option<u64> {
    mlp_engine::data::machine_memory_bytes()
}

/// Runs `f` on a pool of `threads` workers (default: all cores), so that
/// loading, training, evaluation and the report all follow `--threads`
/// (never `RAYON_NUM_THREADS`, which sizes only rayon's global pool, unused
/// here). When the workers cannot start (a process limit, `ulimit -u`), `f`
/// runs on this thread alone, with a note saying so.
pub fn run_on_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T, Error> {
    let n = threads.unwrap_or_else(cores);
    match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
        Ok(pool) => Ok(pool.install(f)),
        Err(spawn) => {
            // A pool whose one worker is this thread starts no thread.
            let alone = rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build().map_err(|e| {
                Error::new(ErrorKind::Io, format!("cannot start {n} worker threads ({spawn}), nor run on one ({e})"))
                    .fix("raise the limit on processes and threads (ulimit -u)")
            })?;
            note!(
                "note: cannot start {n} worker thread{} ({spawn}); running on this thread alone\n  \
                 fix: raise the limit on processes and threads (ulimit -u), or pass --threads 1",
                if n == 1 { "" } else { "s" }
            );
            Ok(alone.install(f))
        }
    }
}

/// The soft address-space limit of this process (`ulimit -v`) in bytes,
/// if there is one: allocations past it fail however much memory the
/// machine has.
pub fn address_space_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    // "Max address space   <soft>   <hard>   bytes"; "unlimited" is none.
    line["Max address space".len()..].split_whitespace().next()?.parse().ok()
}

/// The address space this process maps now (Linux `VmSize`) in bytes.
pub fn mapped_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = text.lines().find(|l| l.starts_with("VmSize:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident memory of this process so far in bytes (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = text.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The CPU features that decide which kernels run.
pub fn cpu_features() -> Vec<&'static str> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        for (name, present) in [
            ("avx2", std::is_x86_feature_detected!("avx2")),
            ("fma", std::is_x86_feature_detected!("fma")),
            ("avx512f", std::is_x86_feature_detected!("avx512f")),
        ] {
            if present {
                out.push(name);
            }
        }
    }
    out
}

/// `"release"` or `"debug"`.
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) { "debug" } else { "release" }
}

/// The CPU's model name (Linux `/proc/cpuinfo`), if readable.
pub fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// `"AMD EPYC, 2 cores"`: the CPU line that every timing report prints.
pub fn cpu_line() -> String {
    format!("{}, {} cores", cpu_model().unwrap_or_else(|| "unknown CPU".into()), cores())
}

/// Runs `f` on a rayon pool of `threads` workers (default: all cores): the
/// pool the command already runs on (see `main`), else a new one.
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> CliResult<T> {
    if rayon::current_thread_index().is_some() {
        return Ok(f());
    }
    Ok(run_on_threads(threads, f)?)
}
