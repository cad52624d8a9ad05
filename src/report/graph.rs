//! `lbsim graph`: the topology as Graphviz DOT, built as a petgraph graph
//! and rendered with petgraph's DOT writer. Client subnets, balancers,
//! servers, routers and switches are nodes; links are solid edges (latency,
//! loss, VLAN, down); each routing-table next hop is a dashed arrow labelled
//! with its prefix; blackhole and reject entries are listed on their node.

use petgraph::dot::{Config, Dot};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::model::World;
use crate::model::network::{NodeKind, RouteTarget};

#[derive(Clone, Debug)]
struct Vertex {
    label: String,
    shape: &'static str,
    color: &'static str,
}

#[derive(Clone, Debug)]
enum Edge {
    /// A client group sends to a balancer (no network between them).
    Sends,
    /// A balancer's backend, with its weight.
    Backend(u32),
    /// A physical link.
    Link { label: String, down: bool },
    /// A routing-table entry pointing at a next hop.
    NextHop(String),
}

fn round_sig3(x: f64) -> u64 {
    if x < 1.0 {
        return x.round() as u64;
    }
    let scale = 10f64.powi(x.log10().floor() as i32 - 2);
    ((x / scale).round() * scale).round() as u64
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Builds the DOT text for a world.
pub fn dot(world: &World) -> String {
    let mut g: DiGraph<Vertex, Edge> = DiGraph::new();
    let mut balancer_idx = Vec::new();
    let mut server_idx = Vec::new();
    for b in &world.balancers {
        let addr = world
            .network
            .as_ref()
            .and_then(|n| n.nodes[n.balancer_node[balancer_idx.len()] as usize].address)
            .map(|a| format!("\\n{}", a.addr()))
            .unwrap_or_default();
        balancer_idx.push(g.add_node(Vertex {
            label: format!("{}{addr}\\n{}", b.name, b.algorithm.name()),
            shape: "box",
            color: "#1f77b4",
        }));
    }
    for s in &world.servers {
        let addr = world
            .network
            .as_ref()
            .and_then(|n| n.nodes[n.server_node[server_idx.len()] as usize].address)
            .map(|a| format!("\\n{}", a.addr()))
            .unwrap_or_default();
        server_idx.push(g.add_node(Vertex {
            label: format!("{}{addr}\\n{} workers", s.name, s.workers),
            shape: "box3d",
            color: "#2ca02c",
        }));
    }
    for (bi, b) in world.balancers.iter().enumerate() {
        for be in b.backends.iter().filter(|be| be.member) {
            g.add_edge(balancer_idx[bi], server_idx[be.server.index()], Edge::Backend(be.weight));
        }
    }
    match &world.network {
        None => {
            for c in &world.clients {
                let n = g.add_node(Vertex { label: c.name.clone(), shape: "ellipse", color: "#7f7f7f" });
                for (b, _) in &c.targets {
                    g.add_edge(n, balancer_idx[*b as usize], Edge::Sends);
                }
            }
        }
        Some(net) => {
            // One graph node per network node; endpoints reuse the ones above.
            let mut idx: Vec<NodeIndex> = Vec::with_capacity(net.nodes.len());
            for n in &net.nodes {
                // Entries with no next hop are listed on the node itself.
                let special: String = n
                    .routes
                    .iter()
                    .filter_map(|r| match r.target {
                        RouteTarget::Blackhole => Some(format!("\\n{} blackhole", r.prefix)),
                        RouteTarget::Reject => Some(format!("\\n{} reject", r.prefix)),
                        RouteTarget::Via(_) => None,
                    })
                    .collect();
                let i = match n.kind {
                    NodeKind::Balancer(b) => balancer_idx[b as usize],
                    NodeKind::Server(s) => server_idx[s.index()],
                    NodeKind::Subnet { .. } => g.add_node(Vertex {
                        label: format!("{}\\n{}", n.name, n.address.map(|a| a.to_string()).unwrap_or_default()),
                        shape: "ellipse",
                        color: "#7f7f7f",
                    }),
                    NodeKind::Router(_) => g.add_node(Vertex {
                        label: format!(
                            "{}{}",
                            n.name,
                            n.address.map(|a| format!("\\n{}", a.addr())).unwrap_or_default()
                        ),
                        shape: "diamond",
                        color: "#d62728",
                    }),
                    NodeKind::Switch(_) => {
                        g.add_node(Vertex { label: n.name.clone(), shape: "hexagon", color: "#9467bd" })
                    }
                };
                g[i].label.push_str(&special);
                idx.push(i);
            }
            for l in &net.links {
                let mut parts = Vec::new();
                let constant = l.latency.is_constant();
                // A sampled latency's mean, to three significant digits.
                let mean_ns = constant.unwrap_or_else(|| round_sig3(l.latency.mean_secs() * 1e9));
                if mean_ns > 0 {
                    let kind = if constant.is_some() { "" } else { "~" };
                    parts.push(format!("{kind}{}", crate::time::format_duration(mean_ns)));
                }
                if l.loss > 0.0 {
                    parts.push(format!("loss {}", crate::units::format_percent(l.loss)));
                }
                let switch_end = matches!(net.nodes[l.a as usize].kind, NodeKind::Switch(_))
                    || matches!(net.nodes[l.b as usize].kind, NodeKind::Switch(_));
                if switch_end && l.vlan != 1 {
                    parts.push(format!("vlan {}", l.vlan));
                }
                if !l.up {
                    parts.push("DOWN".to_string());
                }
                g.add_edge(idx[l.a as usize], idx[l.b as usize], Edge::Link { label: parts.join(", "), down: !l.up });
            }
            for (ni, n) in net.nodes.iter().enumerate() {
                for r in &n.routes {
                    if let RouteTarget::Via(next) = r.target {
                        let metric = if r.metric > 0 { format!(" m{}", r.metric) } else { String::new() };
                        g.add_edge(idx[ni], idx[next as usize], Edge::NextHop(format!("{}{metric}", r.prefix)));
                    }
                }
            }
        }
    }
    let edge_attrs = |_: &DiGraph<Vertex, Edge>, e: petgraph::graph::EdgeReference<'_, Edge>| -> String {
        match e.weight() {
            Edge::Sends => "style=dotted, color=\"#7f7f7f\"".to_string(),
            Edge::Backend(w) => {
                let label = if *w != 1 { format!(", label=\"w{w}\"") } else { String::new() };
                format!("color=\"#1f77b4\"{label}")
            }
            Edge::Link { label, down } => format!(
                "dir=none, penwidth=2, color=\"{}\", label=\"{}\"",
                if *down { "#d62728" } else { "#333333" },
                escape(label)
            ),
            Edge::NextHop(p) => {
                format!("style=dashed, color=\"#ff7f0e\", fontcolor=\"#ff7f0e\", fontsize=9, label=\"{}\"", escape(p))
            }
        }
    };
    let node_attrs = |_: &DiGraph<Vertex, Edge>, (_, v): (NodeIndex, &Vertex)| -> String {
        // Labels carry `\n` line breaks for Graphviz: quote everything else.
        let label = escape(&v.label).replace("\\\\n", "\\n");
        format!("label=\"{label}\", shape={}, color=\"{}\", fontname=\"Helvetica\"", v.shape, v.color)
    };
    let body = format!(
        "{:?}",
        Dot::with_attr_getters(
            &g,
            &[Config::EdgeNoLabel, Config::NodeNoLabel, Config::GraphContentOnly],
            &edge_attrs,
            &node_attrs
        )
    );
    format!(
        "digraph \"{}\" {{\n    rankdir=LR;\n    node [style=rounded];\n    label=\"{} (lbsim graph; dashed: routing next hops)\";\n{body}}}\n",
        escape(&world.name),
        escape(&world.name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_str;

    #[test]
    fn without_a_network_clients_point_at_balancers_and_balancers_at_servers() {
        let w = load_str(
            "t.yaml",
            "name: t\nduration: 1m\nclients:\n  web: {target: lb, rate: 1/s}\nbalancers:\n  lb: {backends: [a, b], weights: {a: 3}}\nservers:\n  a: {service: {constant: 1ms}}\n  b: {service: {constant: 1ms}}\n",
        )
        .unwrap();
        let d = dot(&w);
        assert!(d.starts_with("digraph \"t\" {"), "{d}");
        assert!(d.contains("label=\"lb\\nround_robin\""), "{d}");
        assert!(d.contains("label=\"w3\""), "{d}");
        assert!(d.contains("style=dotted"), "{d}");
        assert_eq!(d.matches(" -> ").count(), 3, "{d}");
    }
}
