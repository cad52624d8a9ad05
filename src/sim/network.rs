//! The network at run time: effective routing tables, links and switch
//! ports (base plus timeline layers), and the resolved paths between the
//! endpoints that talk to each other.
//!
//! Paths are resolved when routing state changes, not per request: a
//! request looks up its cached path and samples the latency of the links on
//! it whose latency is not constant. A healthy network with constant
//! latencies costs an addition per request.

use std::net::IpAddr;

use crate::metrics::{BlockReason, Failure};
use crate::model::network::Foreign;
use crate::model::network::{LinkId, Network, NodeId, NodeKind, Route, RouteTarget};
use crate::model::{NetOp, ServerId, World};
use crate::rng::{SimRng, chance};

/// Hops before a packet dies (a TTL).
pub(super) const MAX_HOPS: usize = 32;

/// How a path ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Delivered,
    /// Refused at once: a reject route, no route, or a host refusing
    /// traffic that is not for it.
    Unreachable,
    /// A host that is not the destination answered with an error.
    WrongService,
    /// Silently lost: a blackhole, a link or port down, a switch with
    /// nowhere to send it, or a host ignoring it.
    Dropped,
    /// Went round in circles until its TTL ran out.
    Loop,
}

/// A resolved path from one endpoint to another.
#[derive(Clone, Debug)]
pub(crate) struct Path {
    pub outcome: Outcome,
    /// The nodes visited, from the source.
    pub hops: Vec<NodeId>,
    /// Sum of the constant link latencies, ns.
    pub const_ns: u64,
    /// Links whose latency must be sampled per packet.
    pub var_links: Vec<LinkId>,
    /// Probability of losing the packet somewhere on the way.
    pub loss: f64,
}

impl Path {
    fn direct() -> Path {
        Path { outcome: Outcome::Delivered, hops: Vec::new(), const_ns: 0, var_links: Vec::new(), loss: 0.0 }
    }

    /// Constant latency, when nothing on the path varies.
    pub(crate) fn fixed_latency(&self) -> Option<u64> {
        (self.outcome == Outcome::Delivered && self.var_links.is_empty()).then_some(self.const_ns)
    }

    /// Constant latency when nothing on the path varies and nothing is
    /// lost: crossing it always arrives after that long and draws nothing.
    fn fixed_lossless(&self) -> Option<u64> {
        self.fixed_latency().filter(|_| self.loss == 0.0)
    }
}

/// What happens to one packet on a path.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Crossing {
    /// Arrives after this many ns.
    Arrives(u64),
    /// The sender learns at once that it failed.
    FailsFast(Failure),
    /// Never arrives; the sender waits for its timeout. The failure is
    /// what the timeout will be blamed on.
    Lost(Failure),
}

/// Which cached path.
#[derive(Copy, Clone, Debug)]
pub(super) enum Leg {
    /// Client subnet (global subnet index) to balancer.
    ToBalancer {
        subnet: usize,
        balancer: u32,
    },
    /// Balancer back to a client subnet.
    ToClient {
        balancer: u32,
        subnet: usize,
    },
    ToServer {
        balancer: u32,
        backend: u32,
    },
    FromServer {
        balancer: u32,
        backend: u32,
    },
}

fn owns(node: &crate::model::network::Node, addr: IpAddr) -> bool {
    node.address.is_some_and(|a| a.contains(&addr))
}

/// Resolves the path a packet from `src` to `dst` takes.
pub(crate) fn resolve(net: &Network, src: NodeId, dst: NodeId) -> Path {
    if !net.attached(src) || !net.attached(dst) {
        return Path::direct();
    }
    let Some(addr) = net.nodes[dst as usize].address.map(|a| a.network()) else {
        return Path { outcome: Outcome::Unreachable, ..Path::direct() };
    };
    walk(net, src, None, addr, dst, 0)
}

