//! Stage: scenario. The `alerts:` and `slos:` sections as users write them:
//! [`AlertSpec`], [`SloSpec`] with its [`SloWindowSpec`], the alert [`Scope`]
//! and [`Threshold`] values (`5%`, `250ms`, `100/s`), read with located
//! errors. `model::monitoring` compiles them into rules and objectives;
//! `sim::alerts` and `sim::objectives` evaluate those.
//!
//! # Alert rules (`alerts:`)
//!
//! ```yaml
//! alerts:
//!   - name: error-spike
//!     metric: error_rate   # a metric of the scope's kind (see metrics::snapshot)
//!     scope: server        # global (default) | server | balancer | client
//!     entity: web-*        # optional: names, {..} patterns or * globs of that kind
//!     above: 5%            # or below:; a number, a percentage, a duration or a rate
//!     for: 2m              # default 0
//! ```
//!
//! # SLO objectives (`slos:`)
//!
//! ```yaml
//! slos:
//!   - name: latency              # optional; defaults to the objective text
//!     objective: "p99 < 500ms"   # <metric> <op> <value>, op one of < <= > >=
//!     window: run                # run (default) | incident | {from: "14:00", until: "16:30"}
//! ```

use std::fmt;

use super::Spanned;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::clock::TimeSpec;
use crate::units::{Duration, parse_duration, parse_rate};

/// Which entities an alert rule is evaluated for.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Once, on the global metrics.
    #[default]
    Global,
    /// For each server.
    Server,
    /// For each balancer.
    Balancer,
    /// For each client group.
    Client,
    /// For each client subnet (with a network).
    Subnet,
}

impl Scope {
    pub const ALL: [Scope; 5] = [Scope::Global, Scope::Server, Scope::Balancer, Scope::Client, Scope::Subnet];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Server => "server",
            Scope::Balancer => "balancer",
            Scope::Client => "client",
            Scope::Subnet => "subnet",
        }
    }
}

// ---------------------------------------------------------------------------
// Thresholds.

/// How a threshold was written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ThresholdUnit {
    /// `12`, `0.5`.
    Number,
    /// `5%` (the value is the fraction, 0.05).
    Percent,
    /// `250ms` (the value is in milliseconds).
    Duration,
    /// `100/s` (the value is per second).
    Rate,
}

/// A threshold as written, with its value: percentages as fractions,
/// durations in milliseconds, rates per second.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub value: f64,
    pub unit: ThresholdUnit,
    pub text: String,
}

const THRESHOLD_HELP: &str = "a number (12, 0.5), a percentage (5%), a duration (250ms) or a rate (100/s)";

impl Threshold {
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let s = text.trim();
        let raw = text.to_string();
        if let Some(p) = s.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| format!("`{text}` is not {THRESHOLD_HELP}"))?;
            if !v.is_finite() || v < 0.0 {
                return Err(format!("`{text}`: a percentage must be a number of 0% or more"));
            }
            return Ok(Threshold { value: v / 100.0, unit: ThresholdUnit::Percent, text: raw });
        }
        if s.contains('/') {
            let r = parse_rate(s)?;
            return Ok(Threshold { value: r.per_sec(), unit: ThresholdUnit::Rate, text: raw });
        }
        if let Ok(v) = s.parse::<f64>() {
            if !v.is_finite() {
                return Err(format!("`{text}` is not {THRESHOLD_HELP}"));
            }
            return Ok(Threshold { value: v, unit: ThresholdUnit::Number, text: raw });
        }
        match parse_duration(s) {
            Ok(d) => Ok(Threshold { value: d.nanos() as f64 / 1e6, unit: ThresholdUnit::Duration, text: raw }),
            Err(_) => Err(format!("`{text}` is not {THRESHOLD_HELP}")),
        }
    }

    fn number(v: f64) -> Threshold {
        Threshold { value: v, unit: ThresholdUnit::Number, text: format!("{v}") }
    }
}

