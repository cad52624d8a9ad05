//! Where per-interval rows go: a CSV file written as the run goes (so memory
//! does not grow with simulated time), or nowhere (validation runs, benches).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Receives one row per (interval, entity, metric).
pub trait SeriesSink: Send {
    /// `time_s` is the interval's start in simulated seconds, `clock` its
    /// wall-clock time (empty when the scenario has no `start`).
    fn row(&mut self, time_s: f64, clock: &str, kind: &str, entity: &str, metric: &str, value: f64);
    /// Flushes buffered rows; the first I/O error, if any, is returned.
    fn finish(&mut self) -> std::io::Result<()>;
    /// Whether rows go anywhere: a run whose rows are discarded (a sweep's
    /// replications) has no series for the series guard to bound.
    fn writes(&self) -> bool {
        true
    }
}

/// Names of the entities, for the series rows.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub servers: Vec<String>,
    pub balancers: Vec<String>,
    pub clients: Vec<String>,
    /// Client subnets (`group.name`), by global subnet index; empty without a network.
    pub subnets: Vec<String>,
}

/// How many entities of each kind have per-entity metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    pub servers: usize,
    pub balancers: usize,
    pub clients: usize,
    pub subnets: usize,
}

/// The entities' names as the series rows write them, lent at each
/// interval's close: the recorder keeps no copy (the simulator lends the
/// world's, a million server names).
pub trait Labels {
    fn server(&self, i: usize) -> &str;
    fn balancer(&self, i: usize) -> &str;
    fn client(&self, i: usize) -> &str;
    fn subnet(&self, i: usize) -> &str;
}

impl Names {
    pub fn sizes(&self) -> Sizes {
        Sizes {
            servers: self.servers.len(),
            balancers: self.balancers.len(),
            clients: self.clients.len(),
            subnets: self.subnets.len(),
        }
    }
}

impl Labels for Names {
    fn server(&self, i: usize) -> &str {
        &self.servers[i]
    }
    fn balancer(&self, i: usize) -> &str {
        &self.balancers[i]
    }
    fn client(&self, i: usize) -> &str {
        &self.clients[i]
    }
    fn subnet(&self, i: usize) -> &str {
        &self.subnets[i]
    }
}

/// Discards rows.
pub struct NullSink;

impl SeriesSink for NullSink {
    fn row(&mut self, _: f64, _: &str, _: &str, _: &str, _: &str, _: f64) {}
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn writes(&self) -> bool {
        false
    }
}

/// The CSV header of `timeseries.csv`.
pub const HEADER: &str = "time_s,clock,kind,entity,metric,value";

/// Writes `timeseries.csv` rows to a file (normally a temporary file that
/// the report step renames into place).
pub struct CsvSink {
    path: PathBuf,
    out: BufWriter<File>,
    error: Option<std::io::Error>,
    line: String,
    /// The last row's `time_s` (its bits) and its text: an interval's rows
    /// share one time, formatted once.
    time: (u64, String),
}

impl CsvSink {
    pub fn create(path: &Path) -> std::io::Result<CsvSink> {
        let mut out = BufWriter::with_capacity(1 << 16, File::create(path)?);
        writeln!(out, "{HEADER}")?;
        // NaN formats as nothing: a valid start for the cache.
        let time = (f64::NAN.to_bits(), String::new());
        Ok(CsvSink { path: path.to_path_buf(), out, error: None, line: String::with_capacity(128), time })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Formats a value compactly and deterministically (integers without a
/// fraction; others with up to 6 significant decimals).
pub fn format_value(v: f64) -> String {
    let mut s = String::new();
    push_value(v, &mut s);
    s
}

/// Appends [`format_value`]`(v)` to `out`, without a string of its own.
pub fn push_value(v: f64, out: &mut String) {
    use std::fmt::Write as _;
    if !v.is_finite() {
        return;
    }
    // Writing into a String cannot fail.
    if v == v.trunc() && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
        return;
    }
    let start = out.len();
    let _ = write!(out, "{v:.6}");
    let kept = out[start..].trim_end_matches('0').trim_end_matches('.').len();
    out.truncate(start + kept);
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
}

fn csv_field(s: &str, out: &mut String) {
    if s.contains([',', '"', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

impl SeriesSink for CsvSink {
    fn row(&mut self, time_s: f64, clock: &str, kind: &str, entity: &str, metric: &str, value: f64) {
        if self.error.is_some() {
            return;
        }
        if time_s.to_bits() != self.time.0 {
            self.time.0 = time_s.to_bits();
            self.time.1.clear();
            push_value(time_s, &mut self.time.1);
        }
        self.line.clear();
        self.line.push_str(&self.time.1);
        self.line.push(',');
        csv_field(clock, &mut self.line);
        self.line.push(',');
        self.line.push_str(kind);
        self.line.push(',');
        csv_field(entity, &mut self.line);
        self.line.push(',');
        self.line.push_str(metric);
        self.line.push(',');
        push_value(value, &mut self.line);
        self.line.push('\n');
        if let Err(e) = self.out.write_all(self.line.as_bytes()) {
            self.error = Some(e);
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_format_compactly() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.125), "0.125");
        assert_eq!(format_value(1.0 / 3.0), "0.333333");
        assert_eq!(format_value(f64::NAN), "");
        assert_eq!(format_value(-0.0000001), "0");
        assert_eq!(format_value(-2.5), "-2.5");
        assert_eq!(format_value(1e15 + 0.5), "1000000000000000.5");
        // Appended after what the line holds, which stays.
        for (v, want) in [(7.0, "x7"), (0.1 + 0.2, "x0.3"), (-0.0000001, "x0"), (f64::NAN, "x"), (-3.0, "x-3")] {
            let mut s = "x".to_string();
            push_value(v, &mut s);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn csv_rows_quote_awkward_names() {
        let dir = std::env::temp_dir().join(format!("lbsim-series-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ts.csv");
        let mut sink = CsvSink::create(&path).unwrap();
        sink.row(1.0, "", "server", "a,b", "requests", 5.0);
        sink.row(1.0, "", "server", "c", "share", 0.25);
        sink.row(61.5, "", "global", "all", "p99", f64::NAN);
        sink.row(f64::NAN, "", "global", "all", "p99", 0.0);
        sink.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let rows = "1,,server,\"a,b\",requests,5\n1,,server,c,share,0.25\n61.5,,global,all,p99,\n,,global,all,p99,0\n";
        assert_eq!(text, format!("{HEADER}\n{rows}"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