/// Follows the tables from `start` (entered through `ingress`, if any)
/// towards `addr`.
fn walk(net: &Network, start: NodeId, ingress: Option<LinkId>, addr: IpAddr, expected: NodeId, depth: u32) -> Path {
    let mut path = Path { outcome: Outcome::Loop, hops: vec![start], const_ns: 0, var_links: Vec::new(), loss: 0.0 };
    let mut node = start;
    let mut ingress = ingress;
    let mut ok_prob = 1.0f64;
    for _ in 0..MAX_HOPS {
        let n = &net.nodes[node as usize];
        if owns(n, addr) {
            path.outcome = if node == expected { Outcome::Delivered } else { foreign_outcome(n.foreign) };
            break;
        }
        if (node != start || ingress.is_some()) && n.kind.is_endpoint() {
            // Hosts do not forward other people's traffic.
            path.outcome = foreign_outcome(n.foreign);
            break;
        }
        let next = match n.kind {
            NodeKind::Switch(_) => switch_forward(net, node, ingress, addr),
            _ if n.kind.is_endpoint() && n.routes.is_empty() => endpoint_forward(net, node),
            _ => route_forward(net, node, addr, expected, depth),
        };
        let link = match next {
            Next::Link(l) => l,
            Next::Stop(outcome) => {
                path.outcome = outcome;
                break;
            }
        };
        let l = &net.links[link as usize];
        match l.latency.is_constant() {
            Some(ns) => path.const_ns += ns,
            None => path.var_links.push(link),
        }
        ok_prob *= 1.0 - l.loss;
        ingress = Some(link);
        node = l.other(node);
        path.hops.push(node);
    }
    path.loss = 1.0 - ok_prob;
    path
}

fn foreign_outcome(f: Foreign) -> Outcome {
    match f {
        Foreign::Refuse => Outcome::Unreachable,
        Foreign::Error => Outcome::WrongService,
        Foreign::Drop => Outcome::Dropped,
    }
}

enum Next {
    Link(LinkId),
    Stop(Outcome),
}

/// A switch delivers to the node it links to that owns the address, on the
/// ingress port's VLAN; otherwise to a router on that VLAN; otherwise drops.
fn switch_forward(net: &Network, sw: NodeId, ingress: Option<LinkId>, addr: IpAddr) -> Next {
    let vlan = ingress.map_or(1, |l| net.links[l as usize].vlan);
    let ports = &net.nodes[sw as usize].links;
    let usable = |l: &LinkId| {
        let link = &net.links[*l as usize];
        link.up && link.vlan == vlan && Some(*l) != ingress
    };
    if let Some(&l) =
        ports.iter().filter(|l| usable(l)).find(|&&l| owns(&net.nodes[net.links[l as usize].other(sw) as usize], addr))
    {
        return Next::Link(l);
    }
    if let Some(&l) = ports
        .iter()
        .filter(|l| usable(l))
        .find(|&&l| matches!(net.nodes[net.links[l as usize].other(sw) as usize].kind, NodeKind::Router(_)))
    {
        return Next::Link(l);
    }
    Next::Stop(Outcome::Dropped)
}

/// A host without routes has one link (checked when the scenario is
/// compiled) and sends everything out of it.
fn endpoint_forward(net: &Network, node: NodeId) -> Next {
    match net.nodes[node as usize].links.first() {
        Some(&l) if net.links[l as usize].up => Next::Link(l),
        _ => Next::Stop(Outcome::Dropped),
    }
}

/// Longest-prefix match; among entries for the same prefix the lowest
/// metric wins; entries whose next hop is unusable (link down, or a tracked
/// route that does not get there) are skipped, as a routing daemon would
/// withdraw them, so a less specific entry may apply.
fn route_forward(net: &Network, node: NodeId, addr: IpAddr, expected: NodeId, depth: u32) -> Next {
    let mut matching: Vec<&Route> =
        net.nodes[node as usize].routes.iter().filter(|r| r.prefix.contains(&addr)).collect();
    matching.sort_by(|a, b| b.prefix.prefix_len().cmp(&a.prefix.prefix_len()).then(a.metric.cmp(&b.metric)));
    for r in matching {
        match r.target {
            RouteTarget::Blackhole => return Next::Stop(Outcome::Dropped),
            RouteTarget::Reject => return Next::Stop(Outcome::Unreachable),
            RouteTarget::Via(n) => {
                let Some(l) = net.link_between(node, n) else { continue };
                if !net.links[l as usize].up {
                    continue;
                }
                if r.track
                    && (depth >= 4 || walk(net, n, Some(l), addr, expected, depth + 1).outcome != Outcome::Delivered)
                {
                    continue;
                }
                return Next::Link(l);
            }
        }
    }
    Next::Stop(Outcome::Unreachable)
}

/// Run-time network state and the cached paths.
pub(super) struct NetState {
    base: Network,
    layers: Vec<(u32, Vec<NetOp>)>,
    pub net: Network,
    /// Per client: offset of its subnets in the global subnet index.
    pub subnet_offset: Vec<usize>,
    subnet_nodes: Vec<NodeId>,
    balancer_nodes: Vec<NodeId>,
    /// Backend index -> server, per balancer.
    backends: Vec<Vec<ServerId>>,
    to_balancer: Vec<Path>,
    to_client: Vec<Path>,
    to_server: Vec<Vec<Path>>,
    from_server: Vec<Vec<Path>>,
    /// Per balancer and backend: the constant latency to the server when
    /// the path is delivered, constant, lossless and under ~4.3 s (so that
    /// it fits the attempt's 32-bit shift).
    to_server_fixed: Vec<Vec<Option<u32>>>,
    /// The same for the answer's two legs (server to balancer, balancer to
    /// client subnet; indexed as `from_server` and `to_client`), so that a
    /// constant way back costs two lookups.
    from_server_fixed: Vec<Vec<Option<u64>>>,
    to_client_fixed: Vec<Option<u64>>,
    rng: SimRng,
}

