//! Reports (the last stage): `summary.json`, `servers.csv`, `events.csv`,
//! the charts, `report.html`, `report.md` (the predicted postmortem), the
//! terminal summary, the outputs of compare, sweep and capacity, and the
//! atomic output directory they are written to. Every file any command
//! writes is a row of [`files`]. (`timeseries.csv` is streamed by the
//! metrics sink during the run and committed here.)

pub mod capacity;
pub mod chartdata;
pub mod charts;
pub mod design;
pub mod files;
pub mod graph;
pub mod headline;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod numbers;
pub mod output;
pub mod postmortem;
pub mod replications;
pub mod story;
pub mod summary;
pub mod sweep;
pub mod text;
pub mod words;

use std::path::PathBuf;

use crate::error::Error;
use crate::metrics::series::format_value;
pub use output::OutputDir;
pub use summary::{RunContext, Summary};

/// `servers.csv`: one row per server with its totals over the measured period.
pub fn servers_csv(summary: &Summary) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| Error::Internal(format!("building servers.csv: {e}"));
    w.write_record([
        "server",
        "workers",
        "requests",
        "share",
        "completed",
        "rejected",
        "errors",
        "utilisation",
        "max_queue",
        "crashes",
    ])
    .map_err(internal)?;
    for s in &summary.servers {
        w.write_record([
            s.name.clone(),
            s.workers.to_string(),
            s.requests.to_string(),
            format_value(s.share),
            s.completed.to_string(),
            s.rejected.to_string(),
            s.errors.to_string(),
            format_value(s.utilisation),
            s.max_queue.to_string(),
            s.crashes.to_string(),
        ])
        .map_err(internal)?;
    }
    w.into_inner().map_err(|e| Error::Internal(format!("building servers.csv: {e}")))
}

/// `events.csv`: every logged event in time order.
pub fn events_csv(
    events: &crate::metrics::EventLog,
    words: &words::EventWords,
    clock: Option<&crate::clock::WallClock>,
) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| Error::Internal(format!("building events.csv: {e}"));
    w.write_record(["time_s", "clock", "kind", "entity", "detail"]).map_err(internal)?;
    for e in &events.events {
        w.write_record([
            format_value(e.time_ns as f64 / 1e9),
            clock.map(|c| c.format(e.time_ns)).unwrap_or_default(),
            e.tag().name().to_string(),
            words.subject(e.subject()),
            words.detail(e),
        ])
        .map_err(internal)?;
    }
    w.into_inner().map_err(|e| Error::Internal(format!("building events.csv: {e}")))
}

/// Pretty JSON with a trailing newline.
pub fn summary_json(summary: &Summary) -> Result<Vec<u8>, Error> {
    let mut bytes =
        serde_json::to_vec_pretty(summary).map_err(|e| Error::Internal(format!("serialising the summary: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes the summary, servers and events reports, the charts (unless
/// `with_charts` is false), the HTML report and the predicted postmortem;
/// returns the paths written.
pub fn write_reports(
    out: &OutputDir,
    summary: &Summary,
    result: &crate::sim::RunResult,
    with_charts: bool,
) -> Result<Vec<PathBuf>, Error> {
    let mut files = vec![
        out.write(files::SUMMARY_JSON.name, &summary_json(summary)?)?,
        out.write(files::SERVERS_CSV.name, &servers_csv(summary)?)?,
        out.write(
            files::EVENTS_CSV.name,
            &events_csv(&result.recorder.events, &words::EventWords::of(result), result.world.clock.as_ref())?,
        )?,
    ];
    let charts = if with_charts { charts::render_all(&chartdata::ChartData::from_run(result)) } else { Vec::new() };
    files.extend(write_charts(out, &charts)?);
    // Both reports tell the same story: derive it once.
    let story = story::Story::build(summary, result);
    files.push(out.write(files::REPORT_HTML.name, html::render(summary, &story, &charts).as_bytes())?);
    files.push(out.write(files::REPORT_MD.name, postmortem::render(summary, &story).as_bytes())?);
    Ok(files)
}

/// One rendered chart (drawn by `charts`, embedded by the HTML reports).
#[derive(Clone, Debug)]
pub struct Chart {
    /// File stem: `latency` is written as `latency.svg` and `latency.png`.
    pub name: String,
    /// Human title, for the HTML report.
    pub title: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// Writes each chart as `<name>.svg` and `<name>.png`.
pub fn write_charts(out: &OutputDir, charts: &[Chart]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::with_capacity(2 * charts.len());
    for c in charts {
        files.push(out.write(&format!("{}.svg", c.name), c.svg.as_bytes())?);
        files.push(out.write(&format!("{}.png", c.name), &c.png)?);
    }
    Ok(files)
}
