//! This machine's memory, the bound of every read and decompression: the
//! one place the data readers learn it from, so that no low-level reader
//! depends on the modules that use it.

/// The most one file or one decompression may take: half of this machine's
/// memory (`MemTotal`; of 16 GiB where that cannot be read).
pub(crate) fn half_of_memory() -> u64 {
    machine_memory_bytes().unwrap_or(16 << 30) / 2
}

/// Total memory of this machine in bytes (Linux `MemTotal`), if readable.
pub fn machine_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}
