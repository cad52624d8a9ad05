//! Network rules, on the paths the run would resolve (`sim::network`):
//! a client subnet that does not reach its balancer (`NET001`), answers that
//! cannot get back (`NET002`), a switch port on a VLAN its peers are not on
//! (`NET003`), a backend the balancer cannot reach (`NET004`), a lossy or
//! slow path in use (`NET005`).

use std::collections::BTreeMap;

use super::locate::Locator;
use super::state::Snapshot;
use super::{Issue, list, rules};
use crate::model::World;
use crate::model::network::{Network, NodeId, NodeKind};
use crate::sim::network::{Outcome, Path, mean_latency_ns, resolve};

/// Loss above which a path in use is degraded.
const MAX_LOSS: f64 = 0.01;
/// Mean one-way latency above which a path in use is degraded, ns.
const MAX_LATENCY_NS: f64 = 250e6;

/// A pair of network nodes that talk in the run.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Pair {
    pub from: NodeId,
    pub to: NodeId,
    /// The client group, for a subnet's pairs.
    pub client: Option<usize>,
}

/// Client subnet -> target balancer pairs (targets with a weight above 0).
pub(crate) fn client_pairs(world: &World, net: &Network) -> Vec<Pair> {
    let mut out = Vec::new();
    for (c, def) in world.clients.iter().enumerate() {
        for &sn in &net.subnets[c] {
            if !net.attached(sn) {
                continue;
            }
            for &(b, w) in &def.targets {
                let bn = net.balancer_node[b as usize];
                if w > 0 && net.attached(bn) {
                    out.push(Pair { from: sn, to: bn, client: Some(c) });
                }
            }
        }
    }
    out
}

/// Balancer -> backend pairs: every backend in rotation (with a weight above 0).
pub(crate) fn backend_pairs(world: &World, snap: &Snapshot, net: &Network) -> Vec<Pair> {
    let mut out = Vec::new();
    for (b, st) in snap.balancers.iter().enumerate() {
        let bn = net.balancer_node[b];
        for k in st.in_rotation() {
            let sn = net.server_node[world.balancers[b].backends[k].server.index()];
            if net.attached(bn) && net.attached(sn) {
                out.push(Pair { from: bn, to: sn, client: None });
            }
        }
    }
    out
}

/// What the run's network validation checks: every subnet with every
/// balancer, and every balancer with every server in its pool, both ways.
pub(crate) fn validation_pairs(world: &World, net: &Network) -> Vec<(NodeId, NodeId)> {
    let mut out = Vec::new();
    for subnets in &net.subnets {
        for &sn in subnets {
            for &bn in &net.balancer_node {
                out.push((sn, bn));
                out.push((bn, sn));
            }
        }
    }
    for (b, def) in world.balancers.iter().enumerate() {
        let bn = net.balancer_node[b];
        for be in &def.backends {
            let sn = net.server_node[be.server.index()];
            out.push((bn, sn));
            out.push((sn, bn));
        }
    }
    out
}

fn name(net: &Network, n: NodeId) -> &str {
    &net.nodes[n as usize].name
}

/// Where and how a path that does not deliver ends, in words: "goes to
/// `old-storage`, a host that is not `storage-lb` and answers with errors".
pub(crate) fn how_it_fails(net: &Network, p: &Path, to: NodeId) -> String {
    let last = *p.hops.last().unwrap_or(&to);
    let at = name(net, last);
    let kind = net.nodes[last as usize].kind;
    match p.outcome {
        Outcome::Delivered => "is delivered".to_string(),
        Outcome::WrongService => format!("goes to `{at}`, the wrong host, which answers with errors"),
        Outcome::Unreachable if kind.is_endpoint() && last != p.hops[0] => {
            format!("goes to `{at}`, the wrong host, which refuses it")
        }
        Outcome::Unreachable => format!("is refused at `{at}` (a reject route, or no route)"),
        Outcome::Dropped if kind.is_endpoint() && last != p.hops[0] => {
            format!("goes to `{at}`, the wrong host, which ignores it")
        }
        Outcome::Dropped if matches!(kind, NodeKind::Switch(_)) => {
            format!(
                "is dropped at switch `{at}`: no port towards it on the VLAN the traffic arrives on, or the port is down"
            )
        }
        Outcome::Dropped => format!("is dropped at `{at}` (a blackhole route, or a link down)"),
        Outcome::Loop => {
            let mut seen: Vec<&str> = Vec::new();
            for &h in p.hops.iter().rev().take(4) {
                let n = name(net, h);
                if !seen.contains(&n) {
                    seen.push(n);
                }
            }
            seen.reverse();
            format!("loops between {} until its time to live runs out", seen.join(" and "))
        }
    }
}