impl NetState {
    /// The network of `world`, if it has one. The request path reads the
    /// constant-leg tables unchecked (see "Ids on the request path" on
    /// `Simulation`): they are shaped by the world's balancers, their
    /// backends and the client groups' subnets (`check_ids` checked the
    /// world), and `resolve_all` rebuilds them in the same shapes.
    pub(super) fn new(world: &World, rng: SimRng) -> Option<NetState> {
        let net = world.network.clone()?;
        let backends = world.balancers.iter().map(|b| b.backends.iter().map(|be| be.server).collect()).collect();
        let mut subnet_offset = Vec::new();
        let mut subnet_nodes = Vec::new();
        for ids in &net.subnets {
            subnet_offset.push(subnet_nodes.len());
            if ids.is_empty() {
                // A group outside the network: one direct "subnet".
                subnet_nodes.push(NodeId::MAX);
            } else {
                subnet_nodes.extend(ids);
            }
        }
        let balancer_nodes = net.balancer_node.clone();
        let mut s = NetState {
            base: net.clone(),
            layers: Vec::new(),
            net,
            subnet_offset,
            subnet_nodes,
            balancer_nodes,
            backends,
            to_balancer: Vec::new(),
            to_client: Vec::new(),
            to_server: Vec::new(),
            from_server: Vec::new(),
            to_server_fixed: Vec::new(),
            from_server_fixed: Vec::new(),
            to_client_fixed: Vec::new(),
            rng,
        };
        s.resolve_all();
        Some(s)
    }

    fn path_between(&self, a: NodeId, b: NodeId) -> Path {
        if a == NodeId::MAX || b == NodeId::MAX {
            return Path::direct();
        }
        resolve(&self.net, a, b)
    }

    /// Re-resolves every cached path (after a routing change).
    pub(super) fn resolve_all(&mut self) {
        let nb = self.balancer_nodes.len();
        self.to_balancer.clear();
        self.to_client.clear();
        for &sn in &self.subnet_nodes {
            for &bn in &self.balancer_nodes {
                self.to_balancer.push(self.path_between(sn, bn));
            }
        }
        for &bn in &self.balancer_nodes {
            for &sn in &self.subnet_nodes {
                self.to_client.push(self.path_between(bn, sn));
            }
        }
        debug_assert_eq!(self.to_balancer.len(), self.subnet_nodes.len() * nb);
        self.to_server = (0..nb)
            .map(|b| {
                let bn = self.balancer_nodes[b];
                self.backends[b].iter().map(|&s| self.path_between(bn, self.net.server_node[s.index()])).collect()
            })
            .collect();
        self.to_server_fixed = self
            .to_server
            .iter()
            .map(|paths| {
                paths
                    .iter()
                    .map(|p| p.fixed_latency().filter(|_| p.loss == 0.0).and_then(|ns| u32::try_from(ns).ok()))
                    .collect()
            })
            .collect();
        self.from_server = (0..nb)
            .map(|b| {
                let bn = self.balancer_nodes[b];
                self.backends[b].iter().map(|&s| self.path_between(self.net.server_node[s.index()], bn)).collect()
            })
            .collect();
        self.from_server_fixed =
            self.from_server.iter().map(|paths| paths.iter().map(Path::fixed_lossless).collect()).collect();
        self.to_client_fixed = self.to_client.iter().map(Path::fixed_lossless).collect();
    }

    /// The user's subnet (global index) for client group `client`: below
    /// the number of subnets, since `user_subnet` is below the group's
    /// count of shares, which is at most its count of subnets (or 1).
    #[inline(always)]
    pub(super) fn subnet_of(&self, client: u32, user: u32) -> usize {
        // SAFETY: a client id of the run, and `subnet_offset` has one entry
        // per client group (`check_ids`). This and the two lookups
        // below cost 33 instructions per request on three-hops.
        let offset = unsafe { *self.subnet_offset.get_unchecked(client as usize) };
        offset + self.net.user_subnet(client, user)
    }

