//! Compiling the timeline: each entry becomes a [`Change`] on integer ids,
//! applied at a time and reverted after a duration, at `until`, or by a
//! later `revert` entry.

use std::collections::HashMap;

use crate::scenario::Spanned;

use super::network::{LinkId, Network, NodeId, Route, compile_route};
use super::{
    BackendDef, BalancerDef, BalancerId, ClientDef, ClientId, Ctx, ServerId, Servers, did_you_mean, resolve_servers,
};
use crate::balancer::AlgorithmKind;
use crate::clock::{TimeSpec, WallClock};
use crate::dist::Dist;
use crate::error::Error;
use crate::scenario::names::{NameIndex, ResolveError};
use crate::scenario::{Action, TimelineEntry};

/// What a timeline entry changes.
/// A one-shot action on servers: the server forms of the scenario's `action:`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServerAction {
    /// Down (refusing connections, in-flight requests reset) until
    /// restarted. Reverting it restarts the server.
    Crash,
    /// Down for its `restart_time`, then back up, cold.
    Restart,
}

impl ServerAction {
    /// The server action `a` is; `None` for the balancer and network ones
    /// (`down`, `up`), which the compiler rejects on a server.
    fn of(a: Action) -> Option<ServerAction> {
        match a {
            Action::Crash => Some(ServerAction::Crash),
            Action::Restart => Some(ServerAction::Restart),
            Action::Down | Action::Up => None,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Change {
    Balancer {
        balancer: BalancerId,
        /// New rotation: `true` for each pool backend in it.
        members: Option<Vec<bool>>,
        /// (backend index, weight).
        weights: Vec<(usize, u32)>,
        algorithm: Option<AlgorithmKind>,
        down: bool,
    },
    Server {
        servers: Vec<ServerId>,
        action: Option<ServerAction>,
        slow_down: Option<f64>,
        error_rate: Option<f64>,
        workers: Option<u32>,
        service: Option<Dist>,
    },
    Client {
        client: ClientId,
        rate: Option<f64>,
        factor: Option<f64>,
    },
    /// Undo entry number `entry`.
    Revert {
        entry: usize,
    },
    /// Nothing changes: a note on the timeline ("database rolled back").
    Note,
    /// Routes, links and switch ports.
    Network {
        ops: Vec<NetOp>,
    },
}

/// One change to the network.
#[derive(Clone, Debug)]
pub enum NetOp {
    AddRoute { node: NodeId, route: Route },
    RemoveRoute { node: NodeId, prefix: ipnet::IpNet },
    ReplaceRoute { node: NodeId, route: Route },
    SetRoutes { node: NodeId, routes: Vec<Route> },
    LinkUp { link: LinkId, up: bool },
    LinkLatency { link: LinkId, latency: Dist },
    LinkLoss { link: LinkId, loss: f64 },
    PortVlan { link: LinkId, vlan: u32 },
}

impl Change {
    /// A change that happens at an instant and has no span to shade or
    /// undo: a restart (the server goes down and comes back by itself) or
    /// a revert.
    pub fn is_instant(&self) -> bool {
        matches!(self, Change::Server { action: Some(ServerAction::Restart), .. } | Change::Revert { .. })
    }

    /// Whether a later `revert` entry (or a `duration`) can undo it: not an
    /// instant change, nor a note, which changes nothing.
    pub fn can_revert(&self) -> bool {
        !self.is_instant() && !matches!(self, Change::Note)
    }
}

/// A compiled timeline entry.
#[derive(Clone, Debug)]
pub struct TimelineChange {
    pub name: Option<String>,
    pub at: u64,
    /// When the change undoes itself (from `duration` or `until`).
    pub revert_at: Option<u64>,
    pub note: Option<String>,
    pub fix: bool,
    /// "balancer edge", "servers web-*", ...
    pub target: String,
    /// "backends = web-01", "slow_down x3", ...
    pub what: String,
    pub change: Change,
}

/// The first change among those `counted` (by index): of the entries that
/// change something (not notes or reverts), the earliest by `at`, the first
/// listed among equals. Entries need not be listed in time order, so this
/// is not the first by position. The incident's first change counts the
/// entries validation did not block.
pub fn first_change(timeline: &[TimelineChange], counted: impl Fn(usize) -> bool) -> Option<usize> {
    timeline
        .iter()
        .enumerate()
        .filter(|(i, t)| counted(*i) && !matches!(t.change, Change::Note | Change::Revert { .. }))
        .min_by_key(|(_, t)| t.at)
        .map(|(i, _)| i)
}

/// When entry `i` is undone: its own `revert_at` (from `duration` or
/// `until`) or a `revert` entry naming it, whichever comes first; `None`
/// for a change that stays.
pub fn undone_at(timeline: &[TimelineChange], i: usize) -> Option<u64> {
    let by_entry = timeline.iter().filter(|t| matches!(t.change, Change::Revert { entry } if entry == i)).map(|t| t.at);
    by_entry.chain(timeline.get(i).and_then(|t| t.revert_at)).min()
}

fn resolve_time(cx: &Ctx<'_>, t: &Spanned<TimeSpec>, clock: Option<&WallClock>) -> Result<u64, Error> {
    t.value.resolve(clock).map_err(|m| cx.err(t, m, None))
}

fn lookup(cx: &Ctx<'_>, at: &Spanned<String>, names: &NameIndex<'_>, kind: &str) -> Result<Vec<usize>, Error> {
    explain(cx, at, names, kind, names.resolve(&at.value, &cx.limits))
}

/// [`lookup`] for servers: a counted group's name means its servers.
fn lookup_servers(cx: &Ctx<'_>, at: &Spanned<String>, servers: Servers<'_>) -> Result<Vec<usize>, Error> {
    let found = resolve_servers(&at.value, servers.index, servers.groups, &cx.limits);
    explain(cx, at, servers.index, "server", found)
}

/// A resolution failure as a located error, with a hint.
fn explain(
    cx: &Ctx<'_>,
    at: &Spanned<String>,
    names: &NameIndex<'_>,
    kind: &str,
    found: Result<Vec<usize>, ResolveError>,
) -> Result<Vec<usize>, Error> {
    found.map_err(|e| match e {
        ResolveError::Pattern(m, help) => cx.err(at, m, help),
        ResolveError::Unknown(n) => {
            cx.err(at, format!("unknown {kind} `{n}`"), did_you_mean(&n, names.names().iter().copied()))
        }
        ResolveError::NoMatch(p) => cx.err(at, format!("no {kind} matches `{p}`"), None),
    })
}

/// Names a timeline entry may refer to, indexed once for the whole timeline.
struct Targets<'a> {
    servers: Servers<'a>,
    balancers: NameIndex<'a>,
    clients: NameIndex<'a>,
    /// Network nodes (empty without a network).
    nodes: NameIndex<'a>,
}

/// Which fields an entry sets, for "this field does not apply" errors.
fn set_fields(e: &TimelineEntry) -> Vec<(&'static str, Option<serde_saphyr::Location>)> {
    let mut v = Vec::new();
    macro_rules! field {
        ($f:ident) => {
            if let Some(x) = &e.$f {
                v.push((stringify!($f), Some(x.referenced)));
            }
        };
    }
    field!(algorithm);
    field!(action);
    field!(slow_down);
    field!(error_rate);
    field!(workers);
    field!(service);
    field!(rate);
    field!(rate_factor);
    field!(remove_route);
    field!(latency);
    field!(loss);
    field!(port);
    field!(vlan);
    if let Some(r) = &e.add_route {
        v.push(("add_route", Some(r.prefix.referenced)));
    }
    if let Some(r) = &e.replace_route {
        v.push(("replace_route", Some(r.prefix.referenced)));
    }
    if e.routes.is_some() {
        v.push(("routes", None));
    }
    if e.backends.is_some() {
        v.push(("backends", None));
    }
    if e.weights.is_some() {
        v.push(("weights", None));
    }
    v
}

/// Compiles the timeline. Balancers may gain pool backends (out of
/// rotation) when an entry puts a server they did not list into rotation.
pub(super) fn compile(
    cx: &Ctx<'_>,
    entries: &[TimelineEntry],
    clock: Option<&WallClock>,
    servers: Servers<'_>,
    balancers: &mut [BalancerDef],
    clients: &[ClientDef],
    network: Option<&Network>,
) -> Result<Vec<TimelineChange>, Error> {
    let balancer_names: Vec<String> = balancers.iter().map(|b| b.name.clone()).collect();
    let names = Targets {
        servers,
        balancers: NameIndex::new(balancer_names.iter().map(String::as_str)),
        clients: NameIndex::new(clients.iter().map(|c| c.name.as_str())),
        nodes: NameIndex::new(network.iter().flat_map(|n| n.nodes.iter().map(|n| n.name.as_str()))),
    };
    let mut out: Vec<TimelineChange> = Vec::new();
    let mut named: HashMap<String, usize> = HashMap::new();
    for e in entries {
        let at = resolve_time(cx, &e.at, clock)?;
        let targets = [
            e.balancer.is_some(),
            e.server.is_some(),
            e.client.is_some(),
            e.revert.is_some(),
            e.router.is_some(),
            e.link.is_some(),
            e.switch.is_some(),
        ];
        if targets.iter().all(|t| !t) && e.note.is_some() && set_fields(e).is_empty() {
            out.push(note_entry(cx, e, at)?);
            continue;
        }
        if targets.iter().filter(|t| **t).count() != 1 {
            return Err(cx.err(
                &e.at,
                "a timeline entry names exactly one of `balancer`, `server`, `client`, `router`, `link`, `switch` or `revert` (or is only a `note`)",
                None,
            ));
        }
        if let Some(n) = &e.name
            && named.insert(n.value.clone(), out.len()).is_some()
        {
            return Err(cx.err(n, format!("two timeline entries are named `{}`", n.value), None));
        }
        let fields = set_fields(e);
        const ROUTE_FIELDS: [&str; 4] = ["add_route", "remove_route", "replace_route", "routes"];
        let route_change = fields.iter().any(|(f, _)| ROUTE_FIELDS.contains(f));
        let network_target = e.router.is_some() || e.link.is_some() || e.switch.is_some();
        let (target, what, change) = if route_change || network_target {
            let net = network
                .ok_or_else(|| cx.err(&e.at, "route, link and switch changes need a `network:` section", None))?;
            network_change(cx, e, net, &names.nodes, &fields)?
        } else if let Some(b) = &e.balancer {
            check_fields(cx, e, &fields, "balancer", &["backends", "weights", "algorithm", "action"])?;
            balancer_change(cx, e, b, &names, balancers)?
        } else if let Some(s) = &e.server {
            check_fields(cx, e, &fields, "server", &["action", "slow_down", "error_rate", "workers", "service"])?;
            server_change(cx, e, s, servers, &fields)?
        } else if let Some(c) = &e.client {
            check_fields(cx, e, &fields, "client group", &["rate", "rate_factor"])?;
            client_change(cx, e, c, clients, &names.clients)?
        } else {
            let r = e.revert.as_ref().expect("one target is set");
            check_fields(cx, e, &fields, "revert", &[])?;
            revert_change(cx, e, r, at, &out, &named)?
        };
        let revert_at = revert_time(cx, e, at, clock)?;
        out.push(TimelineChange {
            name: e.name.as_ref().map(|n| n.value.clone()),
            at,
            revert_at,
            note: e.note.clone(),
            fix: e.fix,
            target,
            what,
            change,
        });
    }
    Ok(out)
}

/// A change as compiled: the target's label, what changes, and the change.
type Compiled = (String, String, Change);

/// An annotation: what people did that changed nothing in the system.
fn note_entry(cx: &Ctx<'_>, e: &TimelineEntry, at: u64) -> Result<TimelineChange, Error> {
    if e.duration.is_some() || e.until.is_some() || e.fix {
        return Err(cx.err(&e.at, "a note changes nothing, so it has no `duration`, `until` or `fix`", None));
    }
    Ok(TimelineChange {
        name: e.name.as_ref().map(|n| n.value.clone()),
        at,
        revert_at: None,
        note: e.note.clone(),
        fix: false,
        target: "note".to_string(),
        what: String::new(),
        change: Change::Note,
    })
}

/// Only the fields that apply to a `kind` of target, and at least one of them.
fn check_fields(
    cx: &Ctx<'_>,
    e: &TimelineEntry,
    fields: &[(&'static str, Option<serde_saphyr::Location>)],
    kind: &str,
    allowed: &[&str],
) -> Result<(), Error> {
    for (f, loc) in fields {
        if !allowed.contains(f) {
            let msg = format!("`{f}` does not apply to a {kind}; it can change: {}", allowed.join(", "));
            return Err(match loc {
                Some(l) => cx.src.error_at_location(l, msg, None),
                None => cx.err(&e.at, msg, None),
            });
        }
    }
    if fields.is_empty() && kind != "revert" {
        return Err(cx.err(&e.at, format!("this entry changes nothing: give one of {}", allowed.join(", ")), None));
    }
    Ok(())
}

/// A change to a balancer: its rotation, weights, algorithm, or taking it down.
fn balancer_change(
    cx: &Ctx<'_>,
    e: &TimelineEntry,
    b: &Spanned<String>,
    names: &Targets<'_>,
    balancers: &mut [BalancerDef],
) -> Result<Compiled, Error> {
    let servers = names.servers;
    let server_name = |i: usize| servers.defs[i].name.as_str();
    let id = lookup(cx, b, &names.balancers, "balancer")?[0];
    let bal = &mut balancers[id];
    let mut position: HashMap<usize, usize> =
        bal.backends.iter().enumerate().map(|(i, be)| (be.server.index(), i)).collect();
    let mut what = Vec::new();
    let members = match &e.backends {
        Some(list) => {
            let mut chosen = Vec::new();
            for r in list {
                chosen.extend(lookup_servers(cx, r, servers)?);
            }
            let mut member = vec![false; bal.backends.len()];
            for &sid in &chosen {
                let i = *position.entry(sid).or_insert_with(|| {
                    bal.backends.push(BackendDef {
                        server: ServerId::from_index(sid),
                        weight: 1,
                        max_conn: servers.defs[sid].workers,
                        member: false,
                        backup: false,
                    });
                    member.push(false);
                    bal.backends.len() - 1
                });
                member[i] = true;
            }
            what.push(format!("backends = {}", name_list(chosen.iter().map(|&i| server_name(i)), chosen.len())));
            Some(member)
        }
        None => None,
    };
    let mut weights = Vec::new();
    if let Some(map) = &e.weights {
        for (k, &w) in map.iter() {
            for sid in lookup_servers(cx, k, servers)? {
                let idx = *position.get(&sid).ok_or_else(|| {
                    cx.err(
                        k,
                        format!("server `{}` is not a backend of balancer `{}`", server_name(sid), bal.name),
                        None,
                    )
                })?;
                weights.push((idx, w));
                what.push(format!("weight {} = {w}", server_name(sid)));
            }
        }
    }
    let algorithm = e.algorithm.as_ref().map(|a| a.value);
    if let Some(a) = algorithm {
        what.push(format!("algorithm = {}", a.name()));
    }
    let down = match &e.action {
        Some(a) if a.value == Action::Down => {
            what.push("down".to_string());
            true
        }
        Some(a) => return Err(cx.err(a, "a balancer can only be taken `down`", None)),
        None => false,
    };
    Ok((
        format!("balancer {}", bal.name),
        what.join(", "),
        Change::Balancer { balancer: id as BalancerId, members, weights, algorithm, down },
    ))
}

/// Names for a label, all of them when few, else the first ones and how many.
fn name_list<'a>(names: impl Iterator<Item = &'a str>, count: usize) -> String {
    const SHOWN: usize = 20;
    let shown: Vec<&str> = names.take(SHOWN).collect();
    if count <= SHOWN {
        shown.join(", ")
    } else {
        format!("{}, ... ({} servers)", shown.join(", "), crate::units::thousands(count as u64))
    }
}

/// A change to servers: a crash or restart, or new service behaviour.
fn server_change(
    cx: &Ctx<'_>,
    e: &TimelineEntry,
    s: &Spanned<String>,
    servers: Servers<'_>,
    fields: &[(&'static str, Option<serde_saphyr::Location>)],
) -> Result<Compiled, Error> {
    let ids = lookup_servers(cx, s, servers)?;
    let mut what = Vec::new();
    let action = e.action.as_ref().and_then(|a| ServerAction::of(a.value));
    match &e.action {
        Some(a) if a.value == Action::Down => {
            return Err(cx.err(a, "a server can `crash` or `restart`; `down` is for balancers", None));
        }
        Some(a) if a.value == Action::Restart && (e.duration.is_some() || e.until.is_some()) => {
            return Err(cx.err(a, "a restart cannot be reverted; use `crash` with a `duration` instead", None));
        }
        Some(a) if fields.len() > 1 => {
            return Err(cx.err(a, "a crash or restart stands alone: put other changes in their own entry", None));
        }
        Some(a) => what.push(if a.value == Action::Crash { "crash" } else { "restart" }.to_string()),
        None => {}
    }
    let slow_down = match &e.slow_down {
        Some(f) if !(f.value > 0.0 && f.value.is_finite()) => {
            return Err(cx.err(f, "slow_down multiplies service times: a positive number like 3", None));
        }
        Some(f) => {
            what.push(format!("service x{}", f.value));
            Some(f.value)
        }
        None => None,
    };
    let error_rate = e.error_rate.as_ref().map(|r| {
        what.push(format!("error rate {}", r.value));
        r.value.fraction()
    });
    let workers = match &e.workers {
        Some(w) if w.value == 0 => return Err(cx.err(w, "a server needs at least 1 worker", None)),
        Some(w) => {
            what.push(format!("workers = {}", w.value));
            Some(w.value)
        }
        None => None,
    };
    let service = match &e.service {
        Some(d) => {
            what.push("new service time".to_string());
            Some(cx.dist(&d.value, &cx.src.base_dir()).map_err(|m| cx.err(d, m, None))?)
        }
        None => None,
    };
    let label =
        if ids.len() == 1 { format!("server {}", servers.defs[ids[0]].name) } else { format!("servers {}", s.value) };
    Ok((
        label,
        what.join(", "),
        Change::Server {
            servers: ids.iter().map(|&i| ServerId::from_index(i)).collect(),
            action,
            slow_down,
            error_rate,
            workers,
            service,
        },
    ))
}

/// A change to an open-loop client group's rate.
fn client_change(
    cx: &Ctx<'_>,
    e: &TimelineEntry,
    c: &Spanned<String>,
    clients: &[ClientDef],
    client_names: &NameIndex<'_>,
) -> Result<Compiled, Error> {
    let id = lookup(cx, c, client_names, "client group")?[0];
    if let super::Load::Replay(_) = clients[id].load {
        return Err(cx.err(c, "a replay group follows its trace: change its `replay.scale` instead", None));
    }
    if !matches!(clients[id].load, super::Load::Open { .. }) {
        return Err(cx.err(c, "only open-loop groups have a rate to change", None));
    }
    let rate = e.rate.as_ref().map(|r| r.value.per_sec());
    let factor = match &e.rate_factor {
        Some(f) if !(f.value >= 0.0 && f.value.is_finite()) => {
            return Err(cx.err(f, "rate_factor must be zero or more", None));
        }
        Some(f) => Some(f.value),
        None => None,
    };
    let mut what = Vec::new();
    if let Some(r) = rate {
        what.push(format!("rate = {}", crate::units::format_rate(r)));
    }
    if let Some(f) = factor {
        what.push(format!("rate x{f}"));
    }
    Ok((
        format!("clients {}", clients[id].name),
        what.join(", "),
        Change::Client { client: id as ClientId, rate, factor },
    ))
}

/// A revert of an earlier named entry.
fn revert_change(
    cx: &Ctx<'_>,
    e: &TimelineEntry,
    r: &Spanned<String>,
    at: u64,
    out: &[TimelineChange],
    named: &HashMap<String, usize>,
) -> Result<Compiled, Error> {
    if e.duration.is_some() || e.until.is_some() {
        return Err(cx.err(r, "a revert cannot itself be reverted", None));
    }
    let entry = named.get(&r.value).copied().filter(|&i| i < out.len()).ok_or_else(|| {
        let earlier: Vec<&str> = out.iter().filter_map(|c| c.name.as_deref()).collect();
        cx.err(
            r,
            format!("`{}` is not the name of an earlier timeline entry", r.value),
            did_you_mean(&r.value, earlier),
        )
    })?;
    let prior = &out[entry];
    if !prior.change.can_revert() {
        return Err(cx.err(r, format!("`{}` cannot be reverted", r.value), None));
    }
    if prior.at > at {
        return Err(cx.err(r, format!("`{}` happens after this revert", r.value), None));
    }
    Ok((prior.target.clone(), format!("revert {}", r.value), Change::Revert { entry }))
}

/// When the change is undone: after its `duration`, or at `until`.
fn revert_time(cx: &Ctx<'_>, e: &TimelineEntry, at: u64, clock: Option<&WallClock>) -> Result<Option<u64>, Error> {
    Ok(match (&e.duration, &e.until) {
        (Some(d), None) => Some(at + d.value.nanos()),
        (None, Some(u)) => {
            let until = resolve_time(cx, u, clock)?;
            if until <= at {
                return Err(cx.err(u, "`until` is not after `at`", None));
            }
            Some(until)
        }
        (Some(d), Some(_)) => return Err(cx.err(d, "give `duration` or `until`, not both", None)),
        (None, None) => None,
    })
}

/// A change to routes (of a router, server or balancer), a link or a switch port.
fn network_change(
    cx: &Ctx<'_>,
    e: &TimelineEntry,
    net: &Network,
    nodes: &NameIndex<'_>,
    fields: &[(&'static str, Option<serde_saphyr::Location>)],
) -> Result<Compiled, Error> {
    let net = Net { net, nodes };
    let (target, what, ops) = if let Some(l) = &e.link {
        check_fields(cx, e, fields, "link", &["action", "latency", "loss"])?;
        link_change(cx, e, l, net)?
    } else if let Some(sw) = &e.switch {
        check_fields(cx, e, fields, "switch", &["action", "port", "vlan"])?;
        switch_change(cx, e, sw, net)?
    } else {
        route_change(cx, e, net, fields)?
    };
    Ok((target, what.join(", "), Change::Network { ops }))
}

/// A network change as compiled: the target's label, what changes, the operations.
type NetChange = (String, Vec<String>, Vec<NetOp>);

/// The network and its node names, indexed.
#[derive(Clone, Copy)]
struct Net<'a> {
    net: &'a Network,
    nodes: &'a NameIndex<'a>,
}

/// The network nodes `at` names (a name, pattern or glob).
fn node_of(cx: &Ctx<'_>, net: Net<'_>, at: &Spanned<String>) -> Result<Vec<NodeId>, Error> {
    net.nodes.resolve(&at.value, &cx.limits).map(|v| v.into_iter().map(|i| i as NodeId).collect()).map_err(
        |e| match e {
            ResolveError::Pattern(m, Some(help)) => cx.err(at, m, Some(help)),
            _ => cx.err(
                at,
                format!("unknown network node `{}`", at.value),
                did_you_mean(&at.value, net.nodes.names().iter().copied()),
            ),
        },
    )
}

/// `down` or `up` for links and switch ports.
fn up_down(cx: &Ctx<'_>, a: &Option<Spanned<Action>>) -> Result<Option<bool>, Error> {
    match a {
        None => Ok(None),
        Some(a) if a.value == Action::Down => Ok(Some(false)),
        Some(a) if a.value == Action::Up => Ok(Some(true)),
        Some(a) => Err(cx.err(a, "links and switch ports go `down` or `up`", None)),
    }
}

/// A link going down or up, or changing its latency or loss.
fn link_change(
    cx: &Ctx<'_>,
    e: &TimelineEntry,
    l: &Spanned<Vec<Spanned<String>>>,
    net: Net<'_>,
) -> Result<NetChange, Error> {
    let mut ops = Vec::new();
    let mut what = Vec::new();
    if l.value.len() != 2 {
        return Err(cx.err(l, "a link is named by its two ends: `link: [a, b]`", None));
    }
    let (a, b) = (node_of(cx, net, &l.value[0])?, node_of(cx, net, &l.value[1])?);
    if a.len() != 1 || b.len() != 1 {
        return Err(cx.err(l, "name one link: two single nodes", None));
    }
    let link = net.net.link_between(a[0], b[0]).ok_or_else(|| {
        cx.err(l, format!("there is no link between `{}` and `{}`", l.value[0].value, l.value[1].value), None)
    })?;
    let target = format!("link {}-{}", l.value[0].value, l.value[1].value);
    if let Some(up) = up_down(cx, &e.action)? {
        ops.push(NetOp::LinkUp { link, up });
        what.push(if up { "up".to_string() } else { "down".to_string() });
    }
    if let Some(d) = &e.latency {
        let latency = cx.dist(&d.value, &cx.src.base_dir()).map_err(|m| cx.err(d, m, None))?;
        what.push(format!("latency mean {}", crate::time::format_duration((latency.mean_secs() * 1e9) as u64)));
        ops.push(NetOp::LinkLatency { link, latency });
    }
    if let Some(p) = &e.loss {
        ops.push(NetOp::LinkLoss { link, loss: p.value.fraction() });
        what.push(format!("loss {}", p.value));
    }
    Ok((target, what, ops))
}

/// A switch port going down or up, or moving to another VLAN.
fn switch_change(cx: &Ctx<'_>, e: &TimelineEntry, sw: &Spanned<String>, net: Net<'_>) -> Result<NetChange, Error> {
    let mut ops = Vec::new();
    let mut what = Vec::new();
    let sid = node_of(cx, net, sw)?;
    if sid.len() != 1 || !matches!(net.net.nodes[sid[0] as usize].kind, super::network::NodeKind::Switch(_)) {
        return Err(cx.err(sw, format!("`{}` is not a switch", sw.value), None));
    }
    let port =
        e.port.as_ref().ok_or_else(|| cx.err(sw, "a switch change names the `port` (the node it faces)", None))?;
    let target = format!("switch {} port {}", sw.value, port.value);
    for n in node_of(cx, net, port)? {
        let link = net.net.link_between(sid[0], n).ok_or_else(|| {
            cx.err(port, format!("switch `{}` has no port facing `{}`", sw.value, net.net.nodes[n as usize].name), None)
        })?;
        if let Some(up) = up_down(cx, &e.action)? {
            ops.push(NetOp::LinkUp { link, up });
        }
        if let Some(v) = &e.vlan {
            ops.push(NetOp::PortVlan { link, vlan: v.value });
        }
    }
    if let Some(up) = up_down(cx, &e.action)? {
        what.push(if up { "up".to_string() } else { "down".to_string() });
    }
    if let Some(v) = &e.vlan {
        what.push(format!("vlan {}", v.value));
    }
    Ok((target, what, ops))
}

/// Route changes of a router, server or balancer.
fn route_change(
    cx: &Ctx<'_>,
    e: &TimelineEntry,
    net: Net<'_>,
    fields: &[(&'static str, Option<serde_saphyr::Location>)],
) -> Result<NetChange, Error> {
    let mut ops = Vec::new();
    let mut what = Vec::new();
    let at = e
        .router
        .as_ref()
        .or(e.server.as_ref())
        .or(e.balancer.as_ref())
        .ok_or_else(|| cx.err(&e.at, "route changes apply to a `router`, `server` or `balancer`", None))?;
    check_fields(cx, e, fields, "routing table", &["add_route", "remove_route", "replace_route", "routes"])?;
    let nodes = node_of(cx, net, at)?;
    let target = format!("routes of {}", at.value);
    for node in nodes {
        if let Some(r) = &e.add_route {
            let route = compile_route(cx, net.net, net.nodes, node, r)?;
            what.push(format!("add {}", describe_route(net.net, &route)));
            ops.push(NetOp::AddRoute { node, route });
        }
        if let Some(p) = &e.remove_route {
            let prefix: ipnet::IpNet =
                p.value.trim().parse().map_err(|_| cx.err(p, format!("`{}` is not an IP prefix", p.value), None))?;
            what.push(format!("remove {prefix}"));
            ops.push(NetOp::RemoveRoute { node, prefix });
        }
        if let Some(r) = &e.replace_route {
            let route = compile_route(cx, net.net, net.nodes, node, r)?;
            what.push(format!("replace {}", describe_route(net.net, &route)));
            ops.push(NetOp::ReplaceRoute { node, route });
        }
        if let Some(rs) = &e.routes {
            let routes =
                rs.iter().map(|r| compile_route(cx, net.net, net.nodes, node, r)).collect::<Result<Vec<_>, _>>()?;
            what.push(format!(
                "table = [{}]",
                routes.iter().map(|r| describe_route(net.net, r)).collect::<Vec<_>>().join("; ")
            ));
            ops.push(NetOp::SetRoutes { node, routes });
        }
    }
    what.dedup();
    Ok((target, what, ops))
}

/// `10.2.0.0/16 via core`, `10.9.0.0/16 blackhole`.
pub fn describe_route(net: &Network, r: &Route) -> String {
    use super::network::RouteTarget;
    let t = match r.target {
        RouteTarget::Via(n) => format!("via {}", net.nodes[n as usize].name),
        RouteTarget::Blackhole => "blackhole".to_string(),
        RouteTarget::Reject => "reject".to_string(),
    };
    let metric = if r.metric > 0 { format!(" metric {}", r.metric) } else { String::new() };
    format!("{} {t}{metric}", r.prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: u64, revert_at: Option<u64>, change: Change) -> TimelineChange {
        TimelineChange {
            name: None,
            at,
            revert_at,
            note: None,
            fix: false,
            target: String::new(),
            what: String::new(),
            change,
        }
    }

    fn client(at: u64, revert_at: Option<u64>) -> TimelineChange {
        entry(at, revert_at, Change::Client { client: 0, rate: None, factor: Some(2.0) })
    }

    #[test]
    fn the_first_change_is_the_earliest_applied_one_not_the_first_listed() {
        let timeline = [
            client(50, None),
            entry(20, None, Change::Note),
            client(20, None),
            client(20, None),
            entry(30, None, Change::Revert { entry: 2 }),
            client(10, None),
        ];
        assert_eq!(first_change(&timeline, |_| true), Some(5));
        // Blocked, it changed nothing: the next earliest, the first listed at 20 (not the note).
        assert_eq!(first_change(&timeline, |i| i != 5), Some(2));
        assert_eq!(first_change(&timeline, |i| ![0, 2, 3, 5].contains(&i)), None);
        assert_eq!(first_change(&timeline[1..2], |_| true), None);
    }

    #[test]
    fn a_change_is_undone_by_its_duration_or_a_revert_whichever_is_first() {
        let timeline = [
            client(10, Some(100)),
            client(20, Some(40)),
            client(30, None),
            entry(60, None, Change::Revert { entry: 0 }),
            entry(50, None, Change::Revert { entry: 1 }),
            entry(90, None, Change::Revert { entry: 2 }),
            entry(70, None, Change::Revert { entry: 2 }),
        ];
        assert_eq!(undone_at(&timeline, 0), Some(60));
        assert_eq!(undone_at(&timeline, 1), Some(40));
        // Two reverts name it: the earlier in time, though listed later.
        assert_eq!(undone_at(&timeline, 2), Some(70));
        assert_eq!(undone_at(&[client(5, None)], 0), None);
        assert_eq!(undone_at(&timeline, 99), None);
    }
}
