//! Scale: the reference model at 1,000,000 servers
//! (`scenarios/bench/million.yaml`).
//!
//! - `compile/<n> servers`: loading and compiling the scenario at 10,000,
//!   100,000 and 1,000,000 servers (criterion's "elements/s" is servers
//!   compiled per second, flat when compile time grows linearly);
//! - `set-up/million`: building the run's state for a million servers,
//!   the rest of the time before the first simulated event;
//! - `simulated-requests/million`: two million requests per iteration on a
//!   million servers, the run's set-up (a million servers' state) included,
//!   simulated requests per second of wall time.
//!
//!     cargo bench --bench scale

use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lbsim::metrics::NullSink;
use lbsim::model;
use lbsim::scenario::Override;
use lbsim::sim::{Simulation, run_quiet};

const REQUESTS: u64 = 2_000_000;

/// `million.yaml` at `servers` servers and the same 90% load.
fn load(servers: u64, requests: u64) -> model::World {
    let sets = [
        format!("servers.srv.count={servers}"),
        format!("clients.load.rate={}/s", 90 * servers),
        format!("requests={requests}"),
    ];
    let overrides: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/million.yaml");
    model::load(&path, &overrides, None).unwrap_or_else(|e| panic!("{e}")).0
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    for servers in [10_000, 100_000, 1_000_000] {
        g.throughput(Throughput::Elements(servers));
        g.bench_function(format!("{servers} servers"), |b| b.iter(|| load(servers, REQUESTS)));
    }
    g.finish();
}

fn simulate(c: &mut Criterion) {
    let world = load(1_000_000, REQUESTS);
    let mut g = c.benchmark_group("set-up");
    g.sample_size(10);
    g.bench_function("million", |b| {
        b.iter_batched(|| world.clone(), |w| Simulation::new(w, Box::new(NullSink)), BatchSize::PerIteration)
    });
    g.finish();
    let mut g = c.benchmark_group("simulated-requests");
    g.throughput(Throughput::Elements(REQUESTS));
    g.sample_size(10);
    g.bench_function("million", |b| b.iter_batched(|| world.clone(), run_quiet, BatchSize::PerIteration));
    g.finish();
}

criterion_group! {
    name = benches;
    // Plots need fonts the build machine may lack; the numbers are what matter.
    config = Criterion::default().without_plots();
    targets = compile, simulate
}
criterion_main!(benches);
