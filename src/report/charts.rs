//! Charts with plotters, as SVG and PNG: traffic share per server, latency
//! percentiles, error and timeout rates, users affected, queue depth and
//! utilisation per server, and the latency percentile spectrum.

// Rendering is not wired up yet; these build what the charts will show.
#[allow(dead_code)]
mod build;
#[allow(dead_code)]
mod figure;
#[allow(dead_code)]
mod heatmap;
#[allow(dead_code)]
mod scale;

use super::chartdata::ChartData;

/// One rendered chart.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File stem: `latency` is written as `latency.svg` and `latency.png`.
    pub name: &'static str,
    /// Human title, for the HTML report.
    pub title: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// Every chart of one run.
pub fn render_all(_data: &ChartData) -> Vec<Chart> {
    Vec::new()
}

/// The two runs of a comparison overlaid on the same axes.
pub fn render_overlay(_a: &ChartData, _a_label: &str, _b: &ChartData, _b_label: &str) -> Vec<Chart> {
    Vec::new()
}
