//! Stage: model (tests only). Fixtures shared by the unit tests of the
//! monitoring stages: `alerts:` and `slos:` texts read and compiled against a
//! small set of entity names, and interval snapshots to evaluate them on.

use std::path::Path;

use serde::Deserialize;

use super::alerts::{AlertRule, EntityIndex, EntityNames, compile_alerts};
use super::slos::{Objective, Slo, compile_slos, parse_objective};
use crate::clock::WallClock;
use crate::error::Error;
use crate::metrics::snapshot::Snapshot;
use crate::scenario::ScenarioSource;
use crate::scenario::monitoring::{AlertSpec, SloSpec};
use crate::time::NANOS_PER_SEC;

pub(crate) const S: u64 = NANOS_PER_SEC;

/// A global error-rate alert above 5%.
pub(crate) const ERR5: &str = "alerts:\n  - name: error-spike\n    metric: error_rate\n    above: 5%\n";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[serde(default)]
    alerts: Vec<AlertSpec>,
    #[serde(default)]
    slos: Vec<SloSpec>,
}

/// Three servers, one balancer, two client groups, two subnets.
pub(crate) fn names() -> EntityNames {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect();
    EntityNames {
        servers: v(&["web-01", "web-02", "db-01"]),
        balancers: v(&["edge"]),
        clients: v(&["app", "batch"]),
        subnets: v(&["app.eu", "app.us"]),
    }
}

fn source(text: &str) -> ScenarioSource {
    ScenarioSource::from_text(Path::new("t.yaml"), text.to_string())
}

fn doc(text: &str) -> Doc {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Compiles `alerts:` text with 1s intervals.
pub(crate) fn alerts(text: &str) -> Result<Vec<AlertRule>, (String, Option<String>)> {
    let src = source(text);
    let names = names();
    let limits = crate::limits::Limits::default();
    compile_alerts(&doc(text).alerts, &EntityIndex::of(&names), S, &src, &limits).map_err(|e| match e {
        Error::Located(l) => (format!("{}: {}", l.location, l.message), l.help),
        other => (other.to_string(), None),
    })
}

/// The message and help of an `alerts:` text that does not compile.
pub(crate) fn alert_err(text: &str) -> (String, String) {
    let (msg, help) = alerts(text).expect_err(text);
    (msg, help.unwrap_or_default())
}

/// Compiles `slos:` text.
pub(crate) fn slos(text: &str, clock: Option<&WallClock>) -> Result<Vec<Slo>, String> {
    let src = source(text);
    compile_slos(&doc(text).slos, clock, &src).map_err(|e| e.to_string())
}

pub(crate) fn obj(text: &str) -> Objective {
    parse_objective(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Snapshots of 1s intervals with three servers, one balancer, two clients,
/// filled by `fill(interval index, snapshot)`.
pub(crate) fn series(n: usize, mut fill: impl FnMut(usize, &mut Snapshot)) -> Vec<Snapshot> {
    (0..n)
        .map(|i| {
            let mut s = Snapshot::sized(3, 1, 2, 2);
            s.index = i as u32;
            s.start = i as u64 * S;
            s.end = (i as u64 + 1) * S;
            fill(i, &mut s);
            s
        })
        .collect()
}
