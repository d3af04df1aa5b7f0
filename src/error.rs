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
    /// The path names something that is not a regular file: a directory,
    /// a FIFO, a device, a socket, or a virtual file whose size is unknown.
    NotRegularFile,
    /// A file or a declared size larger than this machine can hold.
    TooLarge,
    /// The same data given twice (e.g. a file and its gzipped copy).
    Duplicate,
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
    /// Float images on the 0–255 scale of bytes where 0–1 is expected.
    BadScale,
    /// A data set with no rows.
    Empty,
    /// A split that does not fit the data.
    BadSplit,
    /// A training setting outside its range (see [`Error::setting`]).
    BadSetting,
    /// A saved model whose tensors do not form a network.
    BadModel,
}

/// An error with the file it concerns and a suggested fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    setting: Option<&'static str>,
    message: String,
    fix: Option<String>,
}

impl Error {
    /// An error of `kind` with `message`, naming no file and no fix yet.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, path: None, setting: None, message: message.into(), fix: None }
    }

    /// The same error, naming `path` (kept if one is already named).
    pub fn at(mut self, path: &Path) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_path_buf());
        }
        self
    }

    /// The same error, naming the setting it concerns: a field of
    /// [`TrainConfig`](crate::TrainConfig) (`"hidden"`, `"epochs"`,
    /// `"learning_rate"`…) or an argument of a split (`"train"`, `"valid"`),
    /// so that a program can point its user at its own name for it.
    pub fn for_setting(mut self, setting: &'static str) -> Self {
        self.setting = Some(setting);
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

    /// An I/O failure on `path`, with a fix chosen by the kind of failure,
    /// so that every error a reader returns tells the user what to do.
    pub fn io(path: &Path, action: &str, err: &std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let fix = match err.kind() {
            Io::NotFound => "check the path: no file or folder exists there",
            Io::PermissionDenied => "check the permissions of the file and of the folders above it",
            Io::IsADirectory => "pass a file, not a folder",
            Io::NotADirectory => "check the path: a part of it that should be a folder is a file",
            Io::OutOfMemory => "the file is too large for this machine's memory",
            Io::Interrupted | Io::WouldBlock | Io::TimedOut => "try again",
            _ if cfg!(target_os = "linux") && err.raw_os_error() == Some(40) => {
                // ELOOP: std has no stable kind for it yet.
                "the path is a loop of symbolic links; point it at a real file"
            }
            _ => "check that the path names a readable regular file on a working disk",
        };
        Error::new(ErrorKind::Io, format!("cannot {action}: {err}")).at(path).fix(fix)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file the error concerns, if one is named.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The setting the error concerns, if any (see
    /// [`for_setting`](Self::for_setting)).
    pub fn setting(&self) -> Option<&'static str> {
        self.setting
    }

    /// What went wrong, without the file name and the fix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What would fix it, if known.
    pub fn fix_text(&self) -> Option<&str> {
        self.fix.as_deref()
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

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
