//! `report.html` of a sweep. (Placeholder until the sweep report lands.)

use super::SweepReport;
use crate::report::charts::Chart;

/// The sweep's self-contained HTML page.
pub fn render(r: &SweepReport, _charts: &[Chart]) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body></body></html>\n",
        crate::report::html::escape(&r.scenario)
    )
}
