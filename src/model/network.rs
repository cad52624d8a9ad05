//! The compiled network: nodes (client subnets, balancers, servers,
//! routers, switches) with addresses and routing tables, and links with
//! latency, loss and state.
//!
//! Client subnets are the granularity of routing: a route may cover several
//! subnets but never split one (declare the halves as two subnets instead),
//! so a route that breaks a prefix affects exactly the users behind it.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use crate::scenario::Spanned;
use ipnet::IpNet;

use super::{BalancerDef, ClientDef, Ctx, ServerDef, ServerGroup, ServerId, did_you_mean};
use crate::dist::Dist;
use crate::error::Error;
use crate::scenario::names::{NameIndex, ResolveError};
use crate::scenario::{self as spec, NetworkSpec, RouteAction, RouteSpec};

pub type NodeId = u32;
pub type LinkId = u32;

/// What a server or balancer does with traffic addressed to someone else.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Foreign {
    /// Refuse the connection (a reset): the sender fails fast.
    #[default]
    Refuse,
    /// Answer with an error: the wrong service responding.
    Error,
    /// Ignore it: the sender waits until its timeout.
    Drop,
}

impl From<spec::Foreign> for Foreign {
    fn from(f: spec::Foreign) -> Foreign {
        match f {
            spec::Foreign::Refuse => Foreign::Refuse,
            spec::Foreign::Error => Foreign::Error,
            spec::Foreign::Drop => Foreign::Drop,
        }
    }
}

/// What a node is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Subnet `subnet` of client group `client`.
    Subnet {
        client: u32,
        subnet: u32,
    },
    Balancer(u32),
    Server(ServerId),
    Router(u32),
    Switch(u32),
}

impl NodeKind {
    /// Endpoints send and receive traffic; they do not forward others'.
    pub fn is_endpoint(self) -> bool {
        matches!(self, NodeKind::Subnet { .. } | NodeKind::Balancer(_) | NodeKind::Server(_))
    }
}

/// Where a route sends matching traffic.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    Via(NodeId),
    Blackhole,
    Reject,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub prefix: IpNet,
    pub target: RouteTarget,
    pub metric: u32,
    pub track: bool,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    /// A host address (/32, /128) or a client subnet.
    pub address: Option<IpNet>,
    pub links: Vec<LinkId>,
    pub routes: Vec<Route>,
    pub foreign: Foreign,
}

#[derive(Clone, Debug)]
pub struct Link {
    pub a: NodeId,
    pub b: NodeId,
    pub latency: Dist,
    pub loss: f64,
    pub up: bool,
    /// For a switch on either side: the VLAN of its port facing the other end.
    pub vlan: u32,
}

impl Link {
    pub fn other(&self, n: NodeId) -> NodeId {
        if self.a == n { self.b } else { self.a }
    }
}

/// The whole network.
#[derive(Clone, Debug, Default)]
pub struct Network {
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    /// Per client group: its subnet nodes, and the share of users in each.
    pub subnets: Vec<Vec<NodeId>>,
    pub subnet_shares: Vec<Vec<f64>>,
    pub balancer_node: Vec<NodeId>,
    pub server_node: Vec<NodeId>,
    /// Checks run before each network change from the timeline.
    pub validation: Option<NetValidation>,
}

/// Compiled `network.validation`.
#[derive(Clone, Copy, Debug)]
pub struct NetValidation {
    pub keep_reachable: bool,
    /// ns; u64::MAX when unchecked.
    pub max_added_latency: u64,
}

impl Network {
    pub fn node_index(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name).map(|i| i as NodeId)
    }

    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// The link between two nodes, if any (a look through the links of
    /// whichever has fewer: a switch may face a million servers).
    pub fn link_between(&self, a: NodeId, b: NodeId) -> Option<LinkId> {
        let (a, b) =
            if self.nodes[a as usize].links.len() <= self.nodes[b as usize].links.len() { (a, b) } else { (b, a) };
        self.nodes[a as usize].links.iter().copied().find(|&l| self.links[l as usize].other(a) == b)
    }

    /// Whether the node takes part in the network (has a link).
    pub fn attached(&self, n: NodeId) -> bool {
        !self.nodes[n as usize].links.is_empty()
    }

    /// Which of client group `client`'s subnets user `user` sits in (an
    /// index into `subnets[client]`): a stable hash of the user against the
    /// subnets' shares.
    pub fn user_subnet(&self, client: u32, user: u32) -> usize {
        let shares = &self.subnet_shares[client as usize];
        if shares.len() <= 1 {
            return 0;
        }
        let h = crate::rng::mix64(u64::from(user) ^ (u64::from(client) << 32) ^ 0x5eed);
        let u = (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let mut acc = 0.0;
        for (i, s) in shares.iter().enumerate() {
            acc += s;
            if u < acc {
                return i;
            }
        }
        shares.len() - 1
    }
}

