//! Stage: model. The topology graph of the compiled world (client groups ->
//! balancers -> servers) and what it tells: the servers no client reaches.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Dfs;

use crate::model::{BalancerDef, BalancerId, ClientDef, ClientId, NodeRef, ServerDef, ServerId};

pub(super) fn build_topology(
    clients: &[ClientDef],
    balancers: &[BalancerDef],
    servers: &[ServerDef],
) -> DiGraph<NodeRef, ()> {
    let mut g = DiGraph::new();
    let server_nodes: Vec<NodeIndex> =
        (0..servers.len()).map(|i| g.add_node(NodeRef::Server(ServerId::from_index(i)))).collect();
    let balancer_nodes: Vec<NodeIndex> =
        (0..balancers.len()).map(|i| g.add_node(NodeRef::Balancer(i as BalancerId))).collect();
    for (i, b) in balancers.iter().enumerate() {
        for be in b.backends.iter().filter(|be| be.member) {
            g.add_edge(balancer_nodes[i], server_nodes[be.server.index()], ());
        }
    }
    for (i, c) in clients.iter().enumerate() {
        let n = g.add_node(NodeRef::Client(i as ClientId));
        for (b, _) in &c.targets {
            g.add_edge(n, balancer_nodes[*b as usize], ());
        }
    }
    g
}

/// Servers no client can reach: defined, but they will see no traffic.
pub(super) fn unreachable_servers(g: &DiGraph<NodeRef, ()>, servers: &[ServerDef]) -> Vec<(usize, String)> {
    let mut reached = vec![false; servers.len()];
    // One search from every client in turn, sharing what it has seen: each
    // node is visited once however many clients reach it.
    let mut dfs = Dfs::empty(g);
    for start in g.node_indices().filter(|&n| matches!(g[n], NodeRef::Client(_))) {
        dfs.move_to(start);
        while let Some(n) = dfs.next(g) {
            if let NodeRef::Server(s) = g[n] {
                reached[s.index()] = true;
            }
        }
    }
    reached
        .iter()
        .enumerate()
        .filter(|(_, r)| !**r)
        .map(|(i, _)| {
            let text = format!(
                "server `{}` is not a backend of any balancer a client sends to: it will see no traffic",
                servers[i].name
            );
            (i, text)
        })
        .collect()
}
