//! The crate's error type: what went wrong, with which file, and how to fix it.
//!
//! Every reader and writer returns [`Error`]; none panics on bad input. The
//! message names the file, says what is wrong, and says what would fix it.

use std::fmt;
use std::path::{Path, PathBuf};

/// What kind of failure an [`Error`] is.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be opened, read or written.
    Io,
    /// The file ends before the data it declares.
    Truncated,
    /// The first bytes are not this format's signature.
    BadMagic,
    /// A format version this reader does not know.
    UnsupportedVersion,
    /// An element type this reader does not load.
    UnsupportedDtype,
    /// A `.npy` holding pickled Python objects (never loaded).
    Pickled,
    /// A `.npy` header longer than numpy's own 10,000-byte limit.
    HeaderTooLong,
    /// A header or directory entry that does not parse.
    BadHeader,
    /// A shape whose element count overflows or exceeds what the file holds.
    BadShape,
    /// A checksum that does not match the data.
    Checksum,
    /// A zip archive whose structure is inconsistent.
    BadArchive,
    /// An array the archive should contain but does not.
    MissingMember,
    /// Compressed data that expands past its declared size.
    DecompressionBomb,
    /// Compressed data that does not decompress.
    BadCompression,
    /// Images and labels that do not belong together.
    CountMismatch,
    /// A label outside `0..classes`.
    LabelOutOfRange,
    /// A NaN or infinite input value.
    NonFinite,
    /// A data set with no rows.
    Empty,
    /// A split that does not fit the data.
    BadSplit,
    /// A saved model whose tensors do not form a network.
    BadModel,
    /// The training loss became NaN or infinite.
    Diverged,
    /// An output folder or file that cannot be written.
    Output,
    /// The fast engine disagrees with the reference (a broken build).
    SelfCheck,
    /// Data or a network that would not fit in this machine's memory.
    TooLarge,
}

/// An error with the file it concerns and a suggested fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    message: String,
    fix: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, path: None, message: message.into(), fix: None }
    }

    /// The same error, naming `path` (kept if one is already named).
    pub fn at(mut self, path: &Path) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_path_buf());
        }
        self
    }

    /// The same error, with a suggestion for the user.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The same error, its message prefixed with `context` (e.g. the
    /// archive member it happened in).
    pub fn context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// An I/O failure on `path`.
    pub fn io(path: &Path, action: &str, err: &std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("cannot {action}: {err}")).at(path)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
