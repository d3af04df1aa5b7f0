//! How a command fails: [`CliError`] (a usage error, exit 2; a failure
//! while running, exit 1, the library's or one of the tool's own kinds,
//! [`ToolFailure`]; or a stop by a signal after saving, exit 128 + the
//! signal), and the rewording of a library setting error into the flag
//! that sets it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::signals::Signal;
use mlp_engine::Error;

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The command line itself is wrong (exit code 2).
    Usage(String),
    /// The command ran and the library failed (exit code 1).
    Run(Error),
    /// The command ran and failed in a way only the tool can (exit code 1).
    Tool(ToolFailure),
    /// A signal stopped the command after it saved its work (exit code
    /// 128 + the signal's number); `message` says what was kept.
    Interrupted { signal: Signal, message: String },
}

/// The kinds of failure the tool raises and the library never does: the
/// library writes no files, keeps a diverged run as a stop reason, and has
/// no self-check of its build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolFailureKind {
    /// The training loss became NaN or infinite (the library reports this
    /// as [`StopReason::Diverged`](mlp_engine::StopReason::Diverged)).
    Diverged,
    /// An output folder or file that cannot be written.
    Output,
    /// The fast engine disagrees with the reference (a broken build).
    SelfCheck,
}

/// A failure of one of the tool's own kinds, worded as the library words
/// its errors: the file it concerns, what went wrong, and the fix.
#[derive(Debug)]
pub struct ToolFailure {
    kind: ToolFailureKind,
    path: Option<PathBuf>,
    message: String,
    fix: Option<String>,
}

impl ToolFailure {
    /// A failure of `kind` with `message`, naming no file and no fix yet.
    pub fn new(kind: ToolFailureKind, message: impl Into<String>) -> Self {
        ToolFailure { kind, path: None, message: message.into(), fix: None }
    }

    /// The same failure, naming `path` (kept if one is already named).
    pub fn at(mut self, path: &Path) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_path_buf());
        }
        self
    }

    /// The same failure, with a suggestion for the user.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// What kind of failure this is.
    #[cfg_attr(not(test), expect(dead_code, reason = "read only by tests; the kind documents the failure"))]
    pub fn kind(&self) -> ToolFailureKind {
        self.kind
    }

    /// What would fix it, if known.
    pub fn fix_text(&self) -> Option<&str> {
        self.fix.as_deref()
    }
}

/// Printed exactly as a library [`Error`] is: `path: message`, then the fix.
impl fmt::Display for ToolFailure {
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

impl From<ToolFailure> for CliError {
    fn from(failure: ToolFailure) -> Self {
        CliError::Tool(failure)
    }
}

impl CliError {
    /// The same error with `then` after its fix: what to do once the fix is
    /// made. A usage error or an interruption says its own next step and is
    /// kept as it is.
    pub fn fix_then(self, then: &str) -> Self {
        let after = |fix: Option<&str>| match fix {
            Some(fix) => format!("{fix}; {then}"),
            None => then.to_string(),
        };
        match self {
            CliError::Run(e) => {
                let fix = after(e.fix_text());
                CliError::Run(e.fix(fix))
            }
            CliError::Tool(f) => {
                let fix = after(f.fix_text());
                CliError::Tool(f.fix(fix))
            }
            other => other,
        }
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        in_flag_terms(e)
    }
}

/// A library error about a setting ([`Error::setting`]), which the library
/// words with its field names, reworded for the flag that sets it: a usage
/// error, since the command line asked for it. Other errors stay as they are.
fn in_flag_terms(error: Error) -> CliError {
    let Some(setting) = error.setting() else {
        return CliError::Run(error);
    };
    let (flag, fix) = match setting {
        "hidden" => ("--hidden", "pass a smaller --hidden of 1 or more"),
        "epochs" => ("--epochs", "pass --epochs 1 or more"),
        "batch_size" => ("--batch-size", "pass --batch-size 1 or more, or leave it off for full batch"),
        "patience" => ("--patience", "pass --patience 1 or more, or leave it off"),
        "learning_rate" => ("--lr", "pass a positive --lr, e.g. --lr 0.1"),
        "momentum" => ("--momentum", "pass --momentum in [0, 1), e.g. --momentum 0.9"),
        "velocity_init" => ("--velocity-init", "pass a finite --velocity-init, e.g. --velocity-init 1e-5"),
        "train" => ("--split", "use --split TRAIN,VALID with TRAIN > 0"),
        "valid" => ("--split", "use --split TRAIN,VALID with VALID > 0"),
        "split" => ("--split", "use a smaller --split: TRAIN + VALID at most the data's rows"),
        _ => return CliError::Run(error),
    };
    let message = error.message().replacen(&format!("`{setting}`"), flag, 1);
    CliError::Usage(format!("{message}\n  fix: {fix}"))
}

pub(crate) type CliResult<T> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;
    use mlp_engine::TrainConfig;
    use mlp_engine::engine::MomentumSgd;

