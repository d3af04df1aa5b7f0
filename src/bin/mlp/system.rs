//! Facts about the machine this process runs on: cores, total memory, peak
//! resident memory, the CPU model, and the CPU features that pick the
//! kernels.

/// Cores this process may use (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Total memory of this machine in bytes, if readable.
pub fn memory_bytes() -> Option<u64> {
    mlp_engine::data::machine_memory_bytes()
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
