//! Ctrl-C and SIGTERM during a run. The first asks the run to stop after
//! the current epoch and write its folder as if it had ended there; the
//! second ends the process at once, but only between file writes, so no
//! half-written or temporary file is left behind.
//!
//! Standard Rust cannot catch signals; `signal-hook` delivers them to a
//! watcher thread here, which then runs ordinary code (it may take locks),
//! unlike a signal handler.

use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::output;

/// The first stop signal received, 0 while none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// A signal that stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal(i32);

impl Signal {
    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        if self.0 == SIGTERM { "SIGTERM" } else { "SIGINT" }
    }

    /// The signal number (2 or 15): the exit code is 128 plus this.
    pub fn number(self) -> u8 {
        self.0 as u8
    }
}

/// Starts watching for SIGINT and SIGTERM. Before this, they end the
/// process as usual (nothing is worth keeping before a run folder exists).
pub fn watch() {
    let warn = |why: &str| {
        note!("warning: cannot watch for Ctrl-C ({why}); an interrupted run will keep only its metrics.csv")
    };
    // The watcher thread registers the signals itself, so that they keep
    // their usual effect when no thread can start (a process limit); this
    // thread waits until it has.
    let (ready, registered) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
            let _ = ready.send(false);
            return;
        };
        let _ = ready.send(true);
        for signal in signals.forever() {
            if RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                note!(
                    "\n{}: stopping after this epoch and writing the run folder (press Ctrl-C again to quit at once)",
                    Signal(signal).name()
                );
            } else {
                // Wait for a write in progress to finish, then never let
                // another start: every file stays whole.
                let _writes = output::block_writes();
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

/// The stop signal received so far, if any.
pub fn received() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(Signal(s)),
    }
}
