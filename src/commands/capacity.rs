//! `lbsim capacity`: the largest load or smallest fleet at which every SLO
//! holds, found by the experiment engine's search
//! (`crate::experiment::capacity`). Part of the commands layer.

use crate::error::Error;
pub use crate::experiment::capacity::CapacityOptions;

/// `lbsim capacity` from the command line: exit status 1 when no value in
/// the interval meets the SLOs.
pub fn execute(opts: &CapacityOptions) -> Result<i32, Error> {
    let outcome = crate::experiment::capacity::capacity(opts)?;
    print!("{}", outcome.stdout);
    Ok(outcome.exit_code)
}