    /// The constant, lossless latency from a balancer to a backend, if so.
    #[inline(always)]
    pub(super) fn fixed_to_server(&self, balancer: u32, backend: u32) -> Option<u32> {
        // SAFETY: the attempt's balancer and the backend its pick checked;
        // the table is per balancer and backend (`new`).
        unsafe { *self.to_server_fixed.get_unchecked(balancer as usize).get_unchecked(backend as usize) }
    }

    /// The answer's way back (backend to balancer, balancer to the client
    /// subnet) when both legs are constant and lossless: crossing them
    /// would give exactly this, drawing nothing.
    #[inline(always)]
    pub(super) fn fixed_answer(&self, balancer: u32, backend: u32, subnet: usize) -> Option<u64> {
        // SAFETY: as in `fixed_to_server`; `subnet` came from `subnet_of`,
        // below the number of subnets, and `to_client_fixed` holds one entry
        // per balancer and subnet.
        let back = unsafe { *self.from_server_fixed.get_unchecked(balancer as usize).get_unchecked(backend as usize) }?;
        let to_client =
            unsafe { *self.to_client_fixed.get_unchecked(balancer as usize * self.subnet_nodes.len() + subnet) }?;
        Some(back + to_client)
    }

    pub(super) fn path(&self, leg: Leg) -> &Path {
        let nb = self.balancer_nodes.len();
        match leg {
            Leg::ToBalancer { subnet, balancer } => &self.to_balancer[subnet * nb + balancer as usize],
            Leg::ToClient { balancer, subnet } => &self.to_client[balancer as usize * self.subnet_nodes.len() + subnet],
            Leg::ToServer { balancer, backend } => &self.to_server[balancer as usize][backend as usize],
            Leg::FromServer { balancer, backend } => &self.from_server[balancer as usize][backend as usize],
        }
    }

    /// One packet crosses `leg`.
    #[inline]
    pub(super) fn cross(&mut self, leg: Leg) -> Crossing {
        let nb = self.balancer_nodes.len();
        let ns = self.subnet_nodes.len();
        let path = match leg {
            Leg::ToBalancer { subnet, balancer } => &self.to_balancer[subnet * nb + balancer as usize],
            Leg::ToClient { balancer, subnet } => &self.to_client[balancer as usize * ns + subnet],
            Leg::ToServer { balancer, backend } => &self.to_server[balancer as usize][backend as usize],
            Leg::FromServer { balancer, backend } => &self.from_server[balancer as usize][backend as usize],
        };
        match path.outcome {
            Outcome::Delivered => {}
            Outcome::Unreachable => return Crossing::FailsFast(Failure::Unreachable),
            Outcome::WrongService => return Crossing::FailsFast(Failure::Misrouted),
            Outcome::Dropped => return Crossing::Lost(Failure::Dropped),
            Outcome::Loop => return Crossing::Lost(Failure::Loop),
        }
        if path.loss > 0.0 && chance(&mut self.rng, path.loss) {
            return Crossing::Lost(Failure::Dropped);
        }
        let mut ns_total = path.const_ns;
        for &l in &path.var_links {
            ns_total += self.net.links[l as usize].latency.sample(&mut self.rng);
        }
        Crossing::Arrives(ns_total)
    }

    /// The constant latency from a client group's subnets to its targets,
    /// when every such path has the same one (None otherwise).
    pub(super) fn fixed_client_latency(&self, client: u32, subnets: usize, targets: &[(u32, u32)]) -> Option<u64> {
        let off = self.subnet_offset[client as usize];
        let mut fixed: Option<u64> = None;
        for s in off..off + subnets.max(1) {
            for &(b, _) in targets {
                let l = self.path(Leg::ToBalancer { subnet: s, balancer: b }).fixed_latency()?;
                if fixed.is_some_and(|f| f != l) {
                    return None;
                }
                fixed = Some(l);
            }
        }
        fixed
    }

    /// Whether every path from the group's subnets to its targets arrives
    /// with exactly `latency` and cannot be lost.
    pub(super) fn forward_is_fixed(&self, client: u32, subnets: usize, targets: &[(u32, u32)], latency: u64) -> bool {
        let off = self.subnet_offset[client as usize];
        (off..off + subnets.max(1)).all(|s| {
            targets.iter().all(|&(b, _)| {
                let p = self.path(Leg::ToBalancer { subnet: s, balancer: b });
                p.fixed_latency() == Some(latency) && p.loss == 0.0
            })
        })
    }