fn parse_net(cx: &Ctx<'_>, text: &Spanned<String>) -> Result<IpNet, Error> {
    let t = text.value.trim();
    let net: IpNet = t
        .parse()
        .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| cx.err(text, format!("`{t}` is not an IP prefix: expected one like 10.1.0.0/16"), None))?;
    if net.trunc() != net {
        return Err(cx.err(text, format!("`{t}` has host bits set: did you mean {}?", net.trunc()), None));
    }
    Ok(net)
}

fn parse_addr(cx: &Ctx<'_>, text: &Spanned<String>) -> Result<IpAddr, Error> {
    text.value
        .trim()
        .parse()
        .map_err(|_| cx.err(text, format!("`{}` is not an IP address: expected one like 10.0.1.10", text.value), None))
}

/// `base` + `i` (for a server range sharing one starting address).
fn offset_addr(base: IpAddr, i: u32) -> Option<IpAddr> {
    match base {
        IpAddr::V4(a) => u32::from(a).checked_add(i).map(|v| IpAddr::V4(v.into())),
        IpAddr::V6(a) => u128::from(a).checked_add(u128::from(i)).map(|v| IpAddr::V6(v.into())),
    }
}

/// Names of the client subnets in global subnet order (a group without
/// subnets counts as one, named after the group); empty without a network.
pub fn subnet_names(clients: &[ClientDef], net: Option<&Network>) -> Vec<String> {
    let Some(net) = net else { return Vec::new() };
    let mut out = Vec::new();
    for (c, def) in clients.iter().enumerate() {
        if net.subnets[c].is_empty() {
            out.push(def.name.clone());
        } else {
            out.extend(net.subnets[c].iter().map(|&n| net.nodes[n as usize].name.clone()));
        }
    }
    out
}

/// Addresses from the servers' and balancers' specs, counting up over each
/// range or counted group from its `address`.
pub(super) struct EndpointAddrs {
    pub servers: Vec<Option<IpAddr>>,
    pub balancers: Vec<Option<IpAddr>>,
}

pub(super) fn endpoint_addresses(
    cx: &Ctx<'_>,
    s: &crate::scenario::Scenario,
    servers: &[ServerDef],
    groups: &[ServerGroup],
) -> Result<EndpointAddrs, Error> {
    let mut out = vec![None; servers.len()];
    for ((_, spec), group) in s.servers.iter().zip(groups) {
        if let Some(a) = &spec.address {
            let base = parse_addr(cx, a)?;
            for (k, id) in group.servers.clone().enumerate() {
                out[id as usize] = Some(
                    offset_addr(base, k as u32).ok_or_else(|| cx.err(a, "the address range runs off the end", None))?,
                );
            }
        }
    }
    let mut balancers = Vec::new();
    for (_, spec) in s.balancers.iter() {
        balancers.push(spec.address.as_ref().map(|a| parse_addr(cx, a)).transpose()?);
    }
    Ok(EndpointAddrs { servers: out, balancers })
}

/// Resolves a node reference (name, pattern or glob) to node ids.
fn resolve_nodes(cx: &Ctx<'_>, at: &Spanned<String>, names: &NameIndex<'_>) -> Result<Vec<NodeId>, Error> {
    let found = names.resolve(&at.value, &cx.limits);
    found.map(|v| v.into_iter().map(|i| i as NodeId).collect()).map_err(|e| match e {
        ResolveError::Pattern(m, help) => cx.err(at, m, help),
        ResolveError::Unknown(n) => cx.err(
            at,
            format!("unknown network node `{n}`"),
            did_you_mean(&n, names.names().iter().copied()).or_else(|| {
                Some("nodes are client subnets (group.subnet), balancers, servers, routers and switches".into())
            }),
        ),
        ResolveError::NoMatch(p) => cx.err(at, format!("no network node matches `{p}`"), None),
    })
}

