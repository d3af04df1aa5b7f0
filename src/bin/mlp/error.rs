//! How a command fails: [`CliError`] (a usage error, exit 2; a failure
//! while running, exit 1; or a stop by a signal after saving, exit 128 + the
//! signal), and the rewording of a library setting error into the flag
//! that sets it.

use crate::signals::Signal;
use mlp_engine::Error;

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The command line itself is wrong (exit code 2).
    Usage(String),
    /// The command ran and failed (exit code 1).
    Run(Error),
    /// A signal stopped the command after it saved its work (exit code
    /// 128 + the signal's number); `message` says what was kept.
    Interrupted { signal: Signal, message: String },
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
    use mlp_engine::engine::Hyper;

    #[test]
    fn library_setting_errors_speak_of_flags() {
        use mlp_engine::Dataset;
        let split = Dataset::synthetic(40, 1).into_split(20, 10, 1).unwrap();
        let base = TrainConfig { hidden: 4, epochs: 1, ..TrainConfig::default() };
        let hyper = |learning_rate, momentum| Hyper { learning_rate, momentum };
        let cases = [
            (TrainConfig { hidden: 0, ..base.clone() }, "--hidden"),
            (TrainConfig { epochs: 0, ..base.clone() }, "--epochs"),
            (TrainConfig { batch_size: Some(0), ..base.clone() }, "--batch-size"),
            (TrainConfig { patience: Some(0), ..base.clone() }, "--patience"),
            (TrainConfig { hyper: hyper(f32::NAN, 0.9), ..base.clone() }, "--lr"),
            (TrainConfig { hyper: hyper(0.1, 1.5), ..base.clone() }, "--momentum"),
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
}
