//! The chart store: each closed interval's figures folded into at most
//! [`MAX_BUCKETS`] time buckets, so a run of any length charts from a
//! bounded amount of memory. When the buckets run out, neighbours merge
//! pairwise and each bucket covers twice as many intervals.
//!
//! Latency percentiles of merged buckets come from a coarse log histogram
//! per bucket (48 bins a decade, read at the bin's geometric middle: within
//! 2.5% of the exact value), filled from the interval's HDR histogram
//! buckets when the interval closes, so nothing is added per request. Each
//! HDR bucket's bin is worked out once per run ([`ChartStore::add_latency`]),
//! not with a logarithm per bucket at every close.

use super::snapshot::{GlobalMetric as G, Snapshot};

/// Most buckets kept.
pub const MAX_BUCKETS: usize = 720;

/// Bins per decade of the coarse latency histogram, from 1 µs.
const BINS_PER_DECADE: f64 = 48.0;
/// Enough bins to reach an hour (the HDR histograms' top).
const LATENCY_BINS: usize = 470;
const FLOOR_NS: f64 = 1e3;

/// Users so far (requests generated after the warm-up), by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsersSoFar {
    pub active: u64,
    /// Failed at least once.
    pub affected: u64,
    /// Failed at least once, or slower than the threshold at least once.
    pub affected_or_slowed: u64,
}

/// One bucket: the sum of the intervals merged into it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub start_ns: u64,
    pub end_ns: u64,
    pub intervals: u32,
    pub requests: u64,
    pub completed: u64,
    pub failed: u64,
    /// Failures the client waited for: timed out, dropped, loop, response lost.
    pub waited: u64,
    /// The most users failing in any one of its intervals.
    pub users_failing: u64,
    /// At the bucket's end.
    pub users: UsersSoFar,
    /// Coarse latency histogram of successful requests.
    latency: Vec<u64>,
    /// Per server: requests that reached it, busy fraction x seconds, and
    /// the sum of the interval-end queue samples.
    pub server_requests: Vec<f64>,
    pub server_busy_s: Vec<f64>,
    pub server_queue_sum: Vec<f64>,
}

impl Bucket {
    fn new(servers: usize) -> Bucket {
        Bucket {
            start_ns: 0,
            end_ns: 0,
            intervals: 0,
            requests: 0,
            completed: 0,
            failed: 0,
            waited: 0,
            users_failing: 0,
            users: UsersSoFar::default(),
            latency: vec![0; LATENCY_BINS],
            server_requests: vec![0.0; servers],
            server_busy_s: vec![0.0; servers],
            server_queue_sum: vec![0.0; servers],
        }
    }

    /// Adds a closed interval, which follows this bucket in time: its
    /// snapshot, the coarse latency histogram of the requests answered in
    /// it, and the users so far at its end.
    fn add_interval(
        &mut self,
        snap: &Snapshot,
        latency: &[u64],
        users: UsersSoFar,
        server: &dyn Fn(usize) -> [f64; 3],
    ) {
        if self.intervals == 0 {
            self.start_ns = snap.start;
        }
        self.end_ns = snap.end;
        self.intervals += 1;
        let count = |m: G| snap.global(m) as u64;
        self.requests += count(G::Requests);
        self.completed += count(G::Completed);
        self.failed += count(G::Failed);
        self.waited += count(G::TimedOut) + count(G::Dropped) + count(G::Loop) + count(G::ResponseLost);
        self.users_failing = self.users_failing.max(count(G::UsersFailed));
        self.users = users;
        add(&mut self.latency, latency);
        let secs = snap.end.saturating_sub(snap.start) as f64 / 1e9;
        for i in 0..self.server_requests.len() {
            let [requests, utilisation, queue] = server(i);
            self.server_requests[i] += requests;
            self.server_busy_s[i] += utilisation * secs;
            self.server_queue_sum[i] += queue;
        }
    }

    /// Adds `other`, which follows this bucket in time.
    fn absorb(&mut self, other: &Bucket) {
        if self.intervals == 0 {
            self.start_ns = other.start_ns;
        }
        self.end_ns = other.end_ns;
        self.intervals += other.intervals;
        self.requests += other.requests;
        self.completed += other.completed;
        self.failed += other.failed;
        self.waited += other.waited;
        self.users_failing = self.users_failing.max(other.users_failing);
        self.users = other.users;
        add(&mut self.latency, &other.latency);
        add(&mut self.server_requests, &other.server_requests);
        add(&mut self.server_busy_s, &other.server_busy_s);
        add(&mut self.server_queue_sum, &other.server_queue_sum);
    }

    pub fn seconds(&self) -> f64 {
        self.end_ns.saturating_sub(self.start_ns) as f64 / 1e9
    }

    /// Latency quantile of the successful requests, ms (NaN when none).
    pub fn latency_quantile_ms(&self, q: f64) -> f64 {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, &n) in self.latency.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return bin_middle_ns(i) / 1e6;
            }
        }
        f64::NAN
    }
}

