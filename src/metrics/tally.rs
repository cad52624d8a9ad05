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
//! 3-figure bucket's lowest value lands where every value of it would. A
//! tally can also be laid out for fewer figures, and [`Tally::move_into`]
//! folds a 3-figure tally into it, so a coarse histogram takes one record
//! per coarse bucket instead of one per fine bucket.

use hdrhistogram::Histogram;

/// The tallies' precision, as HDR significant figures.
pub const SIGFIG: u8 = 3;

/// HDR's sub-bucket count magnitude for `sigfig` significant figures and a
/// lowest discernible value of 1 (unit magnitude 0): 2 x 10^sigfig needs
/// 2^magnitude sub-buckets per bucket.
const fn magnitude(sigfig: u8) -> u32 {
    let largest = 2 * 10u64.pow(sigfig as u32);
    64 - (largest - 1).leading_zeros()
}

/// The layout of [`SIGFIG`], which [`slot`] computes on the hot path.
const SUB_BUCKET_COUNT_MAGNITUDE: u32 = magnitude(SIGFIG);

/// The bucket of `value` in the layout of `magnitude` (HDR's `index_for`).
#[inline(always)]
fn slot_in(value: u64, magnitude: u32) -> usize {
    let bucket = (64 - magnitude) - (value | ((1 << magnitude) - 1)).leading_zeros();
    let sub_bucket = value >> bucket;
    // (bucket + 1) * half_count + sub_bucket - half_count
    ((bucket as usize) << (magnitude - 1)) + sub_bucket as usize
}

/// The bucket of `value` in the layout of [`SIGFIG`].
#[inline(always)]
pub fn slot(value: u64) -> usize {
    slot_in(value, SUB_BUCKET_COUNT_MAGNITUDE)
}

/// The lowest value counted in `slot` of the layout of `magnitude` (HDR's
/// `value_for`).
fn lowest_value(slot: usize, magnitude: u32) -> u64 {
    let half = 1usize << (magnitude - 1);
    let bucket = (slot >> (magnitude - 1)) as i64 - 1;
    let sub_bucket = ((slot & (half - 1)) + half) as u64;
    if bucket < 0 { sub_bucket - half as u64 } else { sub_bucket << bucket }
}

/// The highest value counted in `slot` (whose lowest is `lowest`) of the
/// layout of `magnitude` (HDR's `highest_equivalent`): buckets below the
/// second hold one value each, and each later one twice as many as the one
/// before.
fn highest_value(slot: usize, lowest: u64, magnitude: u32) -> u64 {
    let bucket = ((slot >> (magnitude - 1)) as u32).saturating_sub(1);
    lowest + ((1u64 << bucket) - 1)
}

/// The slot of a coarser layout holding a slot of a finer one, by shifts:
/// from the second half of bucket 0 on, fine bucket `b` (sub-bucket `s`)
/// lies in coarse bucket `b + shift` (sub-bucket `s >> shift`), which
/// makes the coarse slot the fine one shifted plus a constant; the slots
/// below are their own values.
#[derive(Clone, Copy)]
struct Coarsening {
    shift: u32,
    offset: usize,
    first_shifted: usize,
    coarse: u32,
}

impl Coarsening {
    fn new(fine: u32, coarse: u32) -> Coarsening {
        let shift = fine.checked_sub(coarse).expect("the coarse layout has at most as many sub-buckets");
        Coarsening { shift, offset: (shift as usize) << (coarse - 1), first_shifted: 1 << (fine - 1), coarse }
    }

    /// `slot_in(lowest_value(fine_slot, fine), coarse)`.
    #[inline(always)]
    fn slot(self, fine_slot: usize) -> usize {
        if fine_slot >= self.first_shifted {
            (fine_slot >> self.shift) + self.offset
        } else {
            slot_in(fine_slot as u64, self.coarse)
        }
    }
}

