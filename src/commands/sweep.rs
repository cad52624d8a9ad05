//! `lbsim sweep`: a grid of configurations, each over N replications, run
//! by the experiment engine (`crate::experiment::sweep`, or a shard of it
//! with `--shard`). Part of the commands layer.

use crate::error::Error;
pub use crate::experiment::sweep::SweepOptions;

/// `lbsim sweep` from the command line.
pub fn execute(opts: &SweepOptions) -> Result<i32, Error> {
    print!("{}", crate::experiment::sweep::sweep(opts)?.stdout);
    Ok(0)
}