fn add<T: Copy + std::ops::AddAssign>(into: &mut [T], from: &[T]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += *b;
    }
}

fn bin_of(ns: u64) -> usize {
    let x = (ns as f64).max(FLOOR_NS) / FLOOR_NS;
    ((x.log10() * BINS_PER_DECADE) as usize).min(LATENCY_BINS - 1)
}

fn bin_middle_ns(bin: usize) -> f64 {
    FLOOR_NS * 10f64.powf((bin as f64 + 0.5) / BINS_PER_DECADE)
}

/// No bin worked out yet for a slot of [`ChartStore::slot_bins`].
const UNKNOWN_BIN: u16 = u16::MAX;
const _: () = assert!(LATENCY_BINS < UNKNOWN_BIN as usize);

/// The buckets of one run.
#[derive(Clone, Debug)]
pub struct ChartStore {
    servers: usize,
    /// Intervals per full bucket (a power of two).
    pub per_bucket: u32,
    pub buckets: Vec<Bucket>,
    /// The coarse latency histogram of the interval to be pushed next.
    latency: Vec<u64>,
    /// The bin of each HDR bucket (slot) seen so far, or [`UNKNOWN_BIN`].
    slot_bins: Vec<u16>,
}

impl ChartStore {
    pub fn new(servers: usize) -> ChartStore {
        ChartStore {
            servers,
            per_bucket: 1,
            buckets: Vec::new(),
            latency: vec![0; LATENCY_BINS],
            slot_bins: Vec::new(),
        }
    }

    /// Counts `n` latencies of the interval to be pushed next, all in the
    /// HDR bucket `slot` whose highest value is `highest` ns (the value
    /// HDR's iterators give for it). Every call for a store must number
    /// slots in one layout: a slot's bin is worked out once and kept.
    pub fn add_latency(&mut self, slot: usize, highest: u64, n: u64) {
        if slot >= self.slot_bins.len() {
            self.slot_bins.resize(slot + 1, UNKNOWN_BIN);
        }
        let bin = match self.slot_bins[slot] {
            UNKNOWN_BIN => {
                let bin = bin_of(highest);
                self.slot_bins[slot] = bin as u16;
                bin
            }
            known => usize::from(known),
        };
        self.latency[bin] += n;
    }

    /// Folds in a closed interval: its snapshot, its latencies (given
    /// beforehand, [`ChartStore::add_latency`]), the users so far, and each
    /// server's requests, utilisation and queue from `server` (the recorder
    /// makes them as needed, not keeping them in the snapshot). Added into
    /// the last bucket while it has room, so that a bucket (and its latency
    /// histogram) is allocated only when one starts, not every interval.
    pub fn push_with(&mut self, snap: &Snapshot, users: UsersSoFar, server: &dyn Fn(usize) -> [f64; 3]) {
        let bucket = match self.buckets.last_mut() {
            Some(last) if last.intervals < self.per_bucket => last,
            _ => {
                self.buckets.push(Bucket::new(self.servers));
                self.buckets.last_mut().expect("a bucket was just pushed")
            }
        };
        bucket.add_interval(snap, &self.latency, users, server);
        self.latency.fill(0);
        if self.buckets.len() > MAX_BUCKETS {
            self.halve();
        }
    }

