//! Tests of the time distributions: parsing, compiling, sampling and
//! their analytic moments (model stage).

use super::*;
use crate::rng::stream;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn parse(yaml: &str) -> DistSpec {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn parse_err(yaml: &str) -> String {
    match serde_saphyr::from_str::<DistSpec>(yaml) {
        Ok(spec) => panic!("{yaml} parsed as {spec:?}"),
        Err(e) => e.to_string(),
    }
}

fn compile(yaml: &str) -> Dist {
    parse(yaml).compile(&data_dir()).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn compile_err(yaml: &str) -> String {
    match parse(yaml).compile(&data_dir()) {
        Ok(d) => panic!("{yaml} compiled to {d:?}"),
        Err(e) => e,
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_nanos(v * 1_000_000)
}

/// One YAML line per form, used by the statistical tests below.
const FORMS: &[&str] = &[
    "{constant: 10ms}",
    "{exponential: 10ms}",
    "{uniform: {min: 5ms, max: 15ms}}",
    "{normal: {mean: 2ms, stddev: 0.5ms}}",
    "{normal: {mean: 1ms, stddev: 1ms}}",
    "{lognormal: {mean: 40ms, p99: 250ms}}",
    "{lognormal: {median: 30ms, p99: 250ms}}",
    "{lognormal: {mu: 3.2, sigma: 0.6}}",
    "{erlang: {k: 4, mean: 10ms}}",
    "{erlang: {k: 1, mean: 10ms}}",
    "{gamma: {shape: 2.5, mean: 10ms}}",
    "{gamma: {shape: 0.5, mean: 10ms}}",
    "{mixture: [{weight: 95%, dist: {exponential: 5ms}}, {weight: 5%, dist: {constant: 200ms}}]}",
    "{mixture: [{weight: 50%, dist: {uniform: {min: 1ms, max: 3ms}}}, \
      {weight: 50%, dist: {mixture: [{weight: 0.3, dist: {erlang: {k: 2, mean: 4ms}}}, \
      {weight: 70%, dist: {normal: {mean: 2ms, stddev: 1ms}}}]}}]}",
    "{empirical: {file: dist_samples.csv, column: latency_ms}}",
    "{empirical: {file: dist_samples.csv, column: queue_us, unit: us}}",
];

#[test]
fn every_form_parses_from_yaml() {
    assert_eq!(parse("{constant: 10ms}"), DistSpec::Constant(ms(10)));
    assert_eq!(parse("constant: 10ms"), DistSpec::Constant(ms(10)));
    assert_eq!(parse("{exponential: 10ms}"), DistSpec::Exponential(ms(10)));
    assert_eq!(
        parse("uniform:\n  min: 5ms\n  max: 15ms\n"),
        DistSpec::Uniform(UniformSpec { min: ms(5), max: ms(15) })
    );
    assert_eq!(
        parse("{normal: {mean: 2ms, stddev: 0.5ms}}"),
        DistSpec::Normal(NormalSpec { mean: ms(2), stddev: Duration::from_nanos(500_000) })
    );
    assert_eq!(
        parse("{lognormal: {mean: 40ms, p99: 250ms}}"),
        DistSpec::Lognormal(LognormalSpec { mean: Some(ms(40)), p99: Some(ms(250)), ..Default::default() })
    );
    assert_eq!(
        parse("{lognormal: {median: 30ms, p99: 250ms}}"),
        DistSpec::Lognormal(LognormalSpec { median: Some(ms(30)), p99: Some(ms(250)), ..Default::default() })
    );
    assert_eq!(
        parse("{lognormal: {mu: 3.2, sigma: 0.6}}"),
        DistSpec::Lognormal(LognormalSpec { mu: Some(3.2), sigma: Some(0.6), ..Default::default() })
    );
    assert_eq!(parse("{erlang: {k: 4, mean: 10ms}}"), DistSpec::Erlang(ErlangSpec { k: 4, mean: ms(10) }));
    assert_eq!(parse("{gamma: {shape: 2.5, mean: 10ms}}"), DistSpec::Gamma(GammaSpec { shape: 2.5, mean: ms(10) }));
    assert_eq!(
        parse(
            "mixture:\n  - weight: 95%\n    dist: {exponential: 5ms}\n  \
             - weight: 5%\n    dist: {constant: 200ms}\n"
        ),
        DistSpec::Mixture(vec![
            MixtureComponent { weight: Percent(0.95), dist: DistSpec::Exponential(ms(5)) },
            MixtureComponent { weight: Percent(0.05), dist: DistSpec::Constant(ms(200)) },
        ])
    );
    assert_eq!(
        parse("{empirical: {file: samples.csv, column: latency_ms, unit: us}}"),
        DistSpec::Empirical(EmpiricalSpec {
            file: "samples.csv".into(),
            column: Some("latency_ms".into()),
            unit: TimeUnit::Us
        })
    );
    assert_eq!(
        parse("{empirical: {file: samples.csv}}"),
        DistSpec::Empirical(EmpiricalSpec { file: "samples.csv".into(), column: None, unit: TimeUnit::Ms })
    );
    for yaml in FORMS {
        parse(yaml);
    }
}

#[test]
fn specs_serialise_back_to_the_same_form() {
    for yaml in FORMS {
        let spec = parse(yaml);
        let text = serde_saphyr::to_string(&spec).unwrap();
        assert_eq!(parse(&text), spec, "{yaml} -> {text}");
    }
}

#[test]
fn bad_forms_are_rejected_when_parsed() {
    let err = parse_err("{triangular: 5ms}");
    assert!(err.contains("unknown variant"), "{err}");
    for name in ["constant", "exponential", "lognormal", "mixture", "empirical"] {
        assert!(err.contains(name), "{err}");
    }
    let err = parse_err("{uniform: {min: 5ms, maximum: 15ms}}");
    assert!(err.contains("maximum"), "{err}");
    let err = parse_err("{exponential: 10}");
    assert!(err.contains("no unit"), "{err}");
    let err = parse_err("{erlang: {k: 2.5, mean: 10ms}}");
    assert!(!err.is_empty());
    let err = parse_err("{empirical: {file: a.csv, unit: parsecs}}");
    assert!(err.contains("parsecs") && err.contains("ms"), "{err}");
    let err = parse_err("{mixture: [{weight: 95, dist: {constant: 1ms}}]}");
    assert!(err.contains("95%"), "{err}");
}

#[test]
fn bad_parameters_are_rejected_when_compiled() {
    let cases: &[(&str, &[&str])] = &[
        ("{exponential: 0ms}", &["exponential mean is 0", "greater than zero"]),
        ("{uniform: {min: 15ms, max: 5ms}}", &["min 15ms is more than max 5ms"]),
        ("{normal: {mean: 2ms, stddev: 0}}", &["stddev is 0", "constant"]),
        ("{normal: {mean: 0, stddev: 1ms}}", &["normal mean is 0"]),
        ("{erlang: {k: 0, mean: 10ms}}", &["erlang k is 0", "1 or more"]),
        ("{erlang: {k: 2, mean: 0}}", &["erlang mean is 0"]),
        ("{gamma: {shape: -1, mean: 10ms}}", &["gamma shape is -1"]),
        ("{gamma: {shape: .nan, mean: 10ms}}", &["gamma shape is NaN"]),
        ("{gamma: {shape: 0, mean: 10ms}}", &["gamma shape is 0"]),
        ("{lognormal: {mean: 40ms, mu: 3.2, sigma: 0.6}}", &["`mean`, `mu`, `sigma`", "exactly one of"]),
        ("{lognormal: {mean: 40ms}}", &["lognormal has `mean`", "p99"]),
        ("{lognormal: {}}", &["no parameters"]),
        ("{lognormal: {mean: 40ms, p99: 30ms}}", &["not more than the mean", "greater than the mean"]),
        ("{lognormal: {mean: 10ms, p99: 200ms}}", &["20.00 times the mean", "at most 14.97", "median"]),
        ("{lognormal: {median: 40ms, p99: 40ms}}", &["not more than the median"]),
        ("{lognormal: {mu: 3.2, sigma: 0}}", &["sigma is 0"]),
        ("{lognormal: {mu: 3.2, sigma: -0.5}}", &["sigma is -0.5"]),
        (
            "{mixture: [{weight: 95%, dist: {constant: 1ms}}, {weight: 2%, dist: {constant: 2ms}}]}",
            &["add up to 97%", "95% + 2%", "100%"],
        ),
        ("{mixture: []}", &["no components"]),
        (
            "{mixture: [{weight: 50%, dist: {constant: 1ms}}, {weight: 50%, dist: {exponential: 0}}]}",
            &["mixture component 2 of 2", "exponential mean is 0"],
        ),
    ];
    for (yaml, needles) in cases {
        let err = compile_err(yaml);
        for needle in *needles {
            assert!(err.contains(needle), "{yaml}: {err:?} lacks {needle:?}");
        }
    }
    // Within the 0.01% tolerance is fine.
    compile(
        "{mixture: [{weight: 33.333%, dist: {constant: 1ms}}, \
         {weight: 66.667%, dist: {constant: 2ms}}]}",
    );
}

#[test]
fn csv_errors_name_file_line_and_column() {
    let cases: &[(&str, &[&str])] = &[
        (
            "{empirical: {file: dist_bad_cell.csv, column: latency_ms}}",
            &["dist_bad_cell.csv:4:2: \"abc\" is not a number", "time in ms"],
        ),
        ("{empirical: {file: dist_negative.csv}}", &["dist_negative.csv:3:1: \"-2\" is negative"]),
        ("{empirical: {file: dist_header_only.csv}}", &["dist_header_only.csv", "no samples"]),
        ("{empirical: {file: dist_empty.csv}}", &["dist_empty.csv", "empty", "header row"]),
        ("{empirical: {file: dist_no_header.csv}}", &["dist_no_header.csv:1:1", "header", "\"12.5\" is a number"]),
        (
            "{empirical: {file: dist_samples.csv, column: latency}}",
            &["dist_samples.csv:1", "no column named \"latency\"", "\"latency_ms\""],
        ),
        ("{empirical: {file: no_such_file.csv}}", &["no_such_file.csv", "cannot read"]),
    ];
    for (yaml, needles) in cases {
        let err = compile_err(yaml);
        for needle in *needles {
            assert!(err.contains(needle), "{yaml}: {err:?} lacks {needle:?}");
        }
    }
}

/// Sample mean and second moment agree with the analytic ones within five
/// standard errors (plus rounding to whole nanoseconds).
fn check_moments(name: &str, dist: &Dist, n: usize) {
    let mut rng = stream(1, "test", name);
    let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
    for _ in 0..n {
        let x = dist.sample(&mut rng) as f64 / NS_PER_SEC;
        s1 += x;
        s2 += x * x;
        s4 += x * x * x * x;
    }
    let nf = n as f64;
    let (m1, m2, m4) = (s1 / nf, s2 / nf, s4 / nf);
    let mean = dist.mean_secs();
    let second = dist.second_moment_secs2();
    let se1 = ((second - mean * mean).max(0.0) / nf).sqrt();
    let se2 = ((m4 - m2 * m2).max(0.0) / nf).sqrt();
    assert!((m1 - mean).abs() <= 5.0 * se1 + 1e-9, "{name}: sample mean {m1} vs {mean} (se {se1})");
    assert!((m2 - second).abs() <= 5.0 * se2 + 1e-6 * second, "{name}: sample E[S^2] {m2} vs {second} (se {se2})");
}

#[test]
fn sample_moments_match_the_analytic_ones() {
    for yaml in FORMS {
        check_moments(yaml, &compile(yaml), 200_000);
    }
}

#[test]
fn closed_form_moments() {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-12);
    let d = compile("{exponential: 10ms}");
    assert!(close(d.mean_secs(), 0.01));
    assert!(close(d.second_moment_secs2(), 2e-4));
    let d = compile("{uniform: {min: 5ms, max: 15ms}}");
    assert!(close(d.mean_secs(), 0.01));
    assert!(close(d.second_moment_secs2(), 1e-4 + 1e-4 / 12.0));
    let d = compile("{erlang: {k: 4, mean: 10ms}}");
    assert!(close(d.second_moment_secs2(), 1e-4 * 5.0 / 4.0));
    let d = compile("{gamma: {shape: 2.5, mean: 10ms}}");
    assert!(close(d.mean_secs(), 0.01));
    let d = compile("{lognormal: {mean: 40ms, p99: 250ms}}");
    assert!(close(d.mean_secs(), 0.04), "{}", d.mean_secs());
    let d = compile("{lognormal: {mu: 3.2, sigma: 0.6}}");
    assert!(close(d.mean_secs(), (3.2f64 + 0.18).exp() / 1e3));
    // A normal far from zero is barely truncated.
    let d = compile("{normal: {mean: 20ms, stddev: 1ms}}");
    assert!(close(d.mean_secs(), 0.02));
    assert!(close(d.second_moment_secs2(), 4e-4 + 1e-6));
    // Half-normal: mean sd sqrt(2/pi) when the mean is ~0.
    let d = Dist { kind: Kind::TruncatedNormal { mean_ns: 0.0, sd_ns: 1e6 } };
    assert!(close(d.mean_secs(), 1e-3 * (2.0 / PI).sqrt()));
    assert!(close(d.second_moment_secs2(), 1e-6));
}

#[test]
fn lognormal_p99_matches_what_was_asked_for() {
    for (yaml, name) in
        [("{lognormal: {mean: 40ms, p99: 250ms}}", "mean"), ("{lognormal: {median: 30ms, p99: 250ms}}", "median")]
    {
        let d = compile(yaml);
        let q = d.quantile_secs(0.99).unwrap();
        assert!((q - 0.25).abs() < 1e-9, "{yaml}: {q}");
        let mut rng = stream(1, "test", name);
        let mut xs: Vec<u64> = (0..200_000).map(|_| d.sample(&mut rng)).collect();
        xs.sort_unstable();
        let p99 = xs[(0.99 * xs.len() as f64).ceil() as usize - 1] as f64 / NS_PER_SEC;
        assert!((p99 / 0.25 - 1.0).abs() < 0.03, "{yaml}: sample p99 {p99}");
    }
    let d = compile("{lognormal: {median: 30ms, p99: 250ms}}");
    assert!((d.quantile_secs(0.5).unwrap() - 0.03).abs() < 1e-12);
    // The largest p99/mean ratio a lognormal can have is accepted.
    let edge = (Z99 * Z99 / 2.0).exp() * 0.999_999;
    let spec = DistSpec::Lognormal(LognormalSpec {
        mean: Some(ms(10)),
        p99: Some(Duration::from_nanos((edge * 1e7) as u64)),
        ..Default::default()
    });
    let d = spec.compile(&data_dir()).unwrap();
    assert!((d.mean_secs() - 0.01).abs() < 1e-12);
}

#[test]
fn mixture_mean_is_the_weighted_mean() {
    let d = compile(
        "{mixture: [{weight: 95%, dist: {exponential: 5ms}}, \
         {weight: 5%, dist: {constant: 200ms}}]}",
    );
    let want = 0.95 * 0.005 + 0.05 * 0.2;
    assert!((d.mean_secs() - want).abs() < 1e-15);
    let want2 = 0.95 * 2.0 * 0.005f64.powi(2) + 0.05 * 0.2f64.powi(2);
    assert!((d.second_moment_secs2() - want2).abs() < 1e-15);
    assert_eq!(d.quantile_secs(0.5), None);
    // About 5% of draws are the 200ms constant.
    let mut rng = stream(1, "test", "mixture-share");
    let n = 200_000;
    let hits = (0..n).filter(|_| d.sample(&mut rng) == 200_000_000).count();
    let sd = (n as f64 * 0.05 * 0.95).sqrt();
    assert!((hits as f64 - 0.05 * n as f64).abs() < 5.0 * sd, "{hits}");
    // A zero-weight branch is never drawn.
    let d = compile(
        "{mixture: [{weight: 100%, dist: {constant: 1ms}}, \
         {weight: 0%, dist: {constant: 2ms}}]}",
    );
    let mut rng = stream(1, "test", "mixture-zero");
    assert!((0..10_000).all(|_| d.sample(&mut rng) == 1_000_000));
}

fn file_column_ms(column: usize) -> Vec<f64> {
    let text = std::fs::read_to_string(data_dir().join("dist_samples.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(column))
        .filter(|c| !c.is_empty())
        .map(|c| c.parse().unwrap())
        .collect()
}

#[test]
fn empirical_bootstrap_reproduces_the_data() {
    let values = file_column_ms(1);
    assert_eq!(values.len(), 40);
    let file_mean = values.iter().sum::<f64>() / values.len() as f64 / 1e3;
    let d = compile("{empirical: {file: dist_samples.csv, column: latency_ms}}");
    assert!((d.mean_secs() - file_mean).abs() < 1e-12);
    check_moments("empirical-bootstrap", &d, 200_000);
    // Every draw is one of the observed values.
    let observed: Vec<u64> = values.iter().map(|v| round_ns(v * 1e6)).collect();
    let mut rng = stream(1, "test", "empirical-values");
    for _ in 0..10_000 {
        assert!(observed.contains(&d.sample(&mut rng)));
    }
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |q: f64| d.quantile_secs(q).unwrap() * 1e3;
    assert!((q(0.0) - sorted[0]).abs() < 1e-9);
    assert!((q(1.0) - sorted[39]).abs() < 1e-9);
    assert!((q(0.5) - sorted[19]).abs() < 1e-9);
    assert!((q(0.51) - sorted[20]).abs() < 1e-9);

    // Units and ragged columns: queue_us has 25 values, then blanks.
    let us = file_column_ms(2);
    assert_eq!(us.len(), 25);
    let d = compile("{empirical: {file: dist_samples.csv, column: queue_us, unit: us}}");
    let want = us.iter().sum::<f64>() / 25.0 / 1e6;
    assert!((d.mean_secs() - want).abs() < 1e-12);
    // The default column is the first one, in milliseconds.
    let d = compile("{empirical: {file: dist_samples.csv}}");
    assert!((d.mean_secs() - 20.5e-3).abs() < 1e-12);
}

#[test]
fn scaled_multiplies_every_time() {
    for yaml in FORMS {
        let d = compile(yaml);
        for factor in [3.0, 0.5] {
            let s = d.scaled(factor);
            let rel = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b;
            assert!(rel(s.mean_secs(), factor * d.mean_secs()), "{yaml} x{factor}");
            assert!(rel(s.second_moment_secs2(), factor * factor * d.second_moment_secs2()), "{yaml} x{factor}");
            if let (Some(a), Some(b)) = (s.quantile_secs(0.9), d.quantile_secs(0.9)) {
                assert!(rel(a, factor * b), "{yaml} x{factor}");
            }
        }
        check_moments(&format!("scaled {yaml}"), &d.scaled(3.0), 50_000);
        assert_eq!(d.scaled(0.0).is_constant(), Some(0));
    }
    let d = compile("{exponential: 10ms}").scaled(3.0);
    assert!((d.mean_secs() - 0.03).abs() < 1e-15);
    assert_eq!(compile("{constant: 10ms}").scaled(3.0).is_constant(), Some(30_000_000));
}

#[test]
fn same_seed_gives_the_same_sequence() {
    for yaml in FORMS {
        let d = compile(yaml);
        let draw = |seed| {
            let mut rng = stream(seed, "test", yaml);
            (0..1000).map(|_| d.sample(&mut rng)).collect::<Vec<u64>>()
        };
        assert_eq!(draw(9), draw(9), "{yaml}");
        if d.is_constant().is_none() {
            assert_ne!(draw(9), draw(10), "{yaml}");
        }
    }
}

#[test]
fn quantiles_where_closed_forms_exist() {
    let q = |yaml: &str, p: f64| compile(yaml).quantile_secs(p);
    assert_eq!(q("{constant: 10ms}", 0.3), Some(0.01));
    let median = q("{exponential: 10ms}", 0.5).unwrap();
    assert!((median - 0.01 * 2f64.ln()).abs() < 1e-15);
    assert_eq!(q("{uniform: {min: 5ms, max: 15ms}}", 0.25), Some(0.0075));
    let p99 = q("{normal: {mean: 20ms, stddev: 1ms}}", 0.99).unwrap();
    assert!((p99 - (0.02 + 0.001 * Z99)).abs() < 1e-12);
    // A truncated normal's quantiles are in range and increase.
    let d = compile("{normal: {mean: 1ms, stddev: 1ms}}");
    let qs: Vec<f64> = [0.0, 0.1, 0.5, 0.9].map(|p| d.quantile_secs(p).unwrap()).into();
    assert!(qs[0].abs() < 1e-12 && qs.windows(2).all(|w| w[0] < w[1]), "{qs:?}");
    assert_eq!(q("{gamma: {shape: 2.5, mean: 10ms}}", 0.5), None);
    assert_eq!(q("{erlang: {k: 2, mean: 10ms}}", 0.5), None);
    assert_eq!(q("{exponential: 10ms}", 1.5), None);
    assert_eq!(q("{exponential: 10ms}", f64::NAN), None);
}

#[test]
fn inverse_normal_cdf_is_accurate() {
    let known = [
        (0.5, 0.0),
        (0.975, 1.959_963_984_540_054),
        (0.99, 2.326_347_874_040_841),
        (0.01, -2.326_347_874_040_841),
        (0.999, 3.090_232_306_167_813_5),
        (1e-10, -6.361_340_902_404_056),
    ];
    for (p, x) in known {
        let got = normal_quantile(p);
        assert!((got - x).abs() < 1e-12, "probit({p}) = {got}, want {x}");
    }
    for i in 1..1000 {
        let p = i as f64 / 1000.0;
        assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-15);
    }
}

#[test]
fn constants_and_degenerate_forms() {
    assert_eq!(compile("{constant: 10ms}").is_constant(), Some(10_000_000));
    assert_eq!(compile("{constant: 0}").is_constant(), Some(0));
    assert_eq!(compile("{uniform: {min: 5ms, max: 5ms}}").is_constant(), Some(5_000_000));
    assert_eq!(compile("{exponential: 10ms}").is_constant(), None);
    assert_eq!(Dist::constant(7).sample(&mut stream(1, "test", "c")), 7);
}

#[test]
fn dist_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + fmt::Debug>() {}
    assert_send_sync::<Dist>();
    assert_send_sync::<DistSpec>();
}

/// A server holds two distributions, and a run may have a million servers.
#[test]
fn a_distribution_fits_in_24_bytes() {
    assert!(std::mem::size_of::<Dist>() <= 24, "{}", std::mem::size_of::<Dist>());
}
