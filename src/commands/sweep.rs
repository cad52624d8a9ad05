//! `lbsim sweep`: a grid of configurations, each over N replications, run
//! by the experiment engine (`crate::experiment::sweep`), or with `--shard`
//! one shard of it (`crate::experiment::shard`). Part of the commands layer.

use crate::cli::{self, Progress};
use crate::error::Error;
use crate::experiment::shard::{ShardSpec, run_shard};
pub use crate::experiment::sweep::SweepOptions;
use crate::experiment::sweep::{SweepOutcome, default_out, prepare, run_points, write_outputs};

/// `lbsim sweep` from the command line.
pub fn execute(opts: &SweepOptions) -> Result<i32, Error> {
    print!("{}", sweep(opts)?.stdout);
    Ok(0)
}

/// `lbsim sweep`: the whole grid here, or with `--shard` this shard's
/// share of the work items into DIR/shard-I-of-N/.
pub fn sweep(opts: &SweepOptions) -> Result<SweepOutcome, Error> {
    let pool = cli::thread_pool(opts.common.jobs)?;
    let shard = opts.shard.as_deref().map(ShardSpec::parse).transpose()?;
    let prepared = prepare(opts)?;
    let plan = &prepared.plan;
    let out_dir = opts.out.clone().unwrap_or_else(|| default_out(&plan.scenario));
    if let Some(spec) = shard {
        return run_shard(&prepared, spec, &out_dir, &pool, !opts.json && !opts.quiet);
    }
    let progress = Progress::new(!opts.json && !opts.quiet, "sweep", plan.items() as u64);
    let points = run_points(&prepared, &pool, &progress);
    progress.finish();
    write_outputs(plan, points, &out_dir, opts.no_charts, opts.json)
}
