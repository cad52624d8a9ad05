//! The progress bar on stderr that long commands (`run --replications`,
//! `compare`, `sweep`, `capacity`, `verify`) share. Part of the command-line
//! edge: no simulation code knows about it beyond calling `inc`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress on stderr for work that takes more than a moment. Hidden when
/// disabled (`--json`, `--quiet`) or when stderr is not a terminal, and drawn
/// only once the work has gone on for [`Progress::DELAY`], so a quick run
/// prints nothing at all. Safe to update from parallel replications.
pub(crate) struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: AtomicBool,
}

impl Progress {
    /// How long work runs before its bar appears.
    pub(crate) const DELAY: Duration = Duration::from_millis(500);

    /// A bar counting up to `length`, prefixed by `label`.
    pub(crate) fn new(enabled: bool, label: &str, length: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {elapsed_precise} (eta {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label.to_string());
        Progress {
            bar,
            started: Instant::now(),
            enabled: enabled && std::io::stderr().is_terminal(),
            shown: false.into(),
        }
    }

    /// Sets the position (out of the length).
    #[cfg(test)]
    pub(crate) fn set(&self, position: u64) {
        self.show_when_due();
        self.bar.set_position(position);
    }

    /// Changes the length (more work was added).
    pub(crate) fn set_length(&self, length: u64) {
        self.bar.set_length(length);
    }

    /// Advances by `n`.
    pub(crate) fn inc(&self, n: u64) {
        self.show_when_due();
        self.bar.inc(n);
    }

    /// Runs `f` (which prints to the terminal) with the bar out of the way.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// True while nothing is drawn (always, when disabled or not on a terminal).
    #[cfg(test)]
    pub(crate) fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    fn show_when_due(&self) {
        if self.enabled && !self.shown.load(Ordering::Relaxed) && self.started.elapsed() >= Self::DELAY {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_stays_hidden_when_disabled_or_off_a_terminal() {
        // Disabled (--json, --quiet): never drawn, however long the work.
        let quiet = Progress::new(false, "t", 10);
        std::thread::sleep(Progress::DELAY);
        quiet.inc(1);
        assert!(quiet.is_hidden());
        // Enabled, but the test harness's stderr is not a terminal.
        if !std::io::stderr().is_terminal() {
            let piped = Progress::new(true, "t", 10);
            std::thread::sleep(Progress::DELAY);
            piped.set(5);
            assert!(piped.is_hidden());
        }
    }
}