impl schemars::JsonSchema for Threshold {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Threshold".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A number (12, 0.5), a percentage (5%), a duration (250ms) or a rate (100/s).",
            "type": ["number", "string"],
            "examples": ["5%", "250ms", "100/s", 1]
        })
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(THRESHOLD_HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
                Threshold::parse(v).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Threshold, E> {
                if v.is_finite() {
                    Ok(Threshold::number(v))
                } else {
                    Err(E::custom(format!("expected {THRESHOLD_HELP}")))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold::number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Threshold, E> {
                Ok(Threshold::number(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// Alert rules and SLOs as written.

/// One entry of the scenario's `alerts:` list, as written.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertSpec {
    /// Shown in reports; unique among the alerts.
    pub name: Spanned<String>,
    /// A metric name of the scope's kind.
    pub metric: Spanned<String>,
    /// `global` (default), `server`, `balancer` or `client`.
    #[schemars(extend("default" = "global"))]
    pub scope: Option<Spanned<Scope>>,
    /// Only these entities (a name, `{..}` pattern or `*` glob); default all.
    pub entity: Option<Spanned<String>>,
    /// Fires when the metric is above this (give `above` or `below`).
    pub above: Option<Spanned<Threshold>>,
    /// Fires when the metric is below this.
    pub below: Option<Spanned<Threshold>>,
    /// How long the condition must hold before the alert fires (default 0).
    #[serde(rename = "for")]
    #[schemars(extend("default" = "0s"))]
    pub hold: Option<Spanned<Duration>>,
}

/// One entry of the scenario's `slos:` list, as written.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// Defaults to the objective text.
    pub name: Option<Spanned<String>>,
    /// `<metric> <op> <value>`.
    pub objective: Spanned<String>,
    /// `run` (default), `incident` or `{from, until}`.
    pub window: Option<Spanned<SloWindowSpec>>,
}

/// The window an objective is judged over, as written.
#[derive(Clone, Debug)]
pub enum SloWindowSpec {
    /// The measured period (after the warm-up).
    Run,
    /// The incident (the span of the scenario's timeline).
    Incident,
    /// `{from: "14:00", until: "16:30"}`; either may be left out (the start
    /// or the end of the run).
    Range { from: Option<Spanned<TimeSpec>>, until: Option<Spanned<TimeSpec>> },
}

const WINDOW_HELP: &str = "`run`, `incident` or a range like {from: \"14:00\", until: \"16:30\"}";

impl schemars::JsonSchema for SloWindowSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SloWindow".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let time = generator.subschema_for::<TimeSpec>();
        schemars::json_schema!({
            "description": "`run` (the measured period), `incident` (the incident window) or a range {from, until}; either end may be left out.",
            "default": "run",
            "anyOf": [
                {"enum": ["run", "incident"]},
                {
                    "type": "object",
                    "properties": {"from": time, "until": time},
                    "additionalProperties": false,
                    "minProperties": 1
                }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for SloWindowSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SloWindowSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(WINDOW_HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SloWindowSpec, E> {
                match v.trim() {
                    "run" => Ok(SloWindowSpec::Run),
                    "incident" => Ok(SloWindowSpec::Incident),
                    other => Err(E::custom(format!("`{other}` is not a window: expected {WINDOW_HELP}"))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SloWindowSpec, A::Error> {
                let (mut from, mut until) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "from" => &mut from,
                        "until" => &mut until,
                        other => return Err(de::Error::unknown_field(other, &["from", "until"])),
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom(format!("`{key}` is given twice")));
                    }
                    *slot = Some(map.next_value::<Spanned<TimeSpec>>()?);
                }
                if from.is_none() && until.is_none() {
                    return Err(de::Error::custom(format!("an empty window: expected {WINDOW_HELP}")));
                }
                Ok(SloWindowSpec::Range { from, until })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two sections, as a scenario holds them.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        #[allow(dead_code)]
        alerts: Vec<AlertSpec>,
        #[serde(default)]
        #[allow(dead_code)]
        slos: Vec<SloSpec>,
    }

    #[test]
    fn malformed_alert_fields_fail_while_reading() {
        for (text, want) in [
            ("alerts:\n  - {name: a, metric: queue, scope: servers, above: 1}\n", "server"),
            ("alerts:\n  - {name: a, metric: queue, scope: server, over: 1}\n", "unknown field"),
            ("alerts:\n  - {name: a, metric: queue, scope: server, above: lots}\n", "a percentage (5%)"),
            ("alerts:\n  - {name: a, metric: queue, scope: server, above: 1, for: 5}\n", "no unit"),
        ] {
            let err = serde_saphyr::from_str::<Doc>(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn threshold_parsing_recognises_each_form() {
        let t = |s: &str| Threshold::parse(s).map(|t| (t.value, t.unit));
        assert_eq!(t("5%"), Ok((0.05, ThresholdUnit::Percent)));
        assert_eq!(t("0.5"), Ok((0.5, ThresholdUnit::Number)));
        assert_eq!(t("-3"), Ok((-3.0, ThresholdUnit::Number)));
        assert_eq!(t("250ms"), Ok((250.0, ThresholdUnit::Duration)));
        assert_eq!(t("100/s"), Ok((100.0, ThresholdUnit::Rate)));
        for bad in ["nan", "inf", "x%", "-5%", "fast", ""] {
            assert!(Threshold::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_slo_fields_fail_while_reading() {
        for (text, want) in [
            ("slos:\n  - {objective: p99 < 1s, window: forever}\n", "`forever` is not a window"),
            ("slos:\n  - {objective: p99 < 1s, window: {from: 1m, to: 2m}}\n", "unknown field `to`"),
            ("slos:\n  - {objective: p99 < 1s, window: {}}\n", "an empty window"),
            ("slos:\n  - {objective: p99 < 1s, window: {from: \"25:00\"}}\n", "hour must be 00 to 23"),
            ("slos:\n  - {objective: p99 < 1s, windows: run}\n", "unknown field"),
        ] {
            let err = serde_saphyr::from_str::<Doc>(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