/// Compiles one routing entry for `node`.
pub(super) fn compile_route(
    cx: &Ctx<'_>,
    net: &Network,
    nodes: &NameIndex<'_>,
    node: NodeId,
    r: &RouteSpec,
) -> Result<Route, Error> {
    let prefix = parse_net(cx, &r.prefix)?;
    let target = match (&r.via, r.action) {
        (Some(via), None) => {
            let n = nodes.get(&via.value).map(|n| n as NodeId).ok_or_else(|| {
                cx.err(
                    via,
                    format!("unknown next hop `{}`", via.value),
                    did_you_mean(&via.value, nodes.names().iter().copied()),
                )
            })?;
            if net.link_between(node, n).is_none() {
                return Err(cx.err(
                    via,
                    format!(
                        "`{}` is not a neighbour of `{}`: a next hop needs a link",
                        via.value, net.nodes[node as usize].name
                    ),
                    None,
                ));
            }
            RouteTarget::Via(n)
        }
        (None, Some(RouteAction::Blackhole)) => RouteTarget::Blackhole,
        (None, Some(RouteAction::Reject)) => RouteTarget::Reject,
        _ => {
            return Err(cx.err(&r.prefix, "a route has either `via: <neighbour>` or `action: blackhole|reject`", None));
        }
    };
    check_split(cx, net, &r.prefix, prefix)?;
    Ok(Route { prefix, target, metric: r.metric, track: r.track })
}

/// A route may cover client subnets but not split one.
fn check_split(cx: &Ctx<'_>, net: &Network, at: &Spanned<String>, prefix: IpNet) -> Result<(), Error> {
    for n in net.subnets.iter().flatten().map(|&n| &net.nodes[n as usize]) {
        if let (NodeKind::Subnet { .. }, Some(sub)) = (n.kind, n.address)
            && prefix.prefix_len() > sub.prefix_len()
            && sub.contains(&prefix)
        {
            return Err(cx.err(
                at,
                format!("route {prefix} splits client subnet {sub} (`{}`): routes work on whole subnets", n.name),
                Some(format!("declare the parts of {sub} as separate subnets of the group")),
            ));
        }
    }
    Ok(())
}

/// Builds the network from the scenario.
pub(super) fn compile(
    cx: &Ctx<'_>,
    s: &crate::scenario::Scenario,
    spec: Option<&NetworkSpec>,
    balancers: &[BalancerDef],
    servers: &[ServerDef],
    groups: &[ServerGroup],
    addrs: &EndpointAddrs,
) -> Result<Option<Network>, Error> {
    let Some(spec) = spec else {
        if let Some((key, _)) = s.clients.iter().find(|(_, c)| !c.subnets.is_empty()) {
            return Err(cx.err(key, "client subnets need a `network:` section that links them", None));
        }
        return Ok(None);
    };
    let mut net = Network {
        validation: spec.validation.as_ref().map(|v| NetValidation {
            keep_reachable: v.keep_reachable,
            max_added_latency: v.max_added_latency.as_ref().map_or(u64::MAX, |d| d.value.nanos()),
        }),
        ..Network::default()
    };
    let server_specs: Vec<&crate::scenario::ServerSpec> =
        s.servers.iter().zip(groups).flat_map(|((_, sp), g)| std::iter::repeat_n(sp, g.servers.len())).collect();
    // Nodes: client subnets first, then balancers, servers, routers, switches.
    add_subnet_nodes(cx, s, &mut net)?;
    add_endpoint_nodes(&mut net, balancers, servers, addrs, &server_specs);
    add_router_and_switch_nodes(cx, spec, &mut net)?;
    check_overlapping_addresses(cx, s, &net)?;
    let names_list = net.node_names();
    let names = NameIndex::new(names_list.iter().map(String::as_str));
    compile_links(cx, s, spec, &mut net, &names)?;
    apply_vlans(cx, spec, &mut net, &names)?;
    compile_routing_tables(cx, s, spec, &mut net, &names, &server_specs)?;
    check_endpoints(cx, s, groups, &net)?;
    Ok(Some(net))
}