    /// Why `ops` would fail the network's validation, if they would: a path
    /// that delivers now would stop, or would get slower than allowed.
    pub(super) fn violates(&self, ops: &[NetOp]) -> Option<BlockReason> {
        let v = self.net.validation?;
        let mut next = self.net.clone();
        for op in ops {
            apply_op(&mut next, op);
        }
        let pairs: Vec<(NodeId, NodeId)> =
            self.endpoint_pairs().into_iter().filter(|&(a, b)| a != NodeId::MAX && b != NodeId::MAX).collect();
        violation(v, &self.net, &next, &pairs)
    }

    /// Every (source, destination) pair the simulation sends between.
    fn endpoint_pairs(&self) -> Vec<(NodeId, NodeId)> {
        let mut out = Vec::new();
        for &sn in &self.subnet_nodes {
            for &bn in &self.balancer_nodes {
                if sn != NodeId::MAX {
                    out.push((sn, bn));
                    out.push((bn, sn));
                }
            }
        }
        for (b, servers) in self.backends.iter().enumerate() {
            let bn = self.balancer_nodes[b];
            for &s in servers {
                let sn = self.net.server_node[s.index()];
                out.push((bn, sn));
                out.push((sn, bn));
            }
        }
        out
    }

    /// Applies timeline entry `change`'s network operations.
    pub(super) fn apply(&mut self, change: u32, ops: Vec<NetOp>) {
        self.layers.push((change, ops));
        self.rebuild();
    }

    /// Undoes entry `change`.
    pub(super) fn revert(&mut self, change: u32) {
        self.layers.retain(|l| l.0 != change);
        self.rebuild();
    }

    fn rebuild(&mut self) {
        let mut net = self.base.clone();
        for (_, ops) in &self.layers {
            for op in ops {
                apply_op(&mut net, op);
            }
        }
        self.net = net;
        self.resolve_all();
    }
}

/// Why changing the network from `now` to `next` fails validation `v`, if
/// it does: of the `pairs` (source, destination) that deliver in `now`,
/// those that would stop (`keep_reachable`) or whose mean latency would grow
/// by more than `max_added_latency`. The run's check before each network
/// change, and `lbsim check`'s.
pub(crate) fn violation(
    v: crate::model::network::NetValidation,
    now: &Network,
    next: &Network,
    pairs: &[(NodeId, NodeId)],
) -> Option<BlockReason> {
    let mut broken = Vec::new();
    let mut slower = Vec::new();
    for &(a, b) in pairs {
        let before = resolve(now, a, b);
        if before.outcome != Outcome::Delivered {
            continue;
        }
        let after = resolve(next, a, b);
        if after.outcome != Outcome::Delivered {
            if v.keep_reachable {
                broken.push((a, b));
            }
        } else if v.max_added_latency != u64::MAX
            && mean_latency_ns(&after, next) > mean_latency_ns(&before, now) + v.max_added_latency as f64
        {
            slower.push((a, b));
        }
    }
    if !broken.is_empty() {
        return Some(BlockReason::PathsCut { pairs: broken });
    }
    if !slower.is_empty() {
        return Some(BlockReason::PathsSlowed { pairs: slower });
    }
    None
}

/// The mean one-way latency of a resolved path, ns.
pub(crate) fn mean_latency_ns(p: &Path, net: &Network) -> f64 {
    p.const_ns as f64 + p.var_links.iter().map(|&l| net.links[l as usize].latency.mean_secs() * 1e9).sum::<f64>()
}