    /// Merges neighbouring buckets pairwise.
    fn halve(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        let mut it = old.into_iter();
        while let Some(mut a) = it.next() {
            if let Some(b) = it.next() {
                a.absorb(&b);
            }
            self.buckets.push(a);
        }
        self.per_bucket *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::snapshot::ServerMetric as S;
    use hdrhistogram::Histogram;

    impl ChartStore {
        /// [`ChartStore::push_with`] from an interval's latency histogram
        /// and the snapshot's server rows.
        pub(crate) fn push(&mut self, snap: &Snapshot, latency: &Histogram<u64>, users: UsersSoFar) {
            for v in latency.iter_recorded() {
                self.latency[bin_of(v.value_iterated_to())] += v.count_at_value();
            }
            let server = |i: usize| match snap.servers.get(i) {
                Some(row) => [row[S::Requests.idx()], row[S::Utilisation.idx()], row[S::Queue.idx()]],
                None => [0.0; 3],
            };
            self.push_with(snap, users, &server);
        }
    }
    use crate::metrics::snapshot::GlobalMetric;

    fn snap(i: u64, requests: f64) -> Snapshot {
        let mut s = Snapshot::sized(2, 0, 0, 0);
        s.start = i * 1_000_000_000;
        s.end = (i + 1) * 1_000_000_000;
        s.global[GlobalMetric::Requests.idx()] = requests;
        s.global[GlobalMetric::Completed.idx()] = requests;
        s.global[GlobalMetric::UsersFailed.idx()] = i as f64;
        s.servers[0][S::Requests.idx()] = requests;
        s.servers[1][S::Utilisation.idx()] = 0.5;
        s.servers[1][S::Queue.idx()] = 3.0;
        s
    }

    #[test]
    fn buckets_stay_bounded_and_conserve_counts() {
        let mut store = ChartStore::new(2);
        let h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 2).unwrap();
        let n = 3 * MAX_BUCKETS as u64 + 17;
        for i in 0..n {
            store.push(&snap(i, 10.0), &h, UsersSoFar { active: i, affected: 0, affected_or_slowed: 0 });
        }
        assert!(store.buckets.len() <= MAX_BUCKETS);
        assert_eq!(store.per_bucket, 4);
        let total: u64 = store.buckets.iter().map(|b| b.requests).sum();
        assert_eq!(total, 10 * n);
        let intervals: u32 = store.buckets.iter().map(|b| b.intervals).sum();
        assert_eq!(u64::from(intervals), n);
        // Contiguous, in order, users as of each bucket's end, the worst interval's failing users.
        for w in store.buckets.windows(2) {
            assert_eq!(w[0].end_ns, w[1].start_ns);
        }
        let first = &store.buckets[0];
        assert_eq!((first.intervals, first.users.active, first.users_failing), (4, 3, 3));
        assert_eq!(first.server_busy_s[1], 2.0);
        assert_eq!(first.server_queue_sum[1], 12.0);
        assert_eq!(store.buckets.last().unwrap().end_ns, n * 1_000_000_000);
    }

    #[test]
    fn a_bucket_that_absorbed_several_intervals_is_their_sum() {
        let interval = |i: u64| {
            let mut s = snap(i, 10.0 * (i + 1) as f64);
            s.global[GlobalMetric::Failed.idx()] = (i + 1) as f64;
            s.global[GlobalMetric::TimedOut.idx()] = 1.0;
            s.global[GlobalMetric::Dropped.idx()] = i as f64;
            let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 2).unwrap();
            h.record_n((i + 1) * 10_000_000, i + 1).unwrap();
            let users = UsersSoFar { active: 100 + i, affected: i, affected_or_slowed: 2 * i };
            (s, h, users)
        };
        let mut store = ChartStore { per_bucket: 4, ..ChartStore::new(2) };
        // The same intervals one to a bucket, merged the way `halve` merges.
        let mut merged = Bucket::new(2);
        for i in 0..4 {
            let (s, h, users) = interval(i);
            store.push(&s, &h, users);
            let mut alone = ChartStore::new(2);
            alone.push(&s, &h, users);
            merged.absorb(&alone.buckets[0]);
        }
        assert_eq!(store.buckets.len(), 1);
        let b = &store.buckets[0];
        assert_eq!(*b, merged);
        assert_eq!((b.start_ns, b.end_ns, b.intervals), (0, 4_000_000_000, 4));
        assert_eq!((b.requests, b.completed, b.failed, b.waited), (100, 100, 10, 4 + 6));
        assert_eq!(b.users_failing, 3, "the worst interval's, not the sum");
        assert_eq!(b.users, UsersSoFar { active: 103, affected: 3, affected_or_slowed: 6 });
        assert_eq!(b.server_requests, [100.0, 0.0]);
        assert_eq!((b.server_busy_s[1], b.server_queue_sum[1]), (2.0, 12.0));
        assert_eq!(b.latency.iter().sum::<u64>(), 1 + 2 + 3 + 4);
        // Ranks 7 to 10 of the 10 requests are the last interval's 40 ms.
        assert!((b.latency_quantile_ms(0.7) / 40.0 - 1.0).abs() < 0.035);
        // The fifth interval starts a bucket of its own.
        let (s, h, users) = interval(4);
        store.push(&s, &h, users);
        assert_eq!(store.buckets.len(), 2);
        assert_eq!(
            (store.buckets[1].start_ns, store.buckets[1].intervals, store.buckets[1].requests),
            (4_000_000_000, 1, 50)
        );
    }

    #[test]
    fn coarse_quantiles_are_within_the_bin_width() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 2).unwrap();
        for ms in 1..=1000u64 {
            h.record(ms * 1_000_000).unwrap();
        }
        let mut store = ChartStore::new(0);
        store.push(&Snapshot::sized(0, 0, 0, 0), &h, UsersSoFar::default());
        let b = &store.buckets[0];
        for (q, exact) in [(0.5, 500.0), (0.9, 900.0), (0.99, 990.0)] {
            let got = b.latency_quantile_ms(q);
            // Half a bin (2.4%) plus HDR's 1% at two significant digits.
            assert!((got / exact - 1.0).abs() < 0.035, "q{q}: {got} vs {exact}");
        }
        assert!(ChartStore::new(0).buckets.is_empty());
        assert!(Bucket::new(0).latency_quantile_ms(0.5).is_nan());
    }
}
