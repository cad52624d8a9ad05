//! What an experiment varies and what it judges, as its reports and its
//! plan files describe them (report stage): the kind of value a settable
//! path holds, a sweep's axes, and the SLOs judged over replications.
//! Parsing `--vary` and `--between` into these is the experiment engine's
//! (`crate::experiment::vary`); the reports only read them.

use serde::{Deserialize, Serialize};

use crate::model::World;
use crate::model::slos::{Objective, parse_objective};
use crate::time::{format_duration, secs_to_nanos};
use crate::units::{format_percent, format_rate};

/// How a value is written, which fixes its unit.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `24`
    Integer,
    /// `0.75`
    Number,
    /// `800/s` (base: per second)
    Rate,
    /// `250ms` (base: seconds)
    Duration,
    /// `46%` (base: a fraction)
    Percent,
    /// Anything else (`round_robin`): listed, never ranged or searched.
    Text,
}

impl Kind {
    pub fn is_numeric(self) -> bool {
        self != Kind::Text
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Integer => "a whole number",
            Kind::Number => "a number",
            Kind::Rate => "a rate",
            Kind::Duration => "a duration",
            Kind::Percent => "a percentage",
            Kind::Text => "text",
        }
    }

    /// Kinds that can be mixed in one range or list: whole numbers and
    /// numbers make numbers; the units must agree.
    pub(crate) fn join(self, other: Kind) -> Option<Kind> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Kind::Integer, Kind::Number) | (Kind::Number, Kind::Integer) => Some(Kind::Number),
            _ => None,
        }
    }

    /// A value of this kind written as a scenario writes it.
    pub fn format(self, x: f64) -> String {
        match self {
            Kind::Integer => format!("{}", x.round() as i64),
            Kind::Number => trim_decimals(&format!("{x:.9}")),
            Kind::Rate => format_rate(x),
            Kind::Duration => format_duration(secs_to_nanos(x)),
            Kind::Percent => format_percent(x),
            Kind::Text => String::new(),
        }
    }
}

fn trim_decimals(s: &str) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
}

/// One value of an axis: the text set at the path and its number (None for text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisValue {
    pub text: String,
    pub number: Option<f64>,
}

/// One `--vary`: a settable path and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    pub path: String,
    pub kind: Kind,
    pub values: Vec<AxisValue>,
}

/// An SLO as the estimates need it: its name, objective text (re-parsed
/// where judged, so a plan written to a file carries it as text) and window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloDef {
    pub name: String,
    pub objective: String,
    pub window: String,
}

impl SloDef {
    /// The scenario's SLOs, in declaration order.
    pub fn of(world: &World) -> Vec<SloDef> {
        world
            .slos
            .iter()
            .map(|s| SloDef {
                name: s.name.clone(),
                objective: s.objective.text.clone(),
                window: s.window.describe(world.clock.as_ref()),
            })
            .collect()
    }

    /// The parsed objective.
    pub fn parsed(&self) -> Result<Objective, String> {
        parse_objective(&self.objective)
    }

    /// `p99 < 300ms`, or `name (p99 < 300ms)` when it has its own name.
    pub fn title(&self) -> String {
        if self.name == self.objective {
            format!("`{}`", self.objective)
        } else {
            format!("`{}` ({})", self.name, self.objective)
        }
    }
}
