//! What an access log adds up to, in memory that does not grow with its
//! length: requests per interval, distinct users (HyperLogLog), and per
//! upstream a histogram of response times; and, for replay, the requests
//! put back in arrival order through a window as long as the slowest
//! response seen, then written to a trace.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use hdrhistogram::Histogram;

use crate::trace::Writer;

/// Distinct-count estimate with 2^14 registers (16 KiB, ~0.8% error).
pub(crate) struct HyperLogLog {
    registers: Vec<u8>,
}

const HLL_BITS: u32 = 14;

impl HyperLogLog {
    pub(crate) fn new() -> HyperLogLog {
        HyperLogLog { registers: vec![0; 1 << HLL_BITS] }
    }

    /// Counts an item by its 64-bit hash (a good one: `stable_hash`).
    pub(crate) fn insert(&mut self, hash: u64) {
        let index = (hash >> (64 - HLL_BITS)) as usize;
        let rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    pub(crate) fn estimate(&self) -> u64 {
        let m = self.registers.len() as f64;
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count() as f64;
        let e = if raw <= 2.5 * m && zeros > 0.0 { m * (m / zeros).ln() } else { raw };
        e.round() as u64
    }
}

/// One request, on its way to being counted in arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Request {
    /// Arrival, microseconds since the epoch.
    pub at_us: i64,
    /// Line order, to keep equal times in the log's order.
    pub seq: u64,
    pub user: u64,
    /// The client group it counts for.
    pub group: u32,
}

/// Per upstream: responses, server errors, and their times.
pub(crate) struct Upstream {
    pub name: String,
    pub responses: u64,
    pub errors: u64,
    /// Microseconds, 2 significant digits (1%, finer than the millisecond
    /// NGINX logs to), up to an hour: about 24 KiB an upstream.
    pub times: Histogram<u64>,
}

impl Upstream {
    pub(crate) fn new(name: &str) -> Upstream {
        let times = Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds");
        Upstream { name: name.to_string(), responses: 0, errors: 0, times }
    }

    pub(crate) fn record(&mut self, service_s: Option<f64>, status: Option<u16>) {
        self.responses += 1;
        if status.is_some_and(|s| s >= 500) {
            self.errors += 1;
        }
        if let Some(s) = service_s {
            let us = (s * 1e6).round().clamp(1.0, 3_600_000_000.0) as u64;
            self.times.saturating_record(us);
        }
    }

    /// The service-time sample written for the empirical distribution, in
    /// ms: every recorded value when there are at most 1000, otherwise the
    /// 1000 quantiles at (i + 0.5) / 1000.
    pub(crate) fn sample_ms(&self) -> Vec<f64> {
        let n = self.times.len();
        if n == 0 {
            return Vec::new();
        }
        if n <= 1000 {
            let mut out = Vec::with_capacity(n as usize);
            for v in self.times.iter_recorded() {
                let ms = self.times.median_equivalent(v.value_iterated_to()) as f64 / 1000.0;
                out.extend(std::iter::repeat_n(ms, v.count_at_value() as usize));
            }
            return out;
        }
        (0..1000)
            .map(|i| {
                self.times.median_equivalent(self.times.value_at_quantile((i as f64 + 0.5) / 1000.0)) as f64 / 1000.0
            })
            .collect()
    }
}

/// Requests per interval for each client group, from the trace's start.
pub(crate) struct Counts {
    pub interval_us: i64,
    pub start_us: Option<i64>,
    pub per_group: Vec<Vec<u64>>,
}

/// Most intervals a rate profile is given (a day at 1s, a year at 10m).
pub(crate) const MAX_INTERVALS: usize = 100_000;

/// Puts requests back in arrival order and passes them on: a request may
/// be logged up to its own response time after a later arrival, so one is
/// released once the log has moved past it by more than the slowest
/// response seen (plus a second).
pub(crate) struct Ordered {
    heap: BinaryHeap<Reverse<Request>>,
    pub last_us: i64,
    /// Requests that arrived earlier than one already released (the log is
    /// out of order by more than the window): released at its time.
    pub late: u64,
    pub traces: Vec<Option<Writer>>,
    pub counts: Counts,
    pub users: Vec<HyperLogLog>,
    pub released: u64,
}

