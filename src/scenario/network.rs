//! Scenario types for the network: addresses, routers and switches with
//! their tables, links, and the network changes a timeline can make.

use super::Spanned;
use serde::{Deserialize, Serialize};

use super::NamedMap;
use crate::dist::DistSpec;
use crate::units::Percent;

/// What a routing-table entry does with matching traffic.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RouteAction {
    /// Silently dropped: the sender waits until its timeout.
    Blackhole,
    /// Refused at once (an ICMP unreachable): the sender fails fast.
    Reject,
}

/// One routing-table entry.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Destination prefix, e.g. `10.1.0.0/16`; `0.0.0.0/0` is the default route.
    pub prefix: Spanned<String>,
    /// Next hop: a neighbouring node (one this node has a link to).
    pub via: Option<Spanned<String>>,
    /// Instead of a next hop: `blackhole` or `reject`.
    pub action: Option<RouteAction>,
    /// Among entries for the same prefix the lowest metric wins (default 0).
    #[serde(default)]
    pub metric: u32,
    /// Use this entry only while the destination is actually reachable
    /// through it (like a route tracked by BFD or an IP SLA probe), so a
    /// backup entry takes over when the path behind the next hop breaks.
    #[serde(default)]
    pub track: bool,
}

/// A router: forwards by longest-prefix match on its table.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    /// The router's own address (optional: routers forward, they are not addressed).
    pub address: Option<Spanned<String>>,
    /// Its routing table: longest-prefix match, lowest metric first.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
}

/// A switch: forwards between the nodes it links to, within a VLAN.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchSpec {
    /// VLAN of the port facing each linked node (default 1 for all).
    /// Keys are node names, patterns or globs.
    #[serde(default)]
    pub vlans: NamedMap<u32>,
}

/// A link between two nodes (or between one node and several, with a
/// pattern on one side).
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// The two ends: node names; one side may be a pattern or glob (several links).
    pub between: Spanned<Vec<Spanned<String>>>,
    /// One-way latency (default 0).
    #[schemars(extend("default" = {"constant": "0s"}))]
    pub latency: Option<Spanned<DistSpec>>,
    /// Probability that a packet crossing it is lost (default 0%).
    #[schemars(extend("default" = "0%"))]
    pub loss: Option<Spanned<Percent>>,
    /// Down at the start.
    #[serde(default)]
    pub down: bool,
}

/// An automated check of routing changes, run before each network change
/// from the timeline is applied (like a reachability analysis in CI).
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkValidationSpec {
    /// Block a change that breaks a path that works now (a client subnet to
    /// or from its balancers, a balancer to or from its servers).
    #[serde(default)]
    pub keep_reachable: bool,
    /// Block a change that makes such a path slower than this (its mean
    /// latency grows by more).
    pub max_added_latency: Option<Spanned<crate::units::Duration>>,
}

/// The `network:` section.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Checks that block bad network changes from the timeline.
    pub validation: Option<NetworkValidationSpec>,
    #[serde(default)]
    /// Routers by name.
    pub routers: NamedMap<RouterSpec>,
    #[serde(default)]
    /// Switches by name.
    pub switches: NamedMap<SwitchSpec>,
    #[serde(default)]
    /// Links between nodes.
    pub links: Vec<LinkSpec>,
}

/// One subnet a client group's users sit in.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetSpec {
    /// Names the subnet's node: `<group>.<name>` (default: its index).
    pub name: Option<Spanned<String>>,
    /// The subnet's prefix, e.g. `10.1.0.0/16`.
    pub prefix: Spanned<String>,
    /// Share of the group's users behind it (default: equal shares).
    pub share: Option<Spanned<Percent>>,
}

/// What a server or balancer does with traffic addressed to someone else.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Foreign {
    /// Refuse the connection (a reset): the sender fails fast.
    #[default]
    Refuse,
    /// Answer with an error: the wrong service responding.
    Error,
    /// Ignore it: the sender waits until its timeout.
    Drop,
}
