//! Speed, reported as simulated requests per second of wall time
//! (criterion's "elements/s"), one million requests per iteration so that a
//! sample takes a fraction of a second:
//!
//! - `reference`: 16 single-worker M/M/1 servers, random balancing, 90% load;
//! - `reference-1024`: the same model with 1,024 servers (and 64 times the
//!   load), for how the per-request cost grows with the event set;
//! - `three-hops`: the reference's servers and load behind a routed network
//!   (three routed hops from the clients to the balancer, a switch to the
//!   servers), for the network's cost per request.
//!
//!     cargo bench --bench reference

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lbsim::model;
use lbsim::scenario::Override;
use lbsim::sim::run_quiet;

const REQUESTS: u64 = 1_000_000;

fn load(path: &str, sets: &[&str]) -> model::World {
    let overrides: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    model::load(&path, &overrides, None).unwrap_or_else(|e| panic!("{e}")).0
}

fn reference(c: &mut Criterion) {
    let requests = format!("requests={REQUESTS}");
    let mut g = c.benchmark_group("simulated-requests");
    g.throughput(Throughput::Elements(REQUESTS));
    g.sample_size(10);
    for name in ["reference", "reference-1024", "three-hops"] {
        let world = load(&format!("scenarios/bench/{name}.yaml"), &[&requests]);
        g.bench_function(name, |b| b.iter(|| run_quiet(world.clone())));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Plots need fonts the build machine may lack; the numbers are what matter.
    config = Criterion::default().without_plots();
    targets = reference
}
criterion_main!(benches);