/// Counts per bucket since the last flush, and which buckets are nonzero.
#[derive(Clone, Debug)]
pub struct Tally {
    counts: Vec<u64>,
    /// Slots whose count went from zero to one since the last flush, so a
    /// flush costs the buckets touched, not the array.
    touched: Vec<u32>,
    /// The layout's sub-bucket count magnitude.
    magnitude: u32,
}

impl Tally {
    /// A tally for values in `1..=max_value`, in the layout of [`SIGFIG`]
    /// (the one [`slot`] gives).
    pub fn new(max_value: u64) -> Tally {
        Tally::with_sigfig(max_value, SIGFIG)
    }

    /// A tally for values in `1..=max_value` with the layout of an HDR
    /// histogram of `sigfig` significant figures.
    pub fn with_sigfig(max_value: u64, sigfig: u8) -> Tally {
        let magnitude = magnitude(sigfig);
        Tally { counts: vec![0; slot_in(max_value, magnitude) + 1], touched: Vec::new(), magnitude }
    }

    /// Counts one value in `slot` (from [`slot`] of a value in range).
    #[inline(always)]
    pub fn count(&mut self, slot: usize) {
        self.add(slot, 1);
    }

    /// Counts `n` values in `slot`.
    #[inline(always)]
    fn add(&mut self, slot: usize, n: u64) {
        let c = &mut self.counts[slot];
        if *c == 0 {
            self.touched.push(slot as u32);
        }
        *c += n;
    }

    /// Adds every count to `hist` (lowest discernible value 1, at most as
    /// many significant figures as the tally's layout, highest trackable
    /// value at least the tally's maximum) and empties the tally.
    pub fn flush_into(&mut self, hist: &mut Histogram<u64>) {
        self.flush_into_with(hist, |_, _, _| {});
    }

    /// [`Tally::flush_into`], also giving each nonzero bucket's slot, its
    /// highest value (HDR's `highest_equivalent`) and its count to `each`.
    pub fn flush_into_with(&mut self, hist: &mut Histogram<u64>, mut each: impl FnMut(usize, u64, u64)) {
        let magnitude = self.magnitude;
        self.drain(|slot, n| {
            let lowest = lowest_value(slot, magnitude);
            hist.saturating_record_n(lowest, n);
            each(slot, highest_value(slot, lowest, magnitude), n);
        });
    }

    /// Moves every count into `coarse` (a layout of at most as many
    /// figures; its buckets are unions of this one's) and adds it to
    /// `also` (this layout), emptying this tally. Adding to a tally costs a
    /// fraction of recording into a histogram, and `coarse` has fewer
    /// buckets to flush.
    pub fn move_into(&mut self, coarse: &mut Tally, also: Option<&mut Tally>) {
        let to = Coarsening::new(self.magnitude, coarse.magnitude);
        match also {
            Some(t) => self.drain(|slot, n| {
                coarse.add(to.slot(slot), n);
                t.add(slot, n);
            }),
            None => self.drain(|slot, n| coarse.add(to.slot(slot), n)),
        }
    }

    /// Gives each nonzero bucket's slot and count, and empties the tally.
    fn drain(&mut self, mut take: impl FnMut(usize, u64)) {
        for &i in &self.touched {
            let i = i as usize;
            take(i, self.counts[i]);
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
                assert_eq!(lowest_value(slot(x), SUB_BUCKET_COUNT_MAGNITUDE), h.lowest_equivalent(x), "value {x}");
            }
            v *= 2;
        }
        assert_eq!(Tally::new(HIGH).counts.len(), slot(HIGH) + 1);
        assert_eq!(h.lowest_equivalent(HIGH), lowest_value(slot(HIGH), SUB_BUCKET_COUNT_MAGNITUDE));
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