/// One node per client subnet, with the share of the group's traffic it sends.
fn add_subnet_nodes(cx: &Ctx<'_>, s: &crate::scenario::Scenario, net: &mut Network) -> Result<(), Error> {
    for (ci, (key, c)) in s.clients.iter().enumerate() {
        let mut ids = Vec::new();
        let mut shares = Vec::new();
        let given: Vec<Option<f64>> =
            c.subnets.iter().map(|sn| sn.share.as_ref().map(|p| p.value.fraction())).collect();
        let declared: f64 = given.iter().flatten().sum();
        let unset = given.iter().filter(|g| g.is_none()).count();
        if declared > 1.0 + 1e-9 {
            return Err(cx.err(key, "the subnets' shares add up to more than 100%", None));
        }
        for (si, sn) in c.subnets.iter().enumerate() {
            let prefix = parse_net(cx, &sn.prefix)?;
            let sub_name = sn.name.as_ref().map_or_else(|| si.to_string(), |n| n.value.clone());
            let share = given[si].unwrap_or((1.0 - declared) / unset.max(1) as f64);
            ids.push(net.nodes.len() as NodeId);
            shares.push(share);
            net.nodes.push(Node {
                name: format!("{}.{sub_name}", key.value),
                kind: NodeKind::Subnet { client: ci as u32, subnet: si as u32 },
                address: Some(prefix),
                links: Vec::new(),
                routes: Vec::new(),
                foreign: Foreign::Drop,
            });
        }
        if !c.subnets.is_empty() && (shares.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
            return Err(cx.err(key, "the subnets' shares must add up to 100%", None));
        }
        net.subnets.push(ids);
        net.subnet_shares.push(shares);
    }
    Ok(())
}

/// One node per balancer and per server, at their addresses.
fn add_endpoint_nodes(
    net: &mut Network,
    balancers: &[BalancerDef],
    servers: &[ServerDef],
    addrs: &EndpointAddrs,
    server_specs: &[&crate::scenario::ServerSpec],
) {
    for (bi, b) in balancers.iter().enumerate() {
        net.balancer_node.push(net.nodes.len() as NodeId);
        net.nodes.push(Node {
            name: b.name.clone(),
            kind: NodeKind::Balancer(bi as u32),
            address: addrs.balancers[bi].map(IpNet::from),
            links: Vec::new(),
            routes: Vec::new(),
            foreign: Foreign::Refuse,
        });
    }
    for (si, sv) in servers.iter().enumerate() {
        net.server_node.push(net.nodes.len() as NodeId);
        net.nodes.push(Node {
            name: sv.name.clone(),
            kind: NodeKind::Server(ServerId::from_index(si)),
            address: addrs.servers[si].map(IpNet::from),
            links: Vec::new(),
            routes: Vec::new(),
            foreign: server_specs[si].foreign.into(),
        });
    }
}

/// One node per router and per switch, each name new.
fn add_router_and_switch_nodes<'a>(cx: &Ctx<'_>, spec: &'a NetworkSpec, net: &mut Network) -> Result<(), Error> {
    let taken = NameIndex::new(net.nodes.iter().map(|n| n.name.as_str()));
    let mut added: HashSet<&str> = HashSet::new();
    let mut nodes = Vec::new();
    let mut check = |key: &'a Spanned<String>| {
        if taken.get(&key.value).is_some() || !added.insert(key.value.as_str()) {
            return Err(cx.err(key, format!("`{}` is already the name of another node", key.value), None));
        }
        Ok(())
    };
    for (ri, (key, r)) in spec.routers.iter().enumerate() {
        check(key)?;
        nodes.push(Node {
            name: key.value.clone(),
            kind: NodeKind::Router(ri as u32),
            address: r.address.as_ref().map(|a| parse_addr(cx, a)).transpose()?.map(IpNet::from),
            links: Vec::new(),
            routes: Vec::new(),
            foreign: Foreign::Drop,
        });
    }
    for (wi, (key, _)) in spec.switches.iter().enumerate() {
        check(key)?;
        nodes.push(Node {
            name: key.value.clone(),
            kind: NodeKind::Switch(wi as u32),
            address: None,
            links: Vec::new(),
            routes: Vec::new(),
            foreign: Foreign::Drop,
        });
    }
    drop(taken);
    net.nodes.extend(nodes);
    Ok(())
}

