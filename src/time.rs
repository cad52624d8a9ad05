//! Virtual time: integer nanoseconds, so that event order never depends on
//! floating-point rounding and runs are byte-identical everywhere.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

pub(crate) mod text;
pub(crate) use text::{format_duration, in_one_unit, spoken};

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SimTime(pub u64);

/// A length of simulated time, in nanoseconds.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SimDuration(pub u64);

pub(crate) const NANOS_PER_SEC: u64 = 1_000_000_000;

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub fn from_secs_f64(secs: f64) -> SimDuration {
        SimDuration(secs_to_nanos(secs))
    }

    pub fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * 1_000_000)
    }

    pub fn from_secs(s: u64) -> SimDuration {
        SimDuration(s * NANOS_PER_SEC)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

/// Converts seconds to whole nanoseconds, rounding to nearest and saturating
/// at the ends of the range (negative and NaN become zero).
#[inline(always)]
pub(crate) fn secs_to_nanos(secs: f64) -> u64 {
    round_ns(secs * NANOS_PER_SEC as f64)
}

/// Rounds a time in nanoseconds held as f64 to whole nanoseconds, half up
/// (`f64::round` is a libm call on the hot path). The cast's saturation
/// does the rest: NaN, negatives and anything below half a nanosecond give
/// 0, anything past the range `u64::MAX`.
#[inline(always)]
pub(crate) fn round_ns(ns: f64) -> u64 {
    f64_to_u64(ns + 0.5)
}

/// `x as u64` (truncating, saturating, NaN and negatives to zero), with a
/// cheaper conversion in [0, 2^63), where simulated times always are.
#[inline(always)]
fn f64_to_u64(x: f64) -> u64 {
    // `x` in [0, 2^63), in one integer comparison: the bits of non-negative
    // floats order as their values, and a negative float (sign bit set) or
    // a NaN (exponent all ones) has bits above those of 2^63.
    const TWO_63_BITS: u64 = 9_223_372_036_854_775_808.0f64.to_bits();
    if x.to_bits() < TWO_63_BITS {
        // SAFETY: `x` is finite (NaN fails the range test) and in [0, 2^63),
        // so its truncation is representable in i64, which is all
        // `to_int_unchecked` requires. Why not `as`: its saturation adds a
        // NaN test, an overflow test and their fix-ups to the one conversion
        // instruction, and this runs twice per simulated request (arrival
        // and service time). Measured on the reference benchmark
        // (callgrind, README "Speed"): 1,121 instructions per request with
        // this line, 1,133 with `x as i64 as u64` in its place. The range
        // test on the bits instead of two float comparisons: 995.6 -> 990.7.
        unsafe { x.to_int_unchecked::<i64>() as u64 }
    } else {
        saturate_to_u64(x)
    }
}

/// `x as u64`, out of line so the compiler keeps the common case a branch
/// and one conversion instead of computing both forms.
#[cold]
#[inline(never)]
fn saturate_to_u64(x: f64) -> u64 {
    x as u64
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.since(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for SimDuration {
    /// Human form: `1h30m`, `2.5s`, `250ms`, `40us`, `12ns`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_cheap_conversion_is_the_cast_at_the_edges() {
        let edges = [
            f64::NAN,
            f64::NEG_INFINITY,
            -1.0,
            -0.0,
            0.0,
            0.49,
            1.5,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::from_bits(0xfff8_0000_0000_0000),
            9_223_372_036_854_774_784.0,
            9_223_372_036_854_775_807.0,
            9_223_372_036_854_775_808.0,
            18_446_744_073_709_551_615.0,
            18_446_744_073_709_551_616.0,
            f64::INFINITY,
        ];
        for x in edges {
            assert_eq!(f64_to_u64(x), x as u64, "{x}");
        }
    }

    /// `secs_to_nanos` as it was written before it leaned on the cast's
    /// saturation.
    fn secs_to_nanos_checked(secs: f64) -> u64 {
        let ns = secs * NANOS_PER_SEC as f64;
        if ns.is_nan() || ns <= 0.0 {
            0
        } else if ns >= u64::MAX as f64 {
            u64::MAX
        } else {
            (ns + 0.5) as u64
        }
    }

    #[test]
    fn seconds_round_to_nanoseconds_and_saturate() {
        let cases = [
            (f64::NAN, 0),
            (f64::NEG_INFINITY, 0),
            (-1.0, 0),
            (-0.4e-9, 0),
            (0.0, 0),
            (0.49e-9, 0),
            (0.5e-9, 1),
            (1.5e-9, 2),
            (0.001, 1_000_000),
            (2.0e10, u64::MAX),
            (f64::INFINITY, u64::MAX),
        ];
        for (secs, ns) in cases {
            assert_eq!(secs_to_nanos(secs), ns, "{secs}");
            assert_eq!(secs_to_nanos_checked(secs), ns, "{secs}");
        }
    }

    proptest! {
        #[test]
        fn seconds_convert_as_the_checked_form_does(bits in any::<u64>()) {
            let secs = f64::from_bits(bits);
            prop_assert_eq!(secs_to_nanos(secs), secs_to_nanos_checked(secs));
        }

        #[test]
        fn simulated_seconds_convert_as_the_checked_form_does(secs in -1.0f64..1.0e7) {
            prop_assert_eq!(secs_to_nanos(secs), secs_to_nanos_checked(secs));
        }

        #[test]
        fn the_cheap_conversion_is_the_cast(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assert_eq!(f64_to_u64(x), x as u64);
        }
    }

    #[test]
    fn formats_durations_like_a_person_writes_them() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(250_000_000), "250ms");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(9_000 * NANOS_PER_SEC), "2h30m");
        assert_eq!(format_duration(61 * NANOS_PER_SEC), "1m1s");
        assert_eq!(format_duration(40_000), "40us");
        assert_eq!(format_duration(12), "12ns");
    }

    #[test]
    fn seconds_convert_with_rounding_and_saturation() {
        assert_eq!(secs_to_nanos(0.25), 250_000_000);
        assert_eq!(secs_to_nanos(-1.0), 0);
        assert_eq!(secs_to_nanos(f64::NAN), 0);
        assert_eq!(secs_to_nanos(1e30), u64::MAX);
    }

    #[test]
    fn time_arithmetic_saturates() {
        assert_eq!(SimTime(5).since(SimTime(9)), SimDuration(0));
        assert_eq!(SimTime(u64::MAX - 1) + SimDuration(10), SimTime::MAX);
    }
}