impl Ordered {
    pub(crate) fn new(groups: usize, interval_us: i64, traces: Vec<Option<Writer>>) -> Ordered {
        Ordered {
            heap: BinaryHeap::new(),
            last_us: i64::MIN,
            late: 0,
            traces,
            counts: Counts { interval_us, start_us: None, per_group: vec![Vec::new(); groups] },
            users: (0..groups).map(|_| HyperLogLog::new()).collect(),
            released: 0,
        }
    }

    pub(crate) fn push(&mut self, r: Request) {
        self.heap.push(Reverse(r));
    }

    /// Releases every request at or before `until_us`.
    pub(crate) fn release(&mut self, until_us: i64) -> Result<(), String> {
        while let Some(Reverse(r)) = self.heap.peek().copied() {
            if r.at_us > until_us {
                break;
            }
            self.heap.pop();
            self.emit(r)?;
        }
        Ok(())
    }

    pub(crate) fn finish(&mut self) -> Result<(), String> {
        self.release(i64::MAX)?;
        for w in self.traces.iter_mut().filter_map(Option::take) {
            w.finish().map_err(|e| format!("cannot write the trace: {e}"))?;
        }
        Ok(())
    }

    fn emit(&mut self, mut r: Request) -> Result<(), String> {
        // The trace starts at the whole second of the first arrival, unless
        // the reader set it (to the log's first second) already.
        let start = *self.counts.start_us.get_or_insert(r.at_us.div_euclid(1_000_000) * 1_000_000);
        r.at_us = r.at_us.max(start);
        if r.at_us < self.last_us {
            self.late += 1;
            r.at_us = self.last_us;
        }
        self.last_us = r.at_us;
        self.released += 1;
        let offset = r.at_us - start;
        let g = r.group as usize;
        let bucket = (offset / self.counts.interval_us) as usize;
        if bucket >= MAX_INTERVALS {
            return Err(format!(
                "the log spans more than {MAX_INTERVALS} intervals of the profile: use a longer --interval"
            ));
        }
        let counts = &mut self.counts.per_group[g];
        if counts.len() <= bucket {
            counts.resize(bucket + 1, 0);
        }
        counts[bucket] += 1;
        self.users[g].insert(r.user);
        if let Some(Some(w)) = self.traces.get_mut(g) {
            w.push(offset as f64 / 1e6, r.user).map_err(|e| format!("cannot write the trace: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stable_hash;

    #[test]
    fn hyperloglog_counts_within_its_error() {
        for n in [1u64, 100, 10_000, 500_000] {
            let mut h = HyperLogLog::new();
            for i in 0..n {
                h.insert(stable_hash(&i.to_le_bytes()));
                h.insert(stable_hash(&i.to_le_bytes()));
            }
            let e = h.estimate() as f64;
            // 0.8% standard error: 4 standard errors.
            assert!((e - n as f64).abs() <= (0.033 * n as f64).max(1.0), "{n}: {e}");
        }
    }

    #[test]
    fn requests_come_out_in_arrival_order_and_counted() {
        let mut o = Ordered::new(1, 1_000_000, vec![None]);
        for (at, seq) in [(2_500_000, 0), (1_200_000, 1), (1_100_000, 2), (3_000_000, 3)] {
            o.push(Request { at_us: at, seq, user: seq, group: 0 });
        }
        o.release(1_500_000).unwrap();
        assert_eq!(o.last_us, 1_200_000);
        o.push(Request { at_us: 1_000_000, seq: 4, user: 9, group: 0 });
        o.finish().unwrap();
        assert_eq!(o.late, 1);
        assert_eq!(o.counts.start_us, Some(1_000_000));
        assert_eq!(o.counts.per_group[0], [3, 1, 1]);
    }

    #[test]
    fn the_sample_is_every_value_or_a_thousand_quantiles() {
        let mut u = Upstream::new("a");
        for ms in [10.0, 20.0, 20.0] {
            u.record(Some(ms / 1000.0), Some(200));
        }
        u.record(None, Some(503));
        assert_eq!((u.responses, u.errors), (4, 1));
        let s = u.sample_ms();
        assert_eq!(s.len(), 3);
        assert!((s[0] - 10.0).abs() < 0.1 && (s[2] - 20.0).abs() < 0.2, "{s:?}");
        for i in 0..5000 {
            u.record(Some(f64::from(i) / 1e6 + 0.001), None);
        }
        let s = u.sample_ms();
        assert_eq!(s.len(), 1000);
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
    }
}
