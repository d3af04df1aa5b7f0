//! Ctrl-C, SIGTERM and SIGHUP (the terminal closed) during a run. The
//! first asks the run to stop after the current epoch and write its folder
//! as if it had ended there; the second ends the process at once, but only
//! between file writes, so no half-written or temporary file is left
//! behind. `mlp report` and `mlp eval` end at the first, between writes too.
//! SIGXFSZ is caught and dropped, so that a file size limit makes a write
//! fail with an error to report instead of killing the process.
//!
//! Standard Rust cannot catch signals; `signal-hook` delivers them to a
//! watcher thread here, which then runs ordinary code (it may take locks),
//! unlike a signal handler. Every file write holds [`block_writes`]'s lock,
//! which is what a signal waits on before it ends the process.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGXFSZ};
use signal_hook::iterator::Signals;

/// Held by every file write; taken for good by a second Ctrl-C.
static WRITES: Mutex<()> = Mutex::new(());

/// Waits for a file write in progress and keeps any other from starting.
pub fn block_writes() -> MutexGuard<'static, ()> {
    WRITES.lock().unwrap_or_else(|p| p.into_inner())
}

/// The first stop signal received (0 while none) in the low bits, and
/// [`FINISHING`]: one atomic, so that whether a signal came before or after
/// training ended is decided once, and the message, the exit code and the
/// recorded stop agree.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Set in [`RECEIVED`] once training is over and only the final files are
/// being written: a signal then no longer stops the run.
const FINISHING: i32 = 1 << 16;
const SIGNAL_BITS: i32 = FINISHING - 1;

/// The signals that stop a command.
const STOP_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// A signal that stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal(i32);

impl Signal {
    /// `SIGINT`, `SIGTERM` or `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self.0 {
            SIGTERM => "SIGTERM",
            SIGHUP => "SIGHUP",
            _ => "SIGINT",
        }
    }

    /// The signal number (2, 15 or 1): the exit code is 128 plus this.
    pub fn number(self) -> u8 {
        self.0 as u8
    }
}

/// Starts watching for SIGINT, SIGTERM and SIGHUP. Before this, they end
/// the process as usual (nothing is worth keeping before a run folder exists).
pub fn watch() {
    let warn = |why: &str| {
        note!("warning: cannot watch for Ctrl-C ({why}); an interrupted run will keep only its metrics.csv")
    };
    // The watcher thread registers the signals itself, so that they keep
    // their usual effect when no thread can start (a process limit); this
    // thread waits until it has.
    let (ready, registered) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
        let Ok(mut signals) = Signals::new(STOP_SIGNALS) else {
            let _ = ready.send(false);
            return;
        };
        let _ = ready.send(true);
        for signal in signals.forever() {
            let first = RECEIVED.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
                (state & SIGNAL_BITS == 0).then_some(state | signal)
            });
            if let Ok(state) = first {
                if state & FINISHING != 0 {
                    note!(
                        "\n{}: training has ended; writing its files, which completes the run (press Ctrl-C again to quit at once)",
                        Signal(signal).name()
                    );
                } else {
                    note!(
                        "\n{}: stopping after this epoch and writing the run folder (press Ctrl-C again to quit at once)",
                        Signal(signal).name()
                    );
                }
            } else {
                // Wait for a write in progress to finish, then never let
                // another start: every file stays whole.
                let _writes = block_writes();
                note!(
                    "\n{}: quitting now; every file written is whole, the rest is missing \
                     (mlp train --resume RUN_DIR continues from the last checkpoint)",
                    Signal(signal).name()
                );
                std::process::exit(128 + signal);
            }
        }
    });
    match spawned {
        Err(e) => warn(&format!("no thread: {e}")),
        Ok(_) if registered.recv() != Ok(true) => warn("the signals cannot be hooked"),
        Ok(_) => {}
    }
}

/// Marks the end of training after its last epoch: a signal from now on
/// lets the run complete (and says so). Returns the signal that came before,
/// if one did: then the run stops as interrupted, as its message said.
pub fn finish_training() -> Option<Signal> {
    let before = RECEIVED.fetch_or(FINISHING, Ordering::SeqCst);
    Some(Signal(before & SIGNAL_BITS)).filter(|s| s.0 != 0)
}

/// Marks the start of a run's training (a sweep trains several): a signal
/// stops it after the current epoch again.
pub fn start_training() {
    RECEIVED.fetch_and(!FINISHING, Ordering::SeqCst);
}

/// For commands that write only whole files (`mlp report`, `mlp eval`):
/// the first stop signal ends the process at once, after a write in
/// progress finished (its temporary file renamed or removed), exit
/// 128 + the signal's number.
pub fn quit_between_writes() {
    let Ok(mut signals) = Signals::new(STOP_SIGNALS) else { return };
    // No thread under a process limit: the signals then keep their usual
    // effect, which leaves at most a temporary file behind.
    let _ = std::thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _writes = block_writes();
            note!("\n{}: stopped; every file written is whole", Signal(signal).name());
            std::process::exit(128 + signal);
        }
    });
}

/// Drops SIGXFSZ: past a file size limit a write then fails with EFBIG,
/// which the writer reports, instead of the signal killing the process.
pub fn ignore_file_size_signal() {
    if signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false))).is_err() {
        note!("warning: cannot catch SIGXFSZ; a file size limit would kill mlp mid-write");
    }
}

/// The stop signal received so far, if any.
pub fn received() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) & SIGNAL_BITS {
        0 => None,
        s => Some(Signal(s)),
    }
}