    #[test]
    fn library_setting_errors_speak_of_flags() {
        use mlp_engine::Dataset;
        let split = Dataset::synthetic(40, 1).into_split(20, 10, 1).unwrap();
        let base = TrainConfig { hidden: 4, epochs: 1, ..TrainConfig::default() };
        let sgd = |learning_rate, momentum| MomentumSgd { learning_rate, momentum };
        let cases = [
            (TrainConfig { hidden: 0, ..base.clone() }, "--hidden"),
            (TrainConfig { epochs: 0, ..base.clone() }, "--epochs"),
            (TrainConfig { batch_size: Some(0), ..base.clone() }, "--batch-size"),
            (TrainConfig { patience: Some(0), ..base.clone() }, "--patience"),
            (TrainConfig { optimizer: sgd(f32::NAN, 0.9), ..base.clone() }, "--lr"),
            (TrainConfig { optimizer: sgd(0.1, 1.5), ..base.clone() }, "--momentum"),
            (TrainConfig { velocity_init: f32::INFINITY, ..base.clone() }, "--velocity-init"),
        ];
        let no_valid = Dataset::synthetic(40, 1).into_split(30, 0, 1).unwrap();
        let runs = cases.iter().map(|(config, flag)| (&split, config, *flag)).chain([(&no_valid, &base, "--split")]);
        for (split, config, flag) in runs {
            let error = mlp_engine::train(split, config, |_| std::ops::ControlFlow::Continue(())).unwrap_err();
            match CliError::from(error) {
                CliError::Usage(message) => {
                    assert!(message.contains(flag) && !message.contains('`'), "{flag}: {message}")
                }
                other => panic!("{flag}: {other:?}"),
            }
        }
        // An error about no setting stays a run error.
        let io = Error::new(mlp_engine::ErrorKind::Io, "cannot read");
        assert!(matches!(CliError::from(io), CliError::Run(_)));
    }

    #[test]
    fn tool_failures_read_as_library_errors_do() {
        let path = Path::new("runs/h10");
        let tool = ToolFailure::new(ToolFailureKind::Output, "cannot write").at(path).fix("free space");
        let library = Error::new(mlp_engine::ErrorKind::Io, "cannot write").at(path).fix("free space");
        assert_eq!(tool.kind(), ToolFailureKind::Output);
        assert_eq!(tool.to_string(), library.to_string());
        assert_eq!(tool.to_string(), "runs/h10: cannot write\n  fix: free space");
        // The next step goes after the fix, for the tool's failures and the
        // library's errors alike; without a fix it is the fix.
        let then = "then resume";
        for error in [CliError::from(tool), CliError::from(library)] {
            let text = match error.fix_then(then) {
                CliError::Run(e) => e.to_string(),
                CliError::Tool(f) => f.to_string(),
                other => panic!("{other:?}"),
            };
            assert_eq!(text, "runs/h10: cannot write\n  fix: free space; then resume");
        }
        match CliError::from(ToolFailure::new(ToolFailureKind::Diverged, "diverged")).fix_then(then) {
            CliError::Tool(f) => assert_eq!(f.to_string(), "diverged\n  fix: then resume"),
            other => panic!("{other:?}"),
        }
        // A usage error keeps its own wording.
        assert!(matches!(CliError::Usage("u".into()).fix_then(then), CliError::Usage(m) if m == "u"));
    }
}
