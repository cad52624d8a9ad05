//! The progress bar on stderr that long commands (`run --replications`,
//! `compare`, `sweep`, `capacity`, `verify`) share. Part of the command-line
//! edge: no simulation code knows about it beyond calling `inc`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

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
        if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {elapsed_precise} ({eta})") {
            let eta = |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&eta_text(s.pos(), s.len(), s.elapsed()));
            };
            bar.set_style(style.progress_chars("=> ").with_key("eta", eta));
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

/// The time left, from the pace so far: `eta ?` until there is a pace to go
/// by (1% of the work done and a second gone), never `eta 0s` at 0%.
fn eta_text(pos: u64, len: Option<u64>, elapsed: Duration) -> String {
    let Some(len) = len.filter(|&l| l > 0) else { return "eta ?".into() };
    if pos.saturating_mul(100) < len || elapsed < Duration::from_secs(1) {
        return "eta ?".into();
    }
    let left = elapsed.as_secs_f64() * (len.saturating_sub(pos)) as f64 / pos as f64;
    format!("eta {}", crate::time::text::spoken(left.ceil()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_is_unknown_until_there_is_a_pace() {
        let sec = Duration::from_secs;
        assert_eq!(eta_text(0, Some(1000), sec(30)), "eta ?", "no eta 0s at 0%");
        assert_eq!(eta_text(5, Some(1000), sec(30)), "eta ?", "under 1% done");
        assert_eq!(eta_text(500, Some(1000), Duration::from_millis(200)), "eta ?", "under a second");
        assert_eq!(eta_text(500, Some(1000), sec(10)), "eta 10 s");
        assert_eq!(eta_text(100, Some(1000), sec(10)), "eta 1 min 30 s");
        assert_eq!(eta_text(10, Some(1000), sec(100)), "eta 2 h 45 min");
        assert_eq!(eta_text(1000, Some(1000), sec(10)), "eta 0 s");
        assert_eq!(eta_text(3, None, sec(10)), "eta ?");
    }

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
