//! Time to render a run's charts (`report::charts::render_all`), which
//! every `lbsim run` pays: the reference benchmark's run (16 servers, 10
//! million requests) with 10 s intervals, so that the chart store is near
//! its 720 buckets. The simulation happens once, outside the measurement.
//!
//!     cargo bench --bench charts

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use lbsim::model;
use lbsim::report::chartdata::ChartData;
use lbsim::report::charts::render_all;
use lbsim::scenario::Override;
use lbsim::sim::run_quiet;

fn reference_chart_data() -> ChartData {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/reference.yaml");
    let sets = [Override::parse("interval=10s").unwrap()];
    let world = model::load(&path, &sets, None).unwrap_or_else(|e| panic!("{e}")).0;
    ChartData::from_run(&run_quiet(world))
}

fn charts(c: &mut Criterion) {
    let data = reference_chart_data();
    let name = format!("render_all/reference-{}-servers-{}-buckets", data.servers.len(), data.t_s.len());
    let mut g = c.benchmark_group("charts");
    g.sample_size(20);
    g.bench_function(name, |b| b.iter(|| render_all(&data)));
    g.finish();
}

criterion_group! {
    name = benches;
    // Plots need fonts the build machine may lack; the numbers are what matter.
    config = Criterion::default().without_plots();
    targets = charts
}
criterion_main!(benches);
