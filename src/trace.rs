//! Request traces for replay: a CSV of arrival times and users, written by
//! `lbsim import access-log --replay`, checked when a scenario is compiled
//! and streamed by the simulation, a line at a time, so a trace of any
//! length costs the memory of one line (plus, as every client group does,
//! a few bits per distinct user).
//!
//! ```text
//! time_s,user
//! 0.000000,9f2c4e1a77d0b3e5
//! 0.012483,04bb9e0c5d1a2f73
//! ```
//!
//! `time_s` is seconds from the trace's start, never decreasing; `user` is
//! any text without a comma (the importer writes a hash of the client
//! address). A name ending in `.gz` is read through gzip.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::rng::stable_hash;

/// The header line a trace starts with.
pub const HEADER: &str = "time_s,user";

/// What a pass over a trace found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceInfo {
    pub requests: u64,
    pub users: u64,
    /// The last arrival, in seconds from the start.
    pub span_s: f64,
    /// Arrivals a second in the busiest whole minute (over the whole
    /// trace when it is shorter than a minute).
    pub peak_per_s: f64,
}

/// A mistake at a line and column of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    pub line: u64,
    pub col: usize,
    /// The line as read (for the snippet).
    pub text: String,
    pub message: String,
}

/// Opens a trace for reading, through gzip when its name ends in `.gz`.
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    let inner: Box<dyn Read + Send> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, inner)))
}

/// One line of a trace: its time and the hash of its user.
fn parse_line(line: &str, number: u64, previous: f64) -> Result<Option<(f64, u64)>, TraceError> {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let fail = |col: usize, message: String| TraceError { line: number, col, text: line.to_string(), message };
    let (time, user) =
        line.split_once(',').ok_or_else(|| fail(1, "expected `time_s,user`: seconds, a comma, a user".into()))?;
    let t: f64 = time.trim().parse().ok().filter(|t: &f64| t.is_finite() && *t >= 0.0).ok_or_else(|| {
        fail(1, format!("`{time}` is not a time: expected seconds from the trace's start, like 12.5"))
    })?;
    if t < previous {
        return Err(fail(1, format!("time {t} is before the line above's ({previous}): a trace is in arrival order")));
    }
    let user = user.trim();
    if user.is_empty() || user.contains(',') {
        return Err(fail(time.len() + 2, "expected one user (any text without a comma) after the time".into()));
    }
    Ok(Some((t, stable_hash(user.as_bytes()))))
}

/// Reads a trace's header; `Ok(false)` at the end of an empty file.
fn header(reader: &mut dyn BufRead, buf: &mut String) -> Result<(), TraceError> {
    buf.clear();
    reader.read_line(buf).map_err(|e| io_error(0, &e))?;
    if buf.trim_end() != HEADER {
        return Err(TraceError {
            line: 1,
            col: 1,
            text: buf.trim_end().to_string(),
            message: format!("expected the header `{HEADER}`"),
        });
    }
    Ok(())
}

fn io_error(line: u64, e: &io::Error) -> TraceError {
    TraceError { line, col: 1, text: String::new(), message: format!("cannot read the trace: {e}") }
}

/// Checks every line of a trace and counts its requests and distinct
/// users. A file already scanned in this process (same path, size and
/// modification time) is not read again: a sweep compiles its scenario
/// once per point.
pub fn scan(path: &Path) -> Result<TraceInfo, TraceError> {
    /// A trace file as last scanned: path, size, modification time.
    type Key = (PathBuf, u64, Option<std::time::SystemTime>);
    static CACHE: OnceLock<Mutex<HashMap<Key, TraceInfo>>> = OnceLock::new();
    let meta = std::fs::metadata(path).map_err(|e| io_error(0, &e))?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(info) = cache.lock().map_err(|_| io_error(0, &io::Error::other("poisoned")))?.get(&key) {
        return Ok(*info);
    }
    let mut reader = open(path).map_err(|e| io_error(0, &e))?;
    let mut buf = String::new();
    header(&mut *reader, &mut buf)?;
    let mut users: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let (mut requests, mut last, mut number) = (0u64, 0.0f64, 1u64);
    // Requests in the current minute, and in the busiest so far.
    let (mut minute, mut in_minute, mut busiest) = (0u64, 0u64, 0u64);
    loop {
        buf.clear();
        number += 1;
        if reader.read_line(&mut buf).map_err(|e| io_error(number, &e))? == 0 {
            break;
        }
        if let Some((t, user)) = parse_line(&buf, number, last)? {
            requests += 1;
            last = t;
            users.insert(user);
            let m = (t / 60.0) as u64;
            if m != minute {
                (minute, in_minute) = (m, 0);
            }
            in_minute += 1;
            busiest = busiest.max(in_minute);
        }
    }
    let peak_per_s = if last < 60.0 { requests as f64 / last.max(1.0) } else { busiest as f64 / 60.0 };
    let info = TraceInfo { requests, users: users.len() as u64, span_s: last, peak_per_s };
    if let Ok(mut c) = cache.lock() {
        c.insert(key, info);
    }
    Ok(info)
}

