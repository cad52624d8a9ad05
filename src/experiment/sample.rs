//! What one run contributes to an experiment: a [`Sample`] of its headline
//! metrics and each SLO's observed value and verdict (a few hundred bytes,
//! kept per work item), and a [`LatencyPool`] of its latencies (an HDR
//! histogram of a few hundred kilobytes, merged into its point's pool as
//! soon as the run ends, so a sweep holds one per point in progress, not
//! one per item). A shard writes both to one file per item (`SampleFile`),
//! from which `merge` rebuilds the same figures bit for bit.

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde::{Deserialize, Serialize};

use crate::metrics::{LatencySummary, WindowStats};
use crate::report::Summary;
use crate::report::headline::METRICS;
use crate::sim::RunResult;

/// One SLO in one run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SloSample {
    /// In the objective's unit; None when its window saw no data.
    pub observed: Option<f64>,
    pub met: bool,
}

/// The latencies of a run's successful requests: an HDR histogram plus the
/// exact count, sum and extremes (the histogram alone rounds to its buckets).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LatencyPool {
    pub histogram: Histogram<u64>,
    pub count: u64,
    pub sum_ns: u128,
    pub min_ns: u64,
    pub max_ns: u64,
}

impl LatencyPool {
    /// The successful requests of a recorder window.
    pub(crate) fn of(w: &WindowStats) -> LatencyPool {
        LatencyPool {
            histogram: w.latency.clone(),
            count: w.completed,
            sum_ns: w.latency_sum_ns(),
            min_ns: w.latency_min_ns,
            max_ns: w.latency_max_ns,
        }
    }

    /// Adds another run's latencies.
    pub(crate) fn merge(&mut self, other: &LatencyPool) {
        // Both come from the recorder's histogram, with the same bounds, so
        // adding cannot fail; saturate rather than panic if it ever did.
        if self.histogram.add(&other.histogram).is_err() {
            for v in other.histogram.iter_recorded() {
                self.histogram.saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// Mean and percentiles, ms, as a run's summary computes them (zeros
    /// when nothing succeeded).
    pub(crate) fn summary(&self) -> LatencySummary {
        if self.count == 0 || self.histogram.is_empty() {
            return LatencySummary::default();
        }
        let q = |q: f64| self.histogram.value_at_quantile(q).clamp(self.min_ns, self.max_ns) as f64 / 1e6;
        LatencySummary {
            mean: self.sum_ns as f64 / self.count as f64 / 1e6,
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: self.max_ns as f64 / 1e6,
        }
    }
}

/// One run's figures, apart from its latencies.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub seed: u64,
    /// One value per [`METRICS`] entry, in order; None where undefined.
    pub metrics: Vec<Option<f64>>,
    /// One per SLO of the scenario, in declaration order.
    pub slos: Vec<SloSample>,
}

impl Sample {
    /// The figures of a finished run, from its summary.
    pub(crate) fn of(summary: &Summary) -> Sample {
        Sample {
            seed: summary.scenario.seed,
            metrics: METRICS.iter().map(|m| (m.get)(summary).filter(|v| v.is_finite())).collect(),
            slos: summary
                .slos
                .iter()
                .map(|s| SloSample { observed: s.observed.filter(|v| v.is_finite()), met: s.met })
                .collect(),
        }
    }
}

impl LatencyPool {
    /// The measured period's latencies of a finished run.
    pub(crate) fn of_run(result: &RunResult) -> LatencyPool {
        LatencyPool::of(result.recorder.measured())
    }
}

/// A sample as written to a shard's item file: metrics by key (so a file
/// from another build with a different metric list is refused, not
/// misread), the histogram in HdrHistogram's V2 encoding as hex.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SampleFile {
    pub seed: u64,
    pub metrics: Vec<MetricValue>,
    pub slos: Vec<SloSample>,
    pub latency: LatencyFile,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetricValue {
    pub metric: String,
    pub value: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LatencyFile {
    pub count: u64,
    /// A decimal string: the sum can exceed what JSON numbers hold exactly.
    pub sum_ns: String,
    pub min_ns: u64,
    pub max_ns: u64,
    /// HdrHistogram V2 serialization (uncompressed), hex.
    pub hdr_v2: String,
}

impl Sample {
    /// The item file's contents: the sample and the run's latencies.
    pub(crate) fn to_file(&self, latency: &LatencyPool) -> Result<SampleFile, String> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&latency.histogram, &mut bytes)
            .map_err(|e| format!("serialising a latency histogram: {e:?}"))?;
        Ok(SampleFile {
            seed: self.seed,
            metrics: METRICS
                .iter()
                .zip(&self.metrics)
                .map(|(m, v)| MetricValue { metric: m.key.to_string(), value: *v })
                .collect(),
            slos: self.slos.clone(),
            latency: LatencyFile {
                count: latency.count,
                sum_ns: latency.sum_ns.to_string(),
                min_ns: latency.min_ns,
                max_ns: latency.max_ns,
                hdr_v2: hex(&bytes),
            },
        })
    }

    /// Reads a sample and its latencies back; the error says what is wrong.
    pub(crate) fn from_file(f: SampleFile) -> Result<(Sample, LatencyPool), String> {
        let keys: Vec<&str> = f.metrics.iter().map(|m| m.metric.as_str()).collect();
        let expected: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
        if keys != expected {
            return Err(format!(
                "its metrics ({}) are not this lbsim's ({}): it was written by another version",
                keys.join(", "),
                expected.join(", ")
            ));
        }
        let bytes = unhex(&f.latency.hdr_v2).ok_or("its latency histogram is not hex")?;
        check_hdr_v2(&bytes)?;
        let histogram: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("its latency histogram does not decode ({e:?})"))?;
        let sum_ns: u128 = f.latency.sum_ns.parse().map_err(|_| "its latency sum is not a whole number")?;
        let latency = LatencyPool {
            histogram,
            count: f.latency.count,
            sum_ns,
            min_ns: f.latency.min_ns,
            max_ns: f.latency.max_ns,
        };
        Ok((Sample { seed: f.seed, metrics: f.metrics.iter().map(|m| m.value).collect(), slos: f.slos }, latency))
    }
}

