//! Reading input files safely: every reader (data sets, IDX folders, saved
//! models, run folders) goes through [`read_regular_file`],
//! [`read_regular_prefix`] or, for the probes that read only a file's
//! headers, [`open_regular`].
//!
//! A path may name anything: a FIFO that blocks `open()` forever, a device
//! such as `/dev/zero` that never ends, a directory, a symlink loop, or a
//! `/proc` file that reports size 0. These functions look at what the path
//! is before reading, refuse anything that is not a regular file with an
//! error that says what it is and how to fix it, and never read more than
//! the size the file's own metadata states.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

use crate::data::memory::half_of_memory;
use crate::error::{Error, ErrorKind, Result};

/// Reads a whole regular file (following symlinks), refusing directories,
/// FIFOs, devices, sockets and files larger than half of this machine's
/// memory, without ever blocking on a FIFO.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    let (mut file, len) = open_regular(path)?;
    check_fits_memory(path, len)?;
    read_bounded(&mut file, path, len)
}

/// Reads at most the first `max` bytes of a regular file, with the same
/// checks as [`read_regular_file`] except the memory bound (little is read);
/// returns them with the file's full length.
pub fn read_regular_prefix(path: &Path, max: usize) -> Result<(Vec<u8>, u64)> {
    let (mut file, len) = open_regular(path)?;
    // At least one byte, so that a virtual file reporting size 0 is caught.
    let bytes = read_bounded(&mut file, path, len.min(max.max(1) as u64))?;
    Ok((bytes, len))
}

/// Opens `path` after checking that it is a regular file (without blocking
/// on a FIFO), and checks the opened file again (the path may have been
/// swapped between the two); returns it with its length, for readers that
/// read only parts of it.
pub fn open_regular(path: &Path) -> Result<(File, u64)> {
    // `metadata` follows symlinks; a loop is an I/O error (ELOOP).
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "look at the file", &e))?;
    check_regular(path, &meta)?;
    let file = open_nonblocking(path).map_err(|e| Error::io(path, "open the file", &e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, "look at the opened file", &e))?;
    check_regular(path, &meta)?;
    Ok((file, meta.len()))
}

/// Opens for reading with `O_NONBLOCK` on Linux, so that a FIFO put in place
/// after the type check cannot block `open()`; regular files ignore the flag.
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // O_NONBLOCK is 0o4000 on Linux for these architectures (others number
    // it differently); elsewhere the stat check before opening still
    // refuses FIFOs, and only a swap between stat and open could block.
    #[cfg(all(
        target_os = "linux",
        any(
            target_arch = "x86",
            target_arch = "x86_64",
            target_arch = "arm",
            target_arch = "aarch64",
            target_arch = "riscv64",
            target_arch = "powerpc64",
            target_arch = "s390x",
            target_arch = "loongarch64"
        )
    ))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

/// What a non-regular file is, in words, or `None` for a regular file.
fn describe(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

fn check_regular(path: &Path, meta: &Metadata) -> Result<()> {
    let Some(what) = describe(meta) else {
        return Ok(());
    };
    let fix = if meta.is_dir() {
        "pass a file; a folder of IDX files is given with --data FOLDER"
    } else {
        "save the data to a regular file first and pass that file"
    };
    Err(Error::new(ErrorKind::NotRegularFile, format!("this is {what}, not a regular file")).at(path).fix(fix))
}

/// Refuses a file that could not be held in memory, before reading it.
fn check_fits_memory(path: &Path, len: u64) -> Result<()> {
    let limit = half_of_memory();
    if len > limit {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!("the file is {len} bytes, more than half of this machine's memory ({limit} bytes)"),
        )
        .at(path)
        .fix("use a smaller data set, or a machine with more memory"));
    }
    Ok(())
}

/// Reads at most `len` bytes: the size the metadata states bounds the read,
/// so a file that grows (or lies) cannot make it allocate without bound.
fn read_bounded(file: &mut File, path: &Path, len: u64) -> Result<Vec<u8>> {
    let capacity = usize::try_from(len).unwrap_or(usize::MAX);
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(capacity).map_err(|_| {
        Error::new(ErrorKind::TooLarge, format!("cannot allocate {len} bytes to read the file"))
            .at(path)
            .fix("use a smaller file, or a machine with more memory")
    })?;
    Read::take(&mut *file, len).read_to_end(&mut bytes).map_err(|e| Error::io(path, "read the file", &e))?;
    if len == 0 {
        // Virtual files (under /proc or /sys) report size 0 yet hold data, or
        // fail to read at all; an empty regular file reads as empty.
        let mut probe = [0u8; 1];
        match file.read(&mut probe) {
            Ok(0) => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::NotRegularFile,
                    "the file reports a size of 0 but holds data: a virtual file (such as one under /proc)",
                )
                .at(path)
                .fix("copy the data to a regular file first and pass that file"));
            }
            Err(e) => return Err(Error::io(path, "read the file", &e)),
        }
    }
    Ok(bytes)
}
