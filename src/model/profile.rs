//! Arrival rates over time: a piecewise-linear rate function (steps and
//! ramps), optionally repeating, and exact inversion of its integral so that
//! a non-homogeneous Poisson process is sampled without thinning.

/// One piece: from `start` (seconds), rate `rate` (per second) changing by
/// `slope` (per second per second) until the next piece.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub rate: f64,
    pub slope: f64,
}

/// A rate function of time.
#[derive(Clone, Debug, PartialEq)]
pub struct RateProfile {
    /// Sorted by `start`; the first starts at 0; the last extends to the
    /// end of the period (or forever without `repeat`).
    pub segments: Vec<Segment>,
    /// Period in seconds after which the profile starts over.
    pub repeat: Option<f64>,
}

impl RateProfile {
    /// A constant rate.
    pub fn constant(rate: f64) -> RateProfile {
        RateProfile { segments: vec![Segment { start: 0.0, rate, slope: 0.0 }], repeat: None }
    }

    /// Whether the rate never changes.
    pub fn is_constant(&self) -> bool {
        self.segments.len() == 1 && self.segments[0].slope == 0.0
    }

    fn segment_end(&self, i: usize) -> f64 {
        match self.segments.get(i + 1) {
            Some(s) => s.start,
            None => self.repeat.unwrap_or(f64::INFINITY),
        }
    }

    /// The rate at time `t` (seconds).
    pub fn rate_at(&self, t: f64) -> f64 {
        let local = match self.repeat {
            Some(p) => t.rem_euclid(p),
            None => t,
        };
        let i = self.segment_index(local);
        let s = self.segments[i];
        (s.rate + s.slope * (local - s.start)).max(0.0)
    }

    fn segment_index(&self, local: f64) -> usize {
        self.segments.partition_point(|s| s.start <= local).saturating_sub(1)
    }

    /// Integral of the rate over `[a, b]` within one segment `i`.
    fn integral(&self, i: usize, a: f64, b: f64) -> f64 {
        let s = self.segments[i];
        let ra = s.rate + s.slope * (a - s.start);
        let d = b - a;
        ra * d + 0.5 * s.slope * d * d
    }

    /// Mean number of arrivals per period (or per second when constant).
    fn period_mass(&self) -> f64 {
        let Some(period) = self.repeat else {
            return f64::INFINITY;
        };
        (0..self.segments.len())
            .map(|i| self.integral(i, self.segments[i].start, self.segment_end(i).min(period)))
            .sum()
    }

    /// Mean number of arrivals in `[0, t]` (seconds): the rate's integral.
    pub fn mass_until(&self, t: f64) -> f64 {
        let (whole, local) = match self.repeat {
            Some(p) if p > 0.0 => ((t / p).floor(), t.rem_euclid(p)),
            _ => (0.0, t),
        };
        let within: f64 = (0..self.segments.len())
            .filter(|&i| self.segments[i].start < local)
            .map(|i| self.integral(i, self.segments[i].start, self.segment_end(i).min(local)).max(0.0))
            .sum();
        if whole > 0.0 { whole * self.period_mass() + within } else { within }
    }

    /// The highest rate anywhere in the profile (per second).
    pub fn peak(&self) -> f64 {
        (0..self.segments.len())
            .map(|i| {
                let s = self.segments[i];
                let end = self.segment_end(i);
                let at_end = if end.is_finite() { s.rate + s.slope * (end - s.start) } else { s.rate };
                if s.slope > 0.0 && end.is_infinite() { f64::INFINITY } else { s.rate.max(at_end) }
            })
            .fold(0.0, f64::max)
    }