    #[test]
    fn highest_values_are_hdrs() {
        for sigfig in 1..=SIGFIG {
            let h = Histogram::<u64>::new_with_bounds(1, HIGH, sigfig).unwrap();
            let m = magnitude(sigfig);
            for slot in 0..=slot_in(HIGH, m) {
                let lowest = lowest_value(slot, m);
                let highest = highest_value(slot, lowest, m);
                assert_eq!(highest, h.highest_equivalent(lowest), "sigfig {sigfig} slot {slot}");
                // The slot holds both, and the next one starts just above.
                assert_eq!([slot_in(lowest, m), slot_in(highest, m), slot_in(highest + 1, m)], [slot, slot, slot + 1]);
            }
        }
        let mut t = Tally::with_sigfig(HIGH, 2);
        let mut h = Histogram::<u64>::new_with_bounds(1, HIGH, 2).unwrap();
        for v in [5, 300, 301, 70_000, 70_000] {
            t.count(slot_in(v, magnitude(2)));
        }
        let mut got = Vec::new();
        t.flush_into_with(&mut h, |slot, highest, n| got.push((slot, highest, n)));
        got.sort_unstable();
        let want: Vec<_> = h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect();
        assert_eq!(got.iter().map(|&(_, hi, n)| (hi, n)).collect::<Vec<_>>(), want);
        assert_eq!(want, [(5, 1), (301, 2), (70_143, 2)]);
    }

    #[test]
    fn coarsening_by_shifts_is_coarsening_by_value() {
        for fine in 1..=SIGFIG {
            for coarse in 1..=fine {
                let (f, c) = (magnitude(fine), magnitude(coarse));
                let to = Coarsening::new(f, c);
                for slot in 0..=slot_in(HIGH, f) {
                    assert_eq!(
                        to.slot(slot),
                        slot_in(lowest_value(slot, f), c),
                        "{fine} to {coarse} figures, slot {slot}"
                    );
                }
            }
        }
    }

    #[test]
    fn magnitudes_are_hdrs() {
        // 2 x 10^s rounded up to a power of two: 32, 256, 2048 sub-buckets.
        assert_eq!([magnitude(1), magnitude(2), magnitude(3)], [5, 8, 11]);
        assert_eq!(SUB_BUCKET_COUNT_MAGNITUDE, 11);
    }

    proptest! {
        /// Folded into a coarser tally and flushed, the counts give the
        /// histogram that recording every value into it gives; the tally
        /// passed as `also` gets every count in its own layout.
        #[test]
        fn a_coarsened_tally_equals_recording_directly(
            values in proptest::collection::vec(prop_oneof![1u64..5_000, 1u64..HIGH], 1..300),
            sigfig in 1u8..=SIGFIG,
        ) {
            let mut direct = Histogram::<u64>::new_with_bounds(1, HIGH, sigfig).unwrap();
            let mut via = direct.clone();
            let mut all = Histogram::<u64>::new_with_bounds(1, HIGH, SIGFIG).unwrap();
            let (mut fine, mut coarse, mut also) =
                (Tally::new(HIGH), Tally::with_sigfig(HIGH, sigfig), Tally::new(HIGH));
            for (k, &v) in values.iter().enumerate() {
                direct.saturating_record(v);
                all.saturating_record(v);
                fine.count(slot(v));
                if k % 5 == 2 {
                    fine.move_into(&mut coarse, Some(&mut also));
                }
                if k % 11 == 7 {
                    coarse.flush_into(&mut via);
                }
            }
            fine.move_into(&mut coarse, Some(&mut also));
            coarse.flush_into(&mut via);
            prop_assert_eq!(&direct, &via);
            prop_assert_eq!((direct.max(), direct.min_nz(), direct.len()), (via.max(), via.min_nz(), via.len()));
            for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
                prop_assert_eq!(direct.value_at_quantile(q), via.value_at_quantile(q));
            }
            let mut also_hist = Histogram::<u64>::new_with_bounds(1, HIGH, SIGFIG).unwrap();
            also.flush_into(&mut also_hist);
            prop_assert_eq!(&all, &also_hist);
        }

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
