//! The experiment engine: many runs of a scenario, for the questions a
//! capacity planner asks across configurations. `run --replications`
//! repeats one configuration, `sweep` runs a grid of them, `capacity`
//! searches for the largest load or smallest fleet that meets every SLO,
//! `merge` joins a sweep's shards run on other machines, and `paired`
//! holds `compare`'s statistics. It sits above `report` (whose summaries it
//! samples and whose outputs it fills) and below `crate::commands`, which
//! call it; the options it reads come from `crate::cli`.
//!
//! Every run of an experiment is a *work item*: a configuration (a point)
//! and a replication. Replication `i` of every point uses seed `seed + i`,
//! and every random stream is named after its entity, so all points see the
//! same users sending the same requests at the same moments (common random
//! numbers): differences between points are the configuration, not noise.
//! Items run in parallel on a thread pool of `--jobs` threads; results are
//! placed by item index, so the outputs do not depend on the number of
//! threads or the order items finish in.

pub(crate) mod capacity;
pub(crate) mod estimate;
#[cfg(test)]
pub(crate) mod fixtures;
pub(crate) mod paired;
pub(crate) mod sample;
pub(crate) mod shard;
pub(crate) mod sweep;
pub(crate) mod vary;

use crate::metrics::NullSink;
use crate::model::{ServerId, World};
use crate::report::{RunContext, Summary};
use crate::sim::Simulation;
use sample::{LatencyPool, Sample};

/// Runs `world` once with `seed`, writing nothing, and keeps its figures
/// and latencies.
pub(crate) fn run_sample(world: &World, seed: u64) -> (Sample, LatencyPool) {
    let mut world = world.clone();
    world.seed = seed;
    let result = Simulation::new(world, Box::new(NullSink)).run(|_| {});
    if let Some(why) = &result.stopped {
        eprintln!("warning: the run with seed {seed} stopped early, its figures are partial: {why}");
    }
    let summary = Summary::build(&result, &RunContext { reproducible: true, ..RunContext::default() });
    (Sample::of(&summary), LatencyPool::of_run(&result))
}

/// Takes the `k` largest servers of each server group out of rotation (N+K
/// planning): each is down from the start and no balancer sends to it.
/// Largest means most capacity (workers / mean service time); among equals
/// the last declared go first. Returns the names taken out.
pub(crate) fn take_down(world: &mut World, k: u32) -> Vec<String> {
    if k == 0 {
        return Vec::new();
    }
    let groups: Vec<Vec<ServerId>> = world.server_groups.iter().map(|g| g.ids().collect()).collect();
    let mut out = Vec::new();
    for mut ids in groups {
        let capacity = |id: ServerId| {
            let s = &world.servers[id.index()];
            f64::from(s.workers) / s.service.mean_secs().max(f64::MIN_POSITIVE)
        };
        ids.sort_by(|&a, &b| capacity(b).total_cmp(&capacity(a)).then(b.cmp(&a)));
        for &id in ids.iter().take(k as usize) {
            out.push(world.servers[id.index()].name.clone());
            world.servers[id.index()].initially_down = true;
            for b in &mut world.balancers {
                for be in b.backends.iter_mut().filter(|be| be.server == id) {
                    be.member = false;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_servers_of_each_group_go_out_of_rotation() {
        let mut w = crate::model::load_str(
            "t.yaml",
            "duration: 1s\nclients:\n  c: {target: lb, rate: 10/s}\nbalancers:\n  lb: {backends: [app, \"big-*\", solo]}\n\
             servers:\n  app: {count: 3, workers: 2, service: {constant: 5ms}}\n\
             big-{1..2}: {workers: 8, service: {constant: 5ms}}\n  solo: {service: {constant: 5ms}}\n"
                .replace("\nbig-", "\n  big-")
                .as_str(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(take_down(&mut w, 0).is_empty());
        assert_eq!(take_down(&mut w, 1), ["app-03", "big-2", "solo"]);
        let out: Vec<&str> = w.servers.iter().filter(|s| s.initially_down).map(|s| s.name.as_str()).collect();
        assert_eq!(out, ["app-03", "big-2", "solo"]);
        let members: Vec<bool> = w.balancers[0].backends.iter().map(|b| b.member).collect();
        assert_eq!(members, [true, true, false, true, false, false]);
    }
}
