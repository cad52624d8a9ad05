//! A latency tally in front of an HDR histogram: the hot path counts a
//! value into a flat array laid out exactly as `hdrhistogram` lays out its
//! counts (same bucket for every value), and [`Tally::flush_into`] adds the
//! counts to the histogram at interval ends. The histogram then holds what
//! recording each value into it would have given (same counts, total,
//! minimum and maximum as it reports them), at a fraction of the cost per
//! value: `Histogram::record` checks ranges, saturates and tracks extremes
//! on every call, which the simulator's latencies (clamped to the
//! histogram's range beforehand) do not need.

use hdrhistogram::Histogram;

/// Counts per HDR bucket since the last flush, and which buckets are nonzero.
#[derive(Clone, Debug)]
pub struct Tally {
    counts: Vec<u64>,
    /// Indices whose count went from zero to one since the last flush, so
    /// a flush costs the buckets touched, not the array.
    touched: Vec<u32>,
    /// log2 of half the sub-buckets per bucket (HDR's
    /// `sub_bucket_half_count_magnitude`).
    half_magnitude: u32,
    /// `sub_bucket_count - 1` (HDR's `sub_bucket_mask`; the unit is 1 ns).
    sub_bucket_mask: u64,
    /// HDR's `leading_zero_count_base`.
    leading_zero_base: u32,
    /// Largest value the caller may count.
    max_value: u64,
}

impl Tally {
    /// A tally for values in `1..=max_value` of a histogram made with
    /// `Histogram::new_with_bounds(1, high, sigfig)`, `high >= max_value`.
    pub fn new(max_value: u64, sigfig: u8) -> Tally {
        // As `Histogram::new_with_bounds` with a lowest discernible value of
        // 1 (unit magnitude 0).
        let largest = 2 * 10_u32.pow(u32::from(sigfig));
        let sub_bucket_count_magnitude = f64::from(largest).log2().ceil() as u32;
        let half_magnitude = sub_bucket_count_magnitude - 1;
        let sub_bucket_count = 1u64 << sub_bucket_count_magnitude;
        let mut t = Tally {
            counts: Vec::new(),
            touched: Vec::new(),
            half_magnitude,
            sub_bucket_mask: sub_bucket_count - 1,
            leading_zero_base: 64 - sub_bucket_count_magnitude,
            max_value,
        };
        t.counts = vec![0; t.index_for(max_value) + 1];
        t
    }

    /// HDR's `index_for`.
    #[inline(always)]
    fn index_for(&self, value: u64) -> usize {
        let bucket = self.leading_zero_base - (value | self.sub_bucket_mask).leading_zeros();
        let sub_bucket = value >> bucket;
        // (bucket + 1) * half_count + sub_bucket - half_count
        ((bucket as usize) << self.half_magnitude) + sub_bucket as usize
    }

    /// HDR's `value_for`: the lowest value counted at `index`.
    fn value_for(&self, index: usize) -> u64 {
        let half = 1usize << self.half_magnitude;
        let bucket = (index >> self.half_magnitude) as i64 - 1;
        let sub_bucket = ((index & (half - 1)) + half) as u64;
        if bucket < 0 { sub_bucket - half as u64 } else { sub_bucket << bucket }
    }

    /// Counts `value`, which must be in `1..=max_value`.
    #[inline(always)]
    pub fn count(&mut self, value: u64) {
        debug_assert!(value >= 1 && value <= self.max_value);
        let i = self.index_for(value.min(self.max_value));
        let c = &mut self.counts[i];
        if *c == 0 {
            self.touched.push(i as u32);
        }
        *c += 1;
    }

    /// Adds every count to `hist` (made with the bounds and significant
    /// figures given to [`Tally::new`]) and empties the tally.
    pub fn flush_into(&mut self, hist: &mut Histogram<u64>) {
        for &i in &self.touched {
            let i = i as usize;
            hist.saturating_record_n(self.value_for(i), self.counts[i]);
            self.counts[i] = 0;
        }
        self.touched.clear();
    }

    /// Empties the tally without flushing it.
    pub fn clear(&mut self) {
        for &i in &self.touched {
            self.counts[i as usize] = 0;
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
        let mut t = Tally::new(HIGH, sigfig);
        for (k, &v) in values.iter().enumerate() {
            direct.saturating_record(v);
            t.count(v);
            if k % 7 == 3 {
                t.flush_into(&mut via);
            }
        }
        t.flush_into(&mut via);
        (direct, via)
    }

    #[test]
    fn the_lowest_value_of_each_bucket_is_hdrs() {
        for sigfig in [2u8, 3] {
            let h = Histogram::<u64>::new_with_bounds(1, HIGH, sigfig).unwrap();
            let t = Tally::new(HIGH, sigfig);
            let mut v = 1u64;
            while v <= HIGH {
                for x in [v, v + 1, v.saturating_mul(3) / 2, v.saturating_mul(2) - 1] {
                    let x = x.min(HIGH);
                    assert_eq!(t.value_for(t.index_for(x)), h.lowest_equivalent(x), "sigfig {sigfig}, value {x}");
                }
                v *= 2;
            }
            assert_eq!(t.counts.len(), t.index_for(HIGH) + 1);
        }
    }

    #[test]
    fn edges_land_where_hdr_puts_them() {
        let values = [1, 2, 2047, 2048, 2049, 4095, 4096, 1_000_000, HIGH - 1, HIGH];
        for sigfig in [2u8, 3] {
            let (direct, via) = both(&values, sigfig);
            assert_eq!(direct, via);
            assert_eq!((direct.min(), direct.max(), direct.len()), (via.min(), via.max(), via.len()));
        }
    }

    proptest! {
        #[test]
        fn a_flushed_tally_equals_recording_directly(
            values in proptest::collection::vec(prop_oneof![1u64..5_000, 1u64..HIGH], 1..300),
            sigfig in 2u8..4,
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
