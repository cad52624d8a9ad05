//! Latency tallies in front of HDR histograms: the hot path counts a value
//! into a flat array laid out exactly as `hdrhistogram` lays out the counts
//! of a histogram with 3 significant figures (the same bucket for every
//! value), and [`Tally::flush_into`] adds the counts to a histogram at
//! interval ends. The histogram then holds what recording each value into
//! it would have given (same counts, total, and minimum and maximum as it
//! reports them), at a fraction of the cost per value:
//! `Histogram::record` checks ranges, saturates and tracks extremes on every
//! call, which the simulator's latencies (clamped to the histogram's range
//! beforehand) do not need. The bucket is computed once per value
//! ([`slot`]) for all the tallies that count it.
//!
//! A histogram with fewer significant figures can take the flush too: each
//! of its buckets is a power-of-two-aligned union of 3-figure buckets, so a
//! 3-figure bucket's lowest value lands where every value of it would.

use hdrhistogram::Histogram;

/// The tallies' precision, as HDR significant figures.
pub const SIGFIG: u8 = 3;

// HDR's layout for 3 significant figures and a lowest discernible value of
// 1 (unit magnitude 0): 2 x 10^3 needs 2^11 sub-buckets per bucket.
const SUB_BUCKET_COUNT_MAGNITUDE: u32 = 11;
const HALF_MAGNITUDE: u32 = SUB_BUCKET_COUNT_MAGNITUDE - 1;
const SUB_BUCKET_MASK: u64 = (1 << SUB_BUCKET_COUNT_MAGNITUDE) - 1;
const LEADING_ZERO_BASE: u32 = 64 - SUB_BUCKET_COUNT_MAGNITUDE;

/// The bucket of `value` (HDR's `index_for`).
#[inline(always)]
pub fn slot(value: u64) -> usize {
    let bucket = LEADING_ZERO_BASE - (value | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = value >> bucket;
    // (bucket + 1) * half_count + sub_bucket - half_count
    ((bucket as usize) << HALF_MAGNITUDE) + sub_bucket as usize
}

/// The lowest value counted in `slot` (HDR's `value_for`).
fn lowest_value(slot: usize) -> u64 {
    let half = 1usize << HALF_MAGNITUDE;
    let bucket = (slot >> HALF_MAGNITUDE) as i64 - 1;
    let sub_bucket = ((slot & (half - 1)) + half) as u64;
    if bucket < 0 { sub_bucket - half as u64 } else { sub_bucket << bucket }
}

/// Counts per bucket since the last flush, and which buckets are nonzero.
#[derive(Clone, Debug)]
pub struct Tally {
    counts: Vec<u64>,
    /// Slots whose count went from zero to one since the last flush, so a
    /// flush costs the buckets touched, not the array.
    touched: Vec<u32>,
}

impl Tally {
    /// A tally for values in `1..=max_value`.
    pub fn new(max_value: u64) -> Tally {
        Tally { counts: vec![0; slot(max_value) + 1], touched: Vec::new() }
    }

    /// Counts one value in `slot` (from [`slot`] of a value in range).
    #[inline(always)]
    pub fn count(&mut self, slot: usize) {
        let c = &mut self.counts[slot];
        if *c == 0 {
            self.touched.push(slot as u32);
        }
        *c += 1;
    }

    /// Adds every count to `hist` (lowest discernible value 1, at most
    /// [`SIGFIG`] significant figures, highest trackable value at least the
    /// tally's maximum) and empties the tally.
    pub fn flush_into(&mut self, hist: &mut Histogram<u64>) {
        self.drain(|value, n| hist.saturating_record_n(value, n));
    }

    /// [`Tally::flush_into`] `hist`, and adds the counts to `other` (a
    /// tally flushed later): adding to a tally costs a fraction of
    /// recording into a histogram.
    pub fn flush_into_and_add(&mut self, hist: &mut Histogram<u64>, other: &mut Tally) {
        for &i in &self.touched {
            let i = i as usize;
            let n = self.counts[i];
            hist.saturating_record_n(lowest_value(i), n);
            other.add(i, n);
            self.counts[i] = 0;
        }
        self.touched.clear();
    }

    /// Counts `n` values in `slot`.
    #[inline]
    fn add(&mut self, slot: usize, n: u64) {
        let c = &mut self.counts[slot];
        if *c == 0 {
            self.touched.push(slot as u32);
        }
        *c += n;
    }

    /// Gives each nonzero bucket's lowest value and count, and empties the tally.
    fn drain(&mut self, mut record: impl FnMut(u64, u64)) {
        for &i in &self.touched {
            let i = i as usize;
            record(lowest_value(i), self.counts[i]);
            self.counts[i] = 0;
        }
        self.touched.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HIGH: u64 = 3_600_000_000_000;

    fn both(values: &[u64], sigfig: u8) -> (Histogram<u64>, Histogram<u64>) {
        let mut direct = Histogram::new_with_bounds(1, HIGH, sigfig).unwrap();
        let mut via = direct.clone();
        let mut t = Tally::new(HIGH);
        for (k, &v) in values.iter().enumerate() {
            direct.saturating_record(v);
            t.count(slot(v));
            if k % 7 == 3 {
                t.flush_into(&mut via);
            }
        }
        t.flush_into(&mut via);
        (direct, via)
    }

    #[test]
    fn the_layout_is_hdrs() {
        let h = Histogram::<u64>::new_with_bounds(1, HIGH, SIGFIG).unwrap();
        let mut v = 1u64;
        while v <= HIGH {
            for x in [v, v + 1, v.saturating_mul(3) / 2, v.saturating_mul(2) - 1] {
                let x = x.min(HIGH);
                assert_eq!(lowest_value(slot(x)), h.lowest_equivalent(x), "value {x}");
            }
            v *= 2;
        }
        assert_eq!(Tally::new(HIGH).counts.len(), slot(HIGH) + 1);
        assert_eq!(h.lowest_equivalent(HIGH), lowest_value(slot(HIGH)));
    }

    #[test]
    fn edges_land_where_hdr_puts_them() {
        let values = [1, 2, 255, 256, 257, 2047, 2048, 2049, 4095, 4096, 1_000_000, HIGH - 1, HIGH];
        for sigfig in [1u8, 2, 3] {
            let (direct, via) = both(&values, sigfig);
            assert_eq!(direct, via);
            assert_eq!((direct.min(), direct.max(), direct.len()), (via.min(), via.max(), via.len()));
        }
    }

    proptest! {
        #[test]
        fn a_flushed_tally_equals_recording_directly(
            values in proptest::collection::vec(prop_oneof![1u64..5_000, 1u64..HIGH], 1..300),
            sigfig in 1u8..=SIGFIG,
        ) {
            let (direct, via) = both(&values, sigfig);
            prop_assert_eq!(&direct, &via);
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                prop_assert_eq!(direct.value_at_quantile(q), via.value_at_quantile(q));
            }
            prop_assert_eq!(direct.max(), via.max());
            prop_assert_eq!(direct.min_nz(), via.min_nz());
            prop_assert_eq!(direct.mean(), via.mean());
        }
    }
}
