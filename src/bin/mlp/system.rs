//! Facts about the machine this process runs on: total memory, peak
//! resident memory, the CPU model and count, and the CPU features that pick
//! the kernels.

/// Total memory of this machine in bytes (Linux `MemTotal`), if readable.
pub fn memory_bytes() -> Option<u64> {
    proc_status_kb("/proc/meminfo", "MemTotal:").map(|kb| kb * 1024)
}

/// Peak resident memory of this process so far in bytes (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    proc_status_kb("/proc/self/status", "VmHWM:").map(|kb| kb * 1024)
}

/// The kB figure of the line starting with `key` in a /proc file.
fn proc_status_kb(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
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

/// Logical CPUs this process may run on.
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `"AMD EPYC, 2 cores"`: the CPU line that every timing report prints.
pub fn cpu_line() -> String {
    format!("{}, {} cores", cpu_model().unwrap_or_else(|| "unknown CPU".into()), cpu_count())
}