/// A latency in ns as people read it: `780 ms`, `12.5 ms`, `1.2 s`.
pub(crate) fn millis(ns: f64) -> String {
    let ms = ns / 1e6;
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// The nodes a path crosses between its ends, for "through backup-gw".
fn via(net: &Network, p: &Path) -> String {
    let inner: Vec<&str> = p.hops.iter().skip(1).take(p.hops.len().saturating_sub(2)).map(|&h| name(net, h)).collect();
    if inner.is_empty() { String::new() } else { format!(" through {}", inner.join(", ")) }
}

/// The network rules on one state.
pub(crate) fn state(world: &World, snap: &Snapshot, loc: &Locator<'_>) -> Vec<Issue> {
    let Some(net) = &snap.net else { return Vec::new() };
    let mut out = Vec::new();
    let mut degraded: Vec<(Pair, Path)> = Vec::new();
    // Requests from the subnets, and the balancers' answers back.
    let mut cut: BTreeMap<(usize, NodeId, String), Vec<NodeId>> = BTreeMap::new();
    let mut back: BTreeMap<(NodeId, String), Vec<NodeId>> = BTreeMap::new();
    for pair in client_pairs(world, net) {
        let p = resolve(net, pair.from, pair.to);
        if p.outcome != Outcome::Delivered {
            let c = pair.client.expect("a subnet pair");
            cut.entry((c, pair.to, how_it_fails(net, &p, pair.to))).or_default().push(pair.from);
            continue;
        }
        degraded.push((pair, p));
        let r = resolve(net, pair.to, pair.from);
        if r.outcome == Outcome::Delivered {
            degraded.push((Pair { from: pair.to, to: pair.from, client: pair.client }, r));
        } else {
            back.entry((pair.to, how_it_fails(net, &r, pair.from))).or_default().push(pair.from);
        }
    }
    for ((_, bn, how), subnets) in cut {
        let names: Vec<String> = subnets.iter().map(|&s| name(net, s).to_string()).collect();
        let who = if names.len() == 1 {
            format!("client subnet `{}`", names[0])
        } else {
            format!("client subnets {}", list(&names, 4))
        };
        let bal = name(net, bn);
        out.push(
            Issue::new(
                rules::UNREACHABLE_SERVICE,
                format!("reach {} -> {bal}", names.join(",")),
                format!("requests from {who} to balancer `{bal}` never reach it: the path {how}"),
            )
            .after(format!("cuts {who} off from balancer `{bal}`: the path {how}"))
            .at(loc.node(subnets[0])),
        );
    }
    for ((bn, how), subnets) in back {
        let names: Vec<String> = subnets.iter().map(|&s| name(net, s).to_string()).collect();
        let bal = name(net, bn);
        out.push(
            Issue::new(
                rules::BROKEN_RETURN_PATH,
                format!("return {bal} -> {}", names.join(",")),
                format!("answers from balancer `{bal}` to {} never get back: the path {how}", list(&names, 4)),
            )
            .after(format!("stops answers from balancer `{bal}` getting back to {}: the path {how}", list(&names, 4)))
            .at(loc.node(bn)),
        );
    }
    // The balancers' requests to their backends, and the answers back.
    let mut unreachable: BTreeMap<(NodeId, String), Vec<NodeId>> = BTreeMap::new();
    let mut lost: BTreeMap<(NodeId, String), Vec<NodeId>> = BTreeMap::new();
    for pair in backend_pairs(world, snap, net) {
        let p = resolve(net, pair.from, pair.to);
        if p.outcome != Outcome::Delivered {
            unreachable.entry((pair.from, how_it_fails(net, &p, pair.to))).or_default().push(pair.to);
            continue;
        }
        degraded.push((pair, p));
        let r = resolve(net, pair.to, pair.from);
        if r.outcome == Outcome::Delivered {
            degraded.push((Pair { from: pair.to, to: pair.from, client: None }, r));
        } else {
            lost.entry((pair.from, how_it_fails(net, &r, pair.from))).or_default().push(pair.to);
        }
    }
    for ((bn, how), servers) in unreachable {
        let names: Vec<String> = servers.iter().map(|&s| name(net, s).to_string()).collect();
        let bal = name(net, bn);
        out.push(
            Issue::new(
                rules::BACKEND_UNREACHABLE,
                format!("backends {bal} -> {}", names.join(",")),
                format!("balancer `{bal}` cannot reach {}: the path {how}", list(&names, 4)),
            )
            .after(format!("cuts balancer `{bal}` off from {}: the path {how}", list(&names, 4)))
            .at(loc.node(bn)),
        );
    }
    for ((bn, how), servers) in lost {
        let names: Vec<String> = servers.iter().map(|&s| name(net, s).to_string()).collect();
        let bal = name(net, bn);
        out.push(
            Issue::new(
                rules::BROKEN_RETURN_PATH,
                format!("return {} -> {bal}", names.join(",")),
                format!("answers from {} to balancer `{bal}` never get back: the path {how}", list(&names, 4)),
            )
            .after(format!("stops answers from {} getting back to balancer `{bal}`: the path {how}", list(&names, 4)))
            .at(loc.node(servers[0])),
        );
    }
    for (pair, p) in degraded {
        let mean = mean_latency_ns(&p, net);
        if p.loss <= MAX_LOSS && mean <= MAX_LATENCY_NS {
            continue;
        }
        let (a, b) = (name(net, pair.from), name(net, pair.to));
        let what = format!("{:.1}% of packets are lost and they take {} on average", 100.0 * p.loss, millis(mean));
        out.push(
            Issue::new(
                rules::DEGRADED_PATH,
                format!("degraded {a} -> {b}"),
                format!("traffic from `{a}` to `{b}` goes{}: {what}", via(net, &p)),
            )
            .after(format!("sends traffic from `{a}` to `{b}`{}: {what}", via(net, &p)))
            .at(loc.node(pair.from)),
        );
    }
    out.extend(vlan_mismatches(world, snap, net, loc));
    out
}

/// `NET003`: pairs that talk, both linked to one switch, on different VLANs.
fn vlan_mismatches(world: &World, snap: &Snapshot, net: &Network, loc: &Locator<'_>) -> Vec<Issue> {
    let mut pairs: Vec<(NodeId, NodeId)> = client_pairs(world, net).iter().map(|p| (p.to, p.from)).collect();
    pairs.extend(backend_pairs(world, snap, net).iter().map(|p| (p.from, p.to)));
    // Each switch port by (switch, node), read once: a switch may have
    // thousands of ports.
    let mut ports: std::collections::HashMap<(NodeId, NodeId), u32> = std::collections::HashMap::new();
    for link in &net.links {
        for (sw, n) in [(link.a, link.b), (link.b, link.a)] {
            if matches!(net.nodes[sw as usize].kind, NodeKind::Switch(_)) {
                ports.entry((sw, n)).or_insert(link.vlan);
            }
        }
    }
    // (switch, peer, peer's VLAN) -> (nodes on other VLANs, their VLAN)
    let mut found: BTreeMap<(NodeId, NodeId, u32), Vec<(NodeId, u32)>> = BTreeMap::new();
    for (peer, node) in pairs {
        for &l in &net.nodes[peer as usize].links {
            let sw = net.links[l as usize].other(peer);
            if !matches!(net.nodes[sw as usize].kind, NodeKind::Switch(_)) {
                continue;
            }
            let Some(&v2) = ports.get(&(sw, node)) else { continue };
            let v1 = net.links[l as usize].vlan;
            if v1 != v2 {
                found.entry((sw, peer, v1)).or_default().push((node, v2));
            }
        }
    }
    found
        .into_iter()
        .map(|((sw, peer, v), nodes)| {
            let names: Vec<String> = nodes.iter().map(|&(n, _)| name(net, n).to_string()).collect();
            let mut vlans: Vec<u32> = nodes.iter().map(|&(_, v)| v).collect();
            vlans.dedup();
            let vl = vlans.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
            let (s, p) = (name(net, sw), name(net, peer));
            let text = format!(
                "on switch `{s}`, {} {} on VLAN {vl}, and their peer `{p}` on VLAN {v}",
                list(&names, 4),
                if names.len() == 1 { "is" } else { "are" }
            );
            Issue::new(rules::VLAN_MISMATCH, format!("vlan {s} {p} {}", names.join(",")), text.clone())
                .after(format!("moves ports apart: {text}"))
                .at(loc.node(sw))
        })
        .collect()
}