    /// The time after `t` (seconds) at which the integral of the rate from
    /// `t` reaches `mass`: the next arrival when `mass` is an Exp(1) draw
    /// (Poisson) or 1 (constant spacing). `None` when the rate stays zero.
    pub fn advance(&self, t: f64, mut mass: f64) -> Option<f64> {
        let (mut base, mut local) = match self.repeat {
            Some(p) => {
                let k = (t / p).floor();
                (k * p, t - k * p)
            }
            None => (0.0, t),
        };
        if let Some(p) = self.repeat {
            let per_period = self.period_mass();
            if per_period <= 0.0 {
                return None;
            }
            // Skip whole periods at once for tiny rates.
            if mass > 2.0 * per_period {
                let skip = ((mass / per_period).floor() - 1.0).max(0.0);
                mass -= skip * per_period;
                base += skip * p;
            }
        }
        let mut i = self.segment_index(local);
        loop {
            let end = self.segment_end(i);
            let available = if end.is_infinite() { f64::INFINITY } else { self.integral(i, local, end) };
            if available >= mass && available > 0.0 {
                let s = self.segments[i];
                let r = s.rate + s.slope * (local - s.start);
                let dt = if s.slope == 0.0 {
                    if r <= 0.0 {
                        return None;
                    }
                    mass / r
                } else {
                    // Solve r·dt + slope·dt²/2 = mass with the stable root.
                    let disc = (r * r + 2.0 * s.slope * mass).max(0.0);
                    2.0 * mass / (r + disc.sqrt())
                };
                let dt = if end.is_finite() { dt.min(end - local) } else { dt };
                return Some(base + local + dt);
            }
            if end.is_infinite() {
                return None;
            }
            mass -= available.max(0.0);
            local = end;
            i += 1;
            if i >= self.segments.len() {
                // Next period.
                i = 0;
                base += self.repeat.unwrap_or(0.0);
                local = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> RateProfile {
        // 10/s until 10s, ramp to 30/s by 20s, then 30/s.
        RateProfile {
            segments: vec![
                Segment { start: 0.0, rate: 10.0, slope: 0.0 },
                Segment { start: 10.0, rate: 10.0, slope: 2.0 },
                Segment { start: 20.0, rate: 30.0, slope: 0.0 },
            ],
            repeat: None,
        }
    }

    #[test]
    fn constant_rate_advances_linearly() {
        let p = RateProfile::constant(4.0);
        assert_eq!(p.advance(1.0, 2.0), Some(1.5));
        assert!(p.is_constant());
    }

    #[test]
    fn integral_inverts_across_segments() {
        let p = ramp();
        // From 9s, mass 10 + 15 (1s at 10/s, then a ramp 10->20 over 1..?): check by integration.
        let t = p.advance(9.0, 30.0).unwrap();
        // Integral 9..10 = 10; 10..t of (10 + 2(x-10)) = 10d + d^2 = 20 -> d = -5 + sqrt(45)
        let d = -5.0 + 45f64.sqrt();
        assert!((t - (10.0 + d)).abs() < 1e-9, "{t}");
        assert_eq!(p.rate_at(15.0), 20.0);
        assert_eq!(p.rate_at(25.0), 30.0);
    }

    #[test]
    fn zero_rate_forever_means_no_more_arrivals() {
        let p = RateProfile::constant(0.0);
        assert_eq!(p.advance(0.0, 1.0), None);
        let mut q = ramp();
        q.segments[2].rate = 0.0;
        q.segments[1].slope = -1.0; // 10 -> 0 at 20s
        assert_eq!(q.advance(19.0, 100.0), None);
    }

    #[test]
    fn repeating_profiles_wrap() {
        let p = RateProfile {
            segments: vec![
                Segment { start: 0.0, rate: 1.0, slope: 0.0 },
                Segment { start: 5.0, rate: 0.0, slope: 0.0 },
            ],
            repeat: Some(10.0),
        };
        // 5 arrivals of mass per period, all in the first half.
        assert_eq!(p.advance(4.0, 2.0), Some(11.0));
        assert_eq!(p.rate_at(12.0), 1.0);
        assert_eq!(p.rate_at(17.0), 0.0);
        let far = p.advance(0.0, 52.0).unwrap();
        assert!((far - 102.0).abs() < 1e-9, "{far}");
    }

    #[test]
    fn mass_until_is_the_rates_integral_and_peak_its_maximum() {
        let p = RateProfile {
            segments: vec![
                Segment { start: 0.0, rate: 1.0, slope: 0.0 },
                Segment { start: 5.0, rate: 0.0, slope: 0.0 },
            ],
            repeat: Some(10.0),
        };
        assert_eq!(p.mass_until(3.0), 3.0);
        assert_eq!(p.mass_until(23.0), 13.0);
        assert_eq!(p.peak(), 1.0);
        let ramp = RateProfile {
            segments: vec![
                Segment { start: 0.0, rate: 0.0, slope: 2.0 },
                Segment { start: 10.0, rate: 5.0, slope: 0.0 },
            ],
            repeat: None,
        };
        assert_eq!(ramp.mass_until(10.0), 100.0);
        assert_eq!(ramp.mass_until(12.0), 110.0);
        assert_eq!(ramp.peak(), 20.0);
        assert_eq!(RateProfile::constant(7.0).mass_until(2.0), 14.0);
    }
}
