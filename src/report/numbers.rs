//! How the reports write numbers (report stage): thousands separators,
//! k/M suffixes and milliseconds with sensible precision, shared by the
//! terminal, Markdown and HTML reports and the charts' labels.

pub use crate::units::{group_digits, thousands};

/// A rate with a k/M suffix: `2.4M`.
pub fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Milliseconds with sensible precision.
pub fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}
