//! `lbsim merge`: joins the shards of a sweep run with `--shard` into the
//! sweep's outputs (`crate::experiment::shard`). Part of the commands layer.

use crate::error::Error;
pub use crate::experiment::shard::MergeOptions;

/// `lbsim merge` from the command line.
pub fn execute(opts: &MergeOptions) -> Result<i32, Error> {
    print!("{}", crate::experiment::shard::merge(opts)?.stdout);
    Ok(0)
}