/// Checks an (uncompressed) HdrHistogram V2 encoding before the crate
/// reads it: its cookie, a payload length that matches the bytes, and no
/// count that decodes to `i64::MIN`, which hdrhistogram 7.6 negates (an
/// overflow: a panic in a debug build). Found by the `merge_item` fuzzer.
fn check_hdr_v2(bytes: &[u8]) -> Result<(), String> {
    const COOKIE: u32 = 0x1c84_9313;
    const HEADER: usize = 40;
    let word = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    if bytes.len() < HEADER || word(0) != COOKIE {
        return Err("its latency histogram is not an HdrHistogram V2 encoding".into());
    }
    if word(4) as usize != bytes.len() - HEADER {
        return Err("its latency histogram's length does not match its bytes".into());
    }
    // LEB128 of up to 9 bytes, the ninth taken whole; a truncated last
    // number is left to the decoder to report.
    let mut payload = &bytes[HEADER..];
    while !payload.is_empty() {
        let (mut value, mut n) = (0u64, 0);
        while let Some(&b) = payload.get(n) {
            n += 1;
            if n == 9 {
                value |= u64::from(b) << 56;
                break;
            }
            value |= u64::from(b & 0x7f) << (7 * (n - 1));
            if b & 0x80 == 0 {
                break;
            }
        }
        if value == u64::MAX {
            return Err("its latency histogram holds an impossible count".into());
        }
        payload = &payload[n..];
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(values: &[u64]) -> LatencyPool {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        LatencyPool {
            histogram: h,
            count: values.len() as u64,
            sum_ns: values.iter().map(|&v| u128::from(v)).sum(),
            min_ns: values.iter().copied().min().unwrap_or(u64::MAX),
            max_ns: values.iter().copied().max().unwrap_or(0),
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn pooled_latencies_are_those_of_all_requests_together() {
        let mut a = pool(&[1_000_000, 2_000_000, 3_000_000]);
        let b = pool(&[10_000_000]);
        a.merge(&b);
        let s = a.summary();
        assert_eq!(a.count, 4);
        assert_eq!(s.mean, 4.0);
        assert_eq!(s.max, 10.0);
        assert!((s.p50 - 2.0).abs() < 0.01, "{s:?}");
        assert_eq!(pool(&[]).summary().p99, 0.0);
    }

    #[test]
    fn a_sample_survives_its_file_bit_for_bit() {
        let sample = Sample {
            seed: 7,
            metrics: METRICS.iter().enumerate().map(|(i, _)| (i % 3 != 0).then_some(0.1 * i as f64 + 1e-17)).collect(),
            slos: vec![SloSample { observed: Some(287.123_456_789_012_3), met: true }],
        };
        let latency = pool(&[1, 5_000_000, 77_777_777, 3_600_000_000_000]);
        let text = serde_json::to_string(&sample.to_file(&latency).unwrap()).unwrap();
        let back = Sample::from_file(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, (sample.clone(), latency.clone()));
        let mut f = sample.to_file(&latency).unwrap();
        f.metrics.pop();
        assert!(Sample::from_file(f).unwrap_err().contains("another version"));
    }
}