/// Duplicate addresses would make delivery ambiguous. Every address is a
/// range; kept in a map by start, the ranges seen so far do not overlap (the
/// first overlap stops the check), so a new one can only overlap those
/// starting up to its end, the latest-starting first.
fn check_overlapping_addresses(cx: &Ctx<'_>, s: &crate::scenario::Scenario, net: &Network) -> Result<(), Error> {
    let range = |a: IpNet| match a {
        IpNet::V4(n) => (4u8, u128::from(u32::from(n.network())), u128::from(u32::from(n.broadcast()))),
        IpNet::V6(n) => (6u8, u128::from(n.network()), u128::from(n.broadcast())),
    };
    let mut seen: BTreeMap<(u8, u128), (u128, usize)> = BTreeMap::new();
    for (i, n) in net.nodes.iter().enumerate() {
        let Some(a) = n.address else { continue };
        let (family, start, end) = range(a);
        let overlapping = seen.range((family, 0)..=(family, end)).rev().take_while(|(_, (e, _))| *e >= start);
        // The first declared of the nodes it overlaps, as a scan in file order would find.
        if let Some(&(_, j)) = overlapping.map(|(_, v)| v).min_by_key(|(_, j)| *j) {
            let other = &net.nodes[j];
            let at = s.name.as_ref().map(|n| n.referenced).unwrap_or(serde_saphyr::Location::UNKNOWN);
            return Err(cx.src.error_at_location(
                &at,
                format!(
                    "`{}` ({a}) overlaps the address of `{}` ({})",
                    n.name,
                    other.name,
                    other.address.expect("has one")
                ),
                None,
            ));
        }
        seen.insert((family, start), (end, i));
    }
    Ok(())
}

/// The `links:`. A name on either side may be a group (all its subnets), a pattern or a glob.
fn compile_links(
    cx: &Ctx<'_>,
    s: &crate::scenario::Scenario,
    spec: &NetworkSpec,
    net: &mut Network,
    names_list: &NameIndex<'_>,
) -> Result<(), Error> {
    let base_dir = cx.src.base_dir();
    let groups = NameIndex::new(s.clients.iter().map(|(k, _)| k.value.as_str()));
    let group_subnets = |name: &str| -> Option<Vec<NodeId>> { groups.get(name).map(|ci| net.subnets[ci].clone()) };
    for l in &spec.links {
        if l.between.value.len() != 2 {
            return Err(cx.err(&l.between, "a link is `between: [a, b]`", None));
        }
        let side = |at: &Spanned<String>| -> Result<Vec<NodeId>, Error> {
            match group_subnets(&at.value) {
                Some(v) if !v.is_empty() => Ok(v),
                Some(_) => Err(cx.err(at, format!("client group `{}` has no `subnets:` to link", at.value), None)),
                None => resolve_nodes(cx, at, names_list),
            }
        };
        let a_side = side(&l.between.value[0])?;
        let b_side = side(&l.between.value[1])?;
        if a_side.len() > 1 && b_side.len() > 1 {
            return Err(cx.err(&l.between, "at most one side of a link may name several nodes", None));
        }
        let latency = match &l.latency {
            Some(d) => cx.dist(&d.value, &base_dir).map_err(|m| cx.err(d, m, None))?,
            None => Dist::constant(0),
        };
        let loss = l.loss.as_ref().map_or(0.0, |p| p.value.fraction());
        for &a in &a_side {
            for &b in &b_side {
                if a == b {
                    return Err(cx.err(&l.between, "a link needs two different nodes", None));
                }
                if net.link_between(a, b).is_some() {
                    // Often a glob that also matches a balancer or router.
                    let help = l.between.value.iter().position(|p| p.value.contains(['*', '{'])).map(|i| {
                        let matched = if i == 0 { a } else { b };
                        format!(
                            "`{}` matches every node whose name fits, `{}` included; \
                             a range such as `web-{{01..04}}` names only the servers",
                            l.between.value[i].value, net.nodes[matched as usize].name
                        )
                    });
                    return Err(cx.err(
                        &l.between,
                        format!(
                            "`{}` and `{}` are linked twice",
                            net.nodes[a as usize].name, net.nodes[b as usize].name
                        ),
                        help,
                    ));
                }
                let id = net.links.len() as LinkId;
                net.links.push(Link { a, b, latency: latency.clone(), loss, up: !l.down, vlan: 1 });
                net.nodes[a as usize].links.push(id);
                net.nodes[b as usize].links.push(id);
            }
        }
    }
    Ok(())
}

