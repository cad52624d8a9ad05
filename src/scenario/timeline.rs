//! The incident timeline: changes applied at a time, each reversible after a
//! duration, at an `until` time, or by a later `revert` entry (a rollback).

use super::Spanned;
use serde::{Deserialize, Serialize};

use super::NamedMap;
use crate::balancer::AlgorithmKind;
use crate::clock::TimeSpec;
use crate::dist::DistSpec;
use crate::units::{Percent, Rate};

/// One-shot actions on a server or balancer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Server: down (refusing connections, in-flight requests reset) until
    /// restarted. Reverting it restarts the server.
    Crash,
    /// Server: down for its `restart_time`, then back up, cold.
    Restart,
    /// Balancer, link or switch port: stop carrying traffic. Reverting it brings it back.
    Down,
    /// Link or switch port: bring it up (for one that starts down).
    Up,
}

/// One entry of `timeline:`. Exactly one target (`balancer`, `server`,
/// `client`) with its changes, or a `revert`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    /// Needed to revert the entry by name.
    pub name: Option<Spanned<String>>,
    /// When: an offset (`10m`), a time of day (`"14:10"`) or a datetime.
    pub at: Spanned<TimeSpec>,
    /// Revert automatically after this long...
    pub duration: Option<Spanned<crate::units::Duration>>,
    /// ...or at this time.
    pub until: Option<Spanned<TimeSpec>>,
    /// Free text for the event log and reports ("deploy rollback").
    pub note: Option<String>,
    /// Marks the remedy: recovery time is measured from here.
    #[serde(default)]
    pub fix: bool,

    /// A balancer (its backends, weights, algorithm, `down`, or routes).
    pub balancer: Option<Spanned<String>>,
    /// Servers by name, pattern, glob or counted group (a crash, a restart, new service behaviour, or routes).
    pub server: Option<Spanned<String>>,
    /// An open-loop client group (its rate).
    pub client: Option<Spanned<String>>,
    /// A router (for route changes).
    pub router: Option<Spanned<String>>,
    /// A link, by its two ends.
    pub link: Option<Spanned<Vec<Spanned<String>>>>,
    /// A switch (with `port:` for port changes).
    pub switch: Option<Spanned<String>>,
    /// Undo an earlier entry, by name.
    pub revert: Option<Spanned<String>>,

    /// Balancer: the servers in rotation (others get no traffic).
    pub backends: Option<Vec<Spanned<String>>>,
    /// Balancer: new weights for the servers named.
    pub weights: Option<NamedMap<u32>>,
    /// Balancer: switch algorithm.
    pub algorithm: Option<Spanned<AlgorithmKind>>,
    /// Server: crash or restart; balancer: down.
    pub action: Option<Spanned<Action>>,
    /// Server: multiply service times.
    pub slow_down: Option<Spanned<f64>>,
    /// Server: fail this share of requests at once with a 5xx.
    pub error_rate: Option<Spanned<Percent>>,
    /// Server: change the worker count.
    pub workers: Option<Spanned<u32>>,
    /// Server: a deploy with a new service-time distribution.
    pub service: Option<Spanned<DistSpec>>,
    /// Client group: a new rate (a spike or a drop).
    pub rate: Option<Spanned<Rate>>,
    /// Client group: multiply the rate.
    pub rate_factor: Option<Spanned<f64>>,

    /// Router, server or balancer: add a routing entry.
    pub add_route: Option<crate::scenario::RouteSpec>,
    /// Router, server or balancer: remove the entries for this prefix.
    pub remove_route: Option<Spanned<String>>,
    /// Router, server or balancer: replace the entries for the route's prefix.
    pub replace_route: Option<crate::scenario::RouteSpec>,
    /// Router, server or balancer: replace the whole table.
    pub routes: Option<Vec<crate::scenario::RouteSpec>>,
    /// Link: new latency.
    pub latency: Option<Spanned<DistSpec>>,
    /// Link: new loss probability.
    pub loss: Option<Spanned<Percent>>,
    /// Switch: the port facing this node.
    pub port: Option<Spanned<String>>,
    /// Switch port: move it to this VLAN.
    pub vlan: Option<Spanned<u32>>,
}

/// The period a summary's "incident window" figures cover.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentWindowSpec {
    /// Start of the window.
    pub from: Spanned<TimeSpec>,
    /// End of the window.
    pub until: Spanned<TimeSpec>,
}
