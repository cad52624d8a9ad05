//! Single points of failure: a client group behind one balancer (`SPF001`),
//! a link (`SPF002`) or a router or switch (`SPF003`) that every path
//! between a client group and its service crosses. A link or node counts
//! when taking it down (every link of a node) leaves the group no working
//! path, with tracked routes free to move traffic over, as the run would.

use std::collections::BTreeMap;

use super::locate::Locator;
use super::network::client_pairs;
use super::state::Snapshot;
use super::{Issue, list, rules};
use crate::model::World;
use crate::model::network::{LinkId, Network, NodeId, NodeKind};
use crate::sim::network::{Outcome, resolve};

/// Path resolutions the link and node tests may spend; beyond it (a very
/// large network) they are skipped rather than slow the check down.
const BUDGET: usize = 200_000;

pub(crate) fn check(world: &World, snap: &Snapshot, loc: &Locator<'_>) -> Vec<Issue> {
    let mut out = Vec::new();
    for (c, def) in world.clients.iter().enumerate() {
        let targets: Vec<u32> = def.targets.iter().filter(|t| t.1 > 0).map(|t| t.0).collect();
        if let [b] = targets.as_slice() {
            let bal = &world.balancers[*b as usize].name;
            out.push(
                Issue::new(
                    rules::SINGLE_BALANCER,
                    format!("single balancer {}", def.name),
                    format!("client group `{}` reaches its service through balancer `{bal}` only", def.name),
                )
                .at(loc.client(c)),
            );
        }
    }
    if let Some(net) = &snap.net {
        out.extend(network_spofs(world, snap, net, loc));
    }
    out
}

/// Whether any subnet of client group `c` has a working service: a target
/// it reaches and hears back from, which reaches and hears back from a
/// backend in rotation that is up.
fn group_served(world: &World, snap: &Snapshot, net: &Network, c: usize, budget: &mut usize) -> bool {
    let delivered = |a: NodeId, b: NodeId, budget: &mut usize| {
        *budget = budget.saturating_sub(1);
        resolve(net, a, b).outcome == Outcome::Delivered
    };
    for pair in client_pairs(world, net).into_iter().filter(|p| p.client == Some(c)) {
        if !delivered(pair.from, pair.to, budget) || !delivered(pair.to, pair.from, budget) {
            continue;
        }
        let NodeKind::Balancer(b) = net.nodes[pair.to as usize].kind else { continue };
        let def = &world.balancers[b as usize];
        let st = &snap.balancers[b as usize];
        for k in st.in_rotation() {
            let s = def.backends[k].server;
            let sn = net.server_node[s.index()];
            if snap.servers[s.index()].up && delivered(pair.to, sn, budget) && delivered(sn, pair.to, budget) {
                return true;
            }
        }
    }
    false
}

fn network_spofs(world: &World, snap: &Snapshot, net: &Network, loc: &Locator<'_>) -> Vec<Issue> {
    let mut budget = BUDGET;
    let served: Vec<usize> = (0..world.clients.len())
        .filter(|&c| !net.subnets[c].is_empty() && group_served(world, snap, net, c, &mut budget))
        .collect();
    // Candidates: links and routers/switches on some path in use.
    let mut links: Vec<LinkId> = Vec::new();
    for pair in client_pairs(world, net) {
        for p in [resolve(net, pair.from, pair.to), resolve(net, pair.to, pair.from)] {
            for w in p.hops.windows(2) {
                if let Some(l) = net.link_between(w[0], w[1]) {
                    links.push(l);
                }
            }
        }
    }
    for (b, st) in snap.balancers.iter().enumerate() {
        let bn = net.balancer_node[b];
        // One backend's path stands for the rest: a switch or link in front
        // of all of them is on each.
        if let Some(k) = st.in_rotation().next() {
            let sn = net.server_node[world.balancers[b].backends[k].server.index()];
            for p in [resolve(net, bn, sn), resolve(net, sn, bn)] {
                for w in p.hops.windows(2) {
                    if let Some(l) = net.link_between(w[0], w[1]) {
                        links.push(l);
                    }
                }
            }
        }
    }
    links.sort_unstable();
    links.dedup();
    let mut nodes: Vec<NodeId> = links
        .iter()
        .flat_map(|&l| [net.links[l as usize].a, net.links[l as usize].b])
        .filter(|&n| matches!(net.nodes[n as usize].kind, NodeKind::Router(_) | NodeKind::Switch(_)))
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    // Each candidate fails as a set of links going down: a link alone, or
    // every link of a router or switch.
    let mut candidates: Vec<(Option<NodeId>, Vec<LinkId>)> = links.iter().map(|&l| (None, vec![l])).collect();
    candidates.extend(nodes.iter().map(|&n| (Some(n), net.nodes[n as usize].links.clone())));
    let mut cut_by_link: BTreeMap<LinkId, Vec<usize>> = BTreeMap::new();
    let mut cut_by_node: BTreeMap<NodeId, Vec<usize>> = BTreeMap::new();
    let mut trial = snap.clone();
    for (node, down) in candidates {
        let n = trial.net.as_mut().expect("has a network");
        for &l in &down {
            n.links[l as usize].up = false;
        }
        let tnet = trial.net.as_ref().expect("has a network");
        for &c in &served {
            if budget == 0 {
                return Vec::new();
            }
            if !group_served(world, &trial, tnet, c, &mut budget) {
                match node {
                    Some(n) => cut_by_node.entry(n).or_default().push(c),
                    None => cut_by_link.entry(down[0]).or_default().push(c),
                }
            }
        }
        let n = trial.net.as_mut().expect("has a network");
        for &l in &down {
            n.links[l as usize].up = net.links[l as usize].up;
        }
    }
    let groups = |cs: &[usize]| {
        let names: Vec<String> = cs.iter().map(|&c| format!("`{}`", world.clients[c].name)).collect();
        format!("client group{} {}", if names.len() == 1 { "" } else { "s" }, list(&names, 4))
    };
    let mut out = Vec::new();
    for (l, cs) in cut_by_link {
        let link = &net.links[l as usize];
        let (a, b) = (&net.nodes[link.a as usize].name, &net.nodes[link.b as usize].name);
        out.push(
            Issue::new(
                rules::SINGLE_LINK,
                format!("link {a}-{b}"),
                format!("every path between {} and its service crosses the link `{a}`–`{b}`", groups(&cs)),
            )
            .at(loc.link(l)),
        );
    }
    for (node, cs) in cut_by_node {
        let n = &net.nodes[node as usize];
        let kind = if matches!(n.kind, NodeKind::Switch(_)) { "switch" } else { "router" };
        out.push(
            Issue::new(
                rules::SINGLE_NODE,
                format!("node {}", n.name),
                format!("every path between {} and its service crosses {kind} `{}`", groups(&cs), n.name),
            )
            .at(loc.node(node)),
        );
    }
    out
}