/// Streams a trace's arrivals: seconds from the start and a dense user id
/// (in order of first appearance).
pub struct Reader {
    inner: Box<dyn BufRead + Send>,
    buf: String,
    line: u64,
    last: f64,
    ids: HashMap<u64, u32>,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, TraceError> {
        let mut inner = open(path).map_err(|e| io_error(0, &e))?;
        let mut buf = String::new();
        header(&mut *inner, &mut buf)?;
        Ok(Reader { inner, buf, line: 1, last: 0.0, ids: HashMap::new() })
    }

    /// The next arrival, `None` at the end (or at a line the compile-time
    /// scan would have refused, should the file have changed since).
    pub fn next_arrival(&mut self) -> Option<(f64, u32)> {
        loop {
            self.buf.clear();
            self.line += 1;
            if self.inner.read_line(&mut self.buf).ok()? == 0 {
                return None;
            }
            match parse_line(&self.buf, self.line, self.last) {
                Ok(Some((t, user))) => {
                    self.last = t;
                    let next_id = self.ids.len() as u32;
                    let id = *self.ids.entry(user).or_insert(next_id);
                    return Some((t, id));
                }
                Ok(None) => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Writes a trace, gzip-compressed.
pub struct Writer {
    out: flate2::write::GzEncoder<io::BufWriter<File>>,
}

impl Writer {
    pub fn create(path: &Path) -> io::Result<Writer> {
        let file = io::BufWriter::with_capacity(1 << 16, File::create(path)?);
        let mut out = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        writeln!(out, "{HEADER}")?;
        Ok(Writer { out })
    }

    /// One arrival: seconds from the start (to the microsecond) and a user.
    pub fn push(&mut self, time_s: f64, user: u64) -> io::Result<()> {
        writeln!(self.out, "{time_s:.6},{user:016x}")
    }

    pub fn finish(self) -> io::Result<()> {
        let file = self.out.finish()?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("lbsim-trace-{}-{name}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_written_trace_scans_and_reads_back() {
        let p = std::env::temp_dir().join(format!("lbsim-trace-{}-w.csv.gz", std::process::id()));
        let mut w = Writer::create(&p).unwrap();
        for (t, u) in [(0.0, 7u64), (0.5, 9), (0.5, 7), (2.25, 11)] {
            w.push(t, u).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(scan(&p).unwrap(), TraceInfo { requests: 4, users: 3, span_s: 2.25, peak_per_s: 4.0 / 2.25 });
        let mut r = Reader::open(&p).unwrap();
        let got: Vec<(f64, u32)> = std::iter::from_fn(|| r.next_arrival()).collect();
        assert_eq!(got, [(0.0, 0), (0.5, 1), (0.5, 0), (2.25, 2)]);
    }

    #[test]
    fn mistakes_are_located() {
        let e = scan(&file("h.csv", "time,user\n1,a\n")).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (1, "expected the header `time_s,user`"));
        let e = scan(&file("o.csv", "time_s,user\n1,a\n0.5,b\n")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("before the line above"), "{e:?}");
        let e = scan(&file("t.csv", "time_s,user\nsoon,a\n")).unwrap_err();
        assert_eq!((e.line, e.col), (2, 1));
        let e = scan(&file("u.csv", "time_s,user\n1.5,\n")).unwrap_err();
        assert_eq!((e.line, e.col), (2, 5));
    }
}