/// Applies one network operation of a timeline change.
pub(crate) fn apply_op(net: &mut Network, op: &NetOp) {
    match op {
        NetOp::AddRoute { node, route } => net.nodes[*node as usize].routes.push(route.clone()),
        NetOp::RemoveRoute { node, prefix } => net.nodes[*node as usize].routes.retain(|r| r.prefix != *prefix),
        NetOp::ReplaceRoute { node, route } => {
            let routes = &mut net.nodes[*node as usize].routes;
            routes.retain(|r| r.prefix != route.prefix);
            routes.push(route.clone());
        }
        NetOp::SetRoutes { node, routes } => net.nodes[*node as usize].routes.clone_from(routes),
        NetOp::LinkUp { link, up } => net.links[*link as usize].up = *up,
        NetOp::LinkLatency { link, latency } => net.links[*link as usize].latency = latency.clone(),
        NetOp::LinkLoss { link, loss } => net.links[*link as usize].loss = *loss,
        NetOp::PortVlan { link, vlan } => net.links[*link as usize].vlan = *vlan,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_str;
    use ipnet::IpNet;
    use proptest::prelude::any;

    /// Two client subnets behind an edge router, a core router, a balancer
    /// and a server behind a switch.
    const NET: &str = "name: t
duration: 1m
clients:
  users:
    target: lb
    rate: 10/s
    timeout: 2s
    subnets:
      - {name: eu, prefix: 10.1.0.0/16}
      - {name: us, prefix: 10.2.0.0/16}
balancers:
  lb: {address: 10.0.1.10, backends: [web]}
servers:
  web: {address: 10.0.2.11, service: {constant: 1ms}}
  other: {address: 10.0.2.99, service: {constant: 1ms}, foreign: error}
network:
  routers:
    edge:
      routes:
        - {prefix: 10.0.0.0/16, via: core}
        - {prefix: 10.1.0.0/16, via: users.eu}
        - {prefix: 10.2.0.0/16, via: users.us}
        - {prefix: 0.0.0.0/0, action: reject}
    core:
      routes:
        - {prefix: 10.0.1.0/24, via: lb}
        - {prefix: 10.0.2.0/24, via: sw}
        - {prefix: 0.0.0.0/0, via: edge}
  switches:
    sw: {vlans: {web: 20, core: 20}}
  links:
    - {between: [users, edge], latency: {constant: 10ms}}
    - {between: [edge, core], latency: {constant: 2ms}, loss: 1%}
    - {between: [core, lb], latency: {constant: 1ms}}
    - {between: [core, sw]}
    - {between: [sw, web], latency: {normal: {mean: 1ms, stddev: 100us}}}
    - {between: [core, other]}
";

    fn world(extra_routes: &str) -> crate::model::World {
        let text = NET.replace(
            "        - {prefix: 0.0.0.0/0, action: reject}\n",
            &format!("        - {{prefix: 0.0.0.0/0, action: reject}}\n{extra_routes}"),
        );
        load_str("t.yaml", &text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn node(net: &Network, name: &str) -> NodeId {
        net.node_index(name).unwrap()
    }

    fn build(w: crate::model::World) -> super::super::Simulation {
        super::super::Simulation::new(w, Box::new(crate::metrics::NullSink))
    }

    /// The request path reads the constant-leg tables unchecked: a
    /// hand-built network whose shape does not follow the world's must be
    /// refused when the run is built.
    #[test]
    fn a_network_shaped_like_its_world_is_accepted() {
        build(world(""));
    }

    #[test]
    #[should_panic(expected = "one subnet list per client group")]
    fn a_network_missing_a_group_s_subnets_is_refused() {
        let mut w = world("");
        w.network.as_mut().unwrap().subnets.pop();
        build(w);
    }

    #[test]
    #[should_panic(expected = "no more subnet shares than subnets")]
    fn a_network_with_more_shares_than_subnets_is_refused() {
        let mut w = world("");
        w.network.as_mut().unwrap().subnet_shares[0].extend([0.0; 3]);
        build(w);
    }

    #[test]
    #[should_panic(expected = "one node per balancer")]
    fn a_network_with_a_node_too_many_is_refused() {
        let mut w = world("");
        w.network.as_mut().unwrap().balancer_node.push(0);
        build(w);
    }

    #[test]
    fn paths_add_up_latency_and_loss_and_list_their_hops() {
        let w = world("");
        let net = w.network.as_ref().unwrap();
        let p = resolve(net, node(net, "users.eu"), node(net, "lb"));
        assert_eq!(p.outcome, Outcome::Delivered);
        assert_eq!(p.const_ns, 13_000_000);
        assert!((p.loss - 0.01).abs() < 1e-12);
        let names: Vec<&str> = p.hops.iter().map(|&h| net.nodes[h as usize].name.as_str()).collect();
        assert_eq!(names, ["users.eu", "edge", "core", "lb"]);
        // The balancer reaches the server through the switch on VLAN 20; the
        // variable link is sampled per packet.
        let p = resolve(net, node(net, "lb"), node(net, "web"));
        assert_eq!(p.outcome, Outcome::Delivered);
        assert_eq!(p.var_links.len(), 1);
        assert_eq!(p.fixed_latency(), None);
    }

    #[test]
    fn the_longest_prefix_wins_and_metrics_break_ties() {
        let w = world("");
        let mut net = w.network.clone().unwrap();
        let core = node(&net, "core");
        let (eu, lb) = (node(&net, "users.eu"), node(&net, "lb"));
        let route = |p: &str, t: RouteTarget, metric: u32| Route {
            prefix: p.parse().unwrap(),
            target: t,
            metric,
            track: false,
        };
        // core has 10.0.1.0/24 via lb and 0.0.0.0/0 via edge: the /24 wins.
        assert_eq!(resolve(&net, eu, lb).outcome, Outcome::Delivered);
        // A less specific blackhole changes nothing...
        net.nodes[core as usize].routes.push(route("10.0.0.0/8", RouteTarget::Blackhole, 0));
        assert_eq!(resolve(&net, eu, lb).outcome, Outcome::Delivered);
        // ...a more specific one (the balancer's host route) takes over.
        net.nodes[core as usize].routes.push(route("10.0.1.10/32", RouteTarget::Blackhole, 0));
        assert_eq!(resolve(&net, eu, lb).outcome, Outcome::Dropped);
        // Same prefix twice: the lower metric wins, whatever the order.
        net.nodes[core as usize].routes.push(route("10.0.1.10/32", RouteTarget::Via(lb), 5));
        assert_eq!(resolve(&net, eu, lb).outcome, Outcome::Dropped);
        net.nodes[core as usize].routes.push(route("10.0.1.10/32", RouteTarget::Reject, 1));
        net.nodes[core as usize]
            .routes
            .retain(|r| !(r.target == RouteTarget::Blackhole && r.prefix.prefix_len() == 32));
        assert_eq!(resolve(&net, eu, lb).outcome, Outcome::Unreachable);
    }

    proptest::proptest! {
        /// Against a brute-force reading of the rule: of the entries whose
        /// prefix contains the address, the longest prefix, then the lowest
        /// metric, then the first listed; none: refused.
        #[test]
        fn forwarding_is_longest_prefix_match(
            entries in proptest::collection::vec((any::<u32>(), 0u8..=32, 0u8..3, 0u32..3), 0..24),
            probes in proptest::collection::vec(any::<u32>(), 1..40),
        ) {
            let w = world("");
            let mut net = w.network.clone().unwrap();
            let core = node(&net, "core");
            let hops = [node(&net, "edge"), node(&net, "lb")];
            // Addresses concentrated in 10.0.0.0/14 so that prefixes overlap.
            let addr = |x: u32| std::net::Ipv4Addr::from(0x0A00_0000 | (x & 0x0003_FFFF));
            let routes: Vec<Route> = entries
                .iter()
                .map(|&(x, len, kind, metric)| Route {
                    prefix: IpNet::from(ipnet::Ipv4Net::new(addr(x), len).unwrap().trunc()),
                    target: match kind {
                        0 => RouteTarget::Blackhole,
                        1 => RouteTarget::Reject,
                        _ => RouteTarget::Via(hops[(x & 1) as usize]),
                    },
                    metric,
                    track: false,
                })
                .collect();
            net.nodes[core as usize].routes = routes.clone();
            for x in probes {
                let a = IpAddr::V4(addr(x));
                let expected = routes
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.prefix.contains(&a))
                    .min_by_key(|(i, r)| (std::cmp::Reverse(r.prefix.prefix_len()), r.metric, *i))
                    .map(|(_, r)| r.target);
                let got = match route_forward(&net, core, a, NodeId::MAX, 0) {
                    Next::Stop(Outcome::Dropped) => Some(RouteTarget::Blackhole),
                    Next::Stop(Outcome::Unreachable) => None,
                    Next::Stop(o) => panic!("{o:?}"),
                    Next::Link(l) => Some(RouteTarget::Via(net.links[l as usize].other(core))),
                };
                // A reject entry and no entry both refuse.
                let expected = expected.filter(|t| *t != RouteTarget::Reject);
                proptest::prop_assert_eq!(got, expected, "address {}", a);
            }
        }
    }

    #[test]
    fn blackhole_reject_loop_and_wrong_host_end_differently() {
        let w = world("");
        let mut net = w.network.clone().unwrap();
        let (edge, core) = (node(&net, "edge"), node(&net, "core"));
        let route = |p: &str, t: RouteTarget| Route { prefix: p.parse().unwrap(), target: t, metric: 0, track: false };
        // Reject: the default route on edge refuses traffic for unknown prefixes.
        net.nodes[core as usize]
            .routes
            .retain(|r| r.prefix.prefix_len() != 24 || r.prefix.to_string() != "10.0.1.0/24");
        net.nodes[edge as usize].routes.retain(|r| r.prefix.to_string() != "10.0.0.0/16");
        assert_eq!(resolve(&net, node(&net, "users.eu"), node(&net, "lb")).outcome, Outcome::Unreachable);
        // Loop: edge sends 10.0/16 to core, core sends it back (its default).
        net.nodes[edge as usize].routes.insert(0, route("10.0.0.0/16", RouteTarget::Via(core)));
        assert_eq!(resolve(&net, node(&net, "users.eu"), node(&net, "lb")).outcome, Outcome::Loop);
        // Blackhole.
        net.nodes[core as usize].routes.insert(0, route("10.0.1.0/24", RouteTarget::Blackhole));
        assert_eq!(resolve(&net, node(&net, "users.eu"), node(&net, "lb")).outcome, Outcome::Dropped);
        // Sent to a host that is not the destination: it answers with an
        // error (`foreign: error`), or refuses, or ignores it.
        let mut net = w.network.clone().unwrap();
        let other = node(&net, "other");
        net.nodes[core as usize].routes.insert(0, route("10.0.1.0/24", RouteTarget::Via(other)));
        assert_eq!(resolve(&net, node(&net, "users.eu"), node(&net, "lb")).outcome, Outcome::WrongService);
        net.nodes[other as usize].foreign = Foreign::Refuse;
        assert_eq!(resolve(&net, node(&net, "users.eu"), node(&net, "lb")).outcome, Outcome::Unreachable);
        net.nodes[other as usize].foreign = Foreign::Drop;
        assert_eq!(resolve(&net, node(&net, "users.eu"), node(&net, "lb")).outcome, Outcome::Dropped);
        // A switch with no owner of the address on the ingress VLAN and no
        // other router there drops it.
        let mut net = w.network.clone().unwrap();
        let sw = node(&net, "sw");
        net.nodes[core as usize].routes.insert(0, route("10.0.1.0/24", RouteTarget::Via(sw)));
        assert_eq!(resolve(&net, node(&net, "users.eu"), node(&net, "lb")).outcome, Outcome::Dropped);
    }

    #[test]
    fn a_switch_port_on_the_wrong_vlan_cuts_the_connection() {
        let w = world("");
        let mut net = w.network.clone().unwrap();
        let (sw, web) = (node(&net, "sw"), node(&net, "web"));
        let l = net.link_between(sw, web).unwrap();
        assert_eq!(resolve(&net, node(&net, "lb"), web).outcome, Outcome::Delivered);
        net.links[l as usize].vlan = 30;
        assert_eq!(resolve(&net, node(&net, "lb"), web).outcome, Outcome::Dropped);
        net.links[l as usize].vlan = 20;
        net.links[l as usize].up = false;
        assert_eq!(resolve(&net, node(&net, "lb"), web).outcome, Outcome::Dropped);
    }

    #[test]
    fn a_tracked_route_gives_way_to_a_backup_when_its_path_breaks() {
        let w = world("");
        let mut net = w.network.clone().unwrap();
        let (edge, core) = (node(&net, "edge"), node(&net, "core"));
        // A second path edge -> core2 -> lb as a backup (metric 10).
        let core2 = net.nodes.len() as NodeId;
        net.nodes.push(crate::model::network::Node {
            name: "core2".into(),
            kind: NodeKind::Router(9),
            address: None,
            links: Vec::new(),
            routes: vec![Route {
                prefix: "10.0.1.0/24".parse().unwrap(),
                target: RouteTarget::Via(node(&net, "lb")),
                metric: 0,
                track: false,
            }],
            foreign: Foreign::Drop,
        });
        for (a, b) in [(edge, core2), (core2, node(&net, "lb"))] {
            let id = net.links.len() as LinkId;
            net.links.push(crate::model::network::Link {
                a,
                b,
                latency: crate::dist::Dist::constant(5_000_000),
                loss: 0.0,
                up: true,
                vlan: 1,
            });
            net.nodes[a as usize].links.push(id);
            net.nodes[b as usize].links.push(id);
        }
        let primary =
            net.nodes[edge as usize].routes.iter().position(|r| r.prefix.to_string() == "10.0.0.0/16").unwrap();
        net.nodes[edge as usize].routes[primary].track = true;
        net.nodes[edge as usize].routes.push(Route {
            prefix: "10.0.0.0/16".parse().unwrap(),
            target: RouteTarget::Via(core2),
            metric: 10,
            track: false,
        });
        assert_eq!(resolve(&net, node(&net, "users.eu"), node(&net, "lb")).const_ns, 13_000_000);
        // Break core -> lb: the tracked primary no longer delivers; the backup carries it.
        let l = net.link_between(core, node(&net, "lb")).unwrap();
        net.links[l as usize].up = false;
        let p = resolve(&net, node(&net, "users.eu"), node(&net, "lb"));
        assert_eq!(p.outcome, Outcome::Delivered);
        assert_eq!(p.const_ns, 20_000_000);
    }

    #[test]
    fn a_route_may_not_split_a_client_subnet() {
        let err = load_str("t.yaml", &NET.replace("        - {prefix: 10.2.0.0/16, via: users.us}\n", "        - {prefix: 10.2.0.0/16, via: users.us}\n        - {prefix: 10.2.128.0/17, action: blackhole}\n")).unwrap_err().to_string();
        assert!(err.contains("splits client subnet 10.2.0.0/16"), "{err}");
    }
}