/// Switch port VLANs.
fn apply_vlans(cx: &Ctx<'_>, spec: &NetworkSpec, net: &mut Network, names_list: &NameIndex<'_>) -> Result<(), Error> {
    for (key, sw) in spec.switches.iter() {
        let sid = names_list.get(&key.value).expect("added above") as NodeId;
        for (pkey, &vlan) in sw.vlans.iter() {
            for n in resolve_nodes(cx, pkey, names_list)? {
                let link = net.link_between(sid, n).ok_or_else(|| {
                    cx.err(
                        pkey,
                        format!("`{}` has no link to switch `{}`", net.nodes[n as usize].name, key.value),
                        None,
                    )
                })?;
                net.links[link as usize].vlan = vlan;
            }
        }
    }
    Ok(())
}

/// Routing tables: routers, balancers and servers.
fn compile_routing_tables(
    cx: &Ctx<'_>,
    s: &crate::scenario::Scenario,
    spec: &NetworkSpec,
    net: &mut Network,
    names: &NameIndex<'_>,
    server_specs: &[&crate::scenario::ServerSpec],
) -> Result<(), Error> {
    let mut tables: Vec<(NodeId, &Vec<RouteSpec>)> = Vec::new();
    for (key, r) in spec.routers.iter() {
        tables.push((names.get(&key.value).expect("added above") as NodeId, &r.routes));
    }
    for (bi, (_, b)) in s.balancers.iter().enumerate() {
        tables.push((net.balancer_node[bi], &b.routes));
    }
    for (si, sp) in server_specs.iter().enumerate() {
        tables.push((net.server_node[si], &sp.routes));
    }
    for (node, routes) in tables {
        let mut compiled = Vec::new();
        for r in routes {
            compiled.push(compile_route(cx, net, names, node, r)?);
        }
        net.nodes[node as usize].routes = compiled;
    }
    Ok(())
}

/// A host with several links needs routes saying which way to send, and an
/// attached endpoint needs an address, so that routes can reach it.
fn check_endpoints(
    cx: &Ctx<'_>,
    s: &crate::scenario::Scenario,
    groups: &[ServerGroup],
    net: &Network,
) -> Result<(), Error> {
    for n in &net.nodes {
        if n.kind.is_endpoint() && n.links.len() > 1 && n.routes.is_empty() {
            let at = endpoint_location(s, groups, n.kind);
            return Err(cx.src.error_at_location(
                &at,
                format!("`{}` has {} links but no `routes:` saying which way to send", n.name, n.links.len()),
                Some("e.g. `routes: [{prefix: 10.0.2.0/24, via: sw}, {prefix: 0.0.0.0/0, via: core}]`".into()),
            ));
        }
    }
    for n in &net.nodes {
        if n.kind.is_endpoint() && !n.links.is_empty() && n.address.is_none() {
            let at = endpoint_location(s, groups, n.kind);
            return Err(cx.src.error_at_location(
                &at,
                format!("`{}` has a link but no `address`: give it one so traffic can be routed to it", n.name),
                None,
            ));
        }
    }
    Ok(())
}

/// Where a balancer or server was declared, for errors about its node.
fn endpoint_location(s: &crate::scenario::Scenario, groups: &[ServerGroup], kind: NodeKind) -> serde_saphyr::Location {
    match kind {
        NodeKind::Balancer(b) => s.balancers.0[b as usize].0.referenced,
        NodeKind::Server(id) => server_key_location(s, groups, id),
        _ => serde_saphyr::Location::UNKNOWN,
    }
}

/// Where server `id` (possibly one of a range or counted group) was declared.
fn server_key_location(s: &crate::scenario::Scenario, groups: &[ServerGroup], id: ServerId) -> serde_saphyr::Location {
    s.servers
        .iter()
        .zip(groups)
        .find(|(_, g)| g.contains(id))
        .map_or(serde_saphyr::Location::UNKNOWN, |((k, _), _)| k.referenced)
}
