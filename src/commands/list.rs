//! `lbsim list algorithms|distributions|metrics|rules`: what a scenario can
//! name, one line each. The tables here are checked against the types that
//! read the names (a unit test parses every name listed, and the schema's
//! lists must match), so a new algorithm or distribution shows up here or
//! fails the build's tests.

use crate::check::render;
use crate::error::Error;
use crate::metrics::snapshot::{BalancerMetric, ClientMetric, GlobalMetric, MetricKind, ServerMetric, SubnetMetric};
use crate::model::alerts::{MetricUnit, metric_unit};
use crate::model::slos::{SloMetric, SloUnit};

/// What to list.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// Load-balancing algorithms (a balancer's `algorithm:`).
    Algorithms,
    /// Time distributions (`service:`, `think_time:`, a link's `latency:`).
    Distributions,
    /// Metrics alerts can watch (by scope) and SLO objectives can judge.
    Metrics,
    /// `lbsim check`'s rules.
    Rules,
}

/// Options of `lbsim list`.
#[derive(Clone, Debug, clap::Args)]
pub struct ListOptions {
    #[arg(value_enum)]
    pub what: What,
}

/// (name, semantics, after which real balancer).
pub(crate) const ALGORITHMS: &[(&str, &str)] = &[
    ("round_robin", "smooth weighted round robin: weights {5,1,1} give a a b a c a a (NGINX)"),
    ("random", "weighted random (NGINX random, Envoy RANDOM)"),
    (
        "least_connections",
        "fewest requests in flight per weight, ties round robin (HAProxy leastconn, NGINX least_conn)",
    ),
    (
        "power_of_two_choices",
        "`choices` (default 2) candidates sampled with replacement, fewest in flight wins (Envoy LEAST_REQUEST)",
    ),
    (
        "consistent_hash",
        "ketama ring on the user id, `vnodes` (default 160) points per weight unit (NGINX hash consistent, Envoy RING_HASH)",
    ),
    ("first", "the first server with a free slot, then the next (HAProxy balance first)"),
];

/// (form, what it is).
pub(crate) const DISTRIBUTIONS: &[(&str, &str)] = &[
    ("constant", "{constant: 10ms}: always the same time"),
    ("exponential", "{exponential: 10ms}: exponential with this mean"),
    ("uniform", "{uniform: {min: 5ms, max: 15ms}}: uniform between min and max"),
    ("normal", "{normal: {mean: 2ms, stddev: 0.5ms}}: normal, truncated at zero"),
    ("lognormal", "{lognormal: {mean: 40ms, p99: 250ms}}: by mean and p99, median and p99, or mu and sigma"),
    ("erlang", "{erlang: {k: 4, mean: 10ms}}: k exponential phases with this total mean"),
    ("gamma", "{gamma: {shape: 2.5, mean: 10ms}}: gamma with this shape and mean"),
    ("mixture", "{mixture: [{weight: 95%, dist: {...}}, ...]}: a weighted choice of distributions"),
    ("empirical", "{empirical: {file: samples.csv, column: latency_ms, unit: ms}}: observed times, resampled"),
];

fn unit_name(u: MetricUnit) -> &'static str {
    match u {
        MetricUnit::Millis => "ms",
        MetricUnit::Fraction => "share",
        MetricUnit::PerSecond => "per second",
        MetricUnit::Count => "count",
    }
}

fn slo_unit_name(u: SloUnit) -> &'static str {
    match u {
        SloUnit::Millis => "ms",
        SloUnit::Fraction => "share of calls",
        SloUnit::PercentOfUsers => "share of users",
        SloUnit::PerSecond => "per second",
    }
}

/// The text `lbsim list WHAT` prints.
pub fn text(what: What) -> String {
    let mut out = String::new();
    match what {
        What::Algorithms => {
            for (name, what) in ALGORITHMS {
                out.push_str(&format!("{name:<22} {what}\n"));
            }
        }
        What::Distributions => {
            for (name, what) in DISTRIBUTIONS {
                out.push_str(&format!("{name:<12} {what}\n"));
            }
        }
        What::Metrics => {
            let mut row = |scope: &str, m: MetricKind, name: &str| {
                out.push_str(&format!("alert  {scope:<9} {name:<17} {}\n", unit_name(metric_unit(m))));
            };
            for &g in GlobalMetric::ALL {
                row("global", MetricKind::Global(g), g.name());
            }
            for &m in ServerMetric::ALL {
                row("server", MetricKind::Server(m), m.name());
            }
            for &m in BalancerMetric::ALL {
                row("balancer", MetricKind::Balancer(m), m.name());
            }
            for &m in ClientMetric::ALL {
                row("client", MetricKind::Client(m), m.name());
            }
            for &m in SubnetMetric::ALL {
                row("subnet", MetricKind::Subnet(m), m.name());
            }
            for m in SloMetric::ALL {
                out.push_str(&format!("slo    {:<9} {:<17} {}\n", "-", m.name(), slo_unit_name(m.unit())));
            }
        }
        What::Rules => out.push_str(&render::catalogue()),
    }
    out
}

/// `lbsim list WHAT`.
pub fn execute(opts: &ListOptions) -> Result<i32, Error> {
    print!("{}", text(opts.what));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::AlgorithmKind;
    use crate::dist::DistSpec;

    /// The schema's enum of a named definition, as names.
    fn schema_names(def: &str) -> Vec<String> {
        let schema = serde_json::to_value(schemars::schema_for!(crate::scenario::Scenario)).unwrap();
        let d = &schema["$defs"][def];
        let mut names: Vec<String> = Vec::new();
        for v in d["oneOf"].as_array().into_iter().flatten().chain(d["anyOf"].as_array().into_iter().flatten()) {
            if let Some(e) = v["enum"].as_array() {
                names.extend(e.iter().map(|x| x.as_str().unwrap().to_string()));
            }
            if let Some(c) = v["const"].as_str() {
                names.push(c.to_string());
            }
            if let Some(req) = v["required"].as_array() {
                names.extend(req.iter().map(|x| x.as_str().unwrap().to_string()));
            }
        }
        if let Some(e) = d["enum"].as_array() {
            names.extend(e.iter().map(|x| x.as_str().unwrap().to_string()));
        }
        names.sort();
        names
    }

    #[test]
    fn every_algorithm_and_distribution_is_listed_and_parses() {
        for (name, _) in ALGORITHMS {
            let a: AlgorithmKind = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(a.name(), *name);
        }
        let mut listed: Vec<String> = ALGORITHMS.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(listed, schema_names("AlgorithmKind"));
        let mut listed: Vec<String> = DISTRIBUTIONS.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(listed, schema_names("DistSpec"));
        let d: DistSpec = serde_json::from_value(serde_json::json!({"erlang": {"k": 4, "mean": "10ms"}})).unwrap();
        assert!(matches!(d, DistSpec::Erlang(_)));
    }

    #[test]
    fn metrics_list_every_alert_and_slo_metric() {
        let text = text(What::Metrics);
        assert_eq!(
            text.lines().count(),
            GlobalMetric::COUNT
                + ServerMetric::COUNT
                + BalancerMetric::COUNT
                + ClientMetric::COUNT
                + SubnetMetric::COUNT
                + SloMetric::ALL.len()
        );
        assert!(text.contains("alert  global    error_rate        share\n"), "{text}");
        assert!(text.contains("slo    -         p99               ms\n"), "{text}");
    }
}
