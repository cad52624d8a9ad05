//! `report.html` in a real browser: headless Chromium opens the report of an
//! incident replay and the report of a sweep, and each must log nothing to
//! the console and paint a page with content. Where Chromium is not
//! installed the tests say so and pass.
//!
//! Console messages are read from Chromium's own log on stderr
//! (`--enable-logging=stderr`), where each one is a line tagged `CONSOLE`.
//! That log gives every level (log, warning, error, uncaught exception) the
//! same tag, so the check is strict: the report has no script, and any
//! message at all is a finding. A second test loads a page that logs an
//! error and throws, to show the check sees both.

use crate::common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Chromium gets this long to load a page and take its screenshot.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// Debian's `chromium` (or Chromium under another of its usual names) on the
/// PATH; when there is none, `test` is skipped (a failure under CI).
fn chromium(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file());
    if found.is_none() {
        common::skipped(test, "chromium", "chromium is not on PATH; install Debian's `chromium` package");
    }
    found
}

/// What the browser made of a page.
struct Page {
    /// Console messages, one log line each.
    console: Vec<String>,
    screenshot: PathBuf,
}

/// Opens `html` in headless Chromium with a fresh profile and no network
/// chatter, and returns its console messages and a screenshot.
fn open(browser: &Path, html: &Path, dir: &Path) -> Page {
    let profile = dir.join("profile");
    let screenshot = dir.join("screenshot.png");
    let log = dir.join("chromium.log");
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // A file, not a pipe: a chatty browser cannot block on a full pipe.
        .stderr(File::create(&log).unwrap())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            panic!("chromium took more than {BROWSER_TIMEOUT:?} on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "chromium failed ({status}) on {url}:\n{stderr}");
    assert!(screenshot.is_file(), "no screenshot of {url}:\n{stderr}");
    Page { console: console_messages(&stderr), screenshot }
}

/// The console lines of Chromium's log: `[pid:tid:time:INFO:CONSOLE:12] "message", source: url (12)`
/// (older builds write `CONSOLE(12)`).
fn console_messages(log: &str) -> Vec<String> {
    log.lines()
        .filter(|line| line.starts_with('[') && line.find(']').is_some_and(|end| line[..end].contains(":CONSOLE")))
        .map(str::to_string)
        .collect()
}

/// Pixels that are not (near) white, and distinct colours at 4 bits a channel.
fn paint(png_path: &Path) -> (f64, usize, bool) {
    let mut decoder = png::Decoder::new(File::open(png_path).unwrap());
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "expected a colour screenshot, got {:?}", info.color_type);
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks_exact(channels).collect();
    let inked = pixels.iter().filter(|p| p[..3].iter().any(|&c| c < 235)).count();
    let mut colours: Vec<u16> = pixels
        .iter()
        .map(|p| (u16::from(p[0] >> 4) << 8) | (u16::from(p[1] >> 4) << 4) | u16::from(p[2] >> 4))
        .collect();
    colours.sort_unstable();
    colours.dedup();
    // The FAIL badge and the "could not use" bar are a strong red.
    let red = pixels.iter().any(|p| p[0] > 170 && p[1] < 80 && p[2] < 80);
    (inked as f64 / pixels.len() as f64, colours.len(), red)
}

/// Opens a report written by lbsim, checks that it is self-contained, and
/// that Chromium shows it without a console message, with content and some
/// red (the FAIL badge; the users bar of a run).
fn check_report(browser: &Path, report: &Path, dir: &Path) {
    let html = std::fs::read_to_string(report).unwrap();
    // Self-contained: nothing for the browser to fetch, nothing to run.
    for outside in ["<script", "<link", "src=", "@import", "url(http", "<iframe"] {
        assert!(!html.contains(outside), "{} contains {outside}", report.display());
    }
    let page = open(browser, report, dir);
    assert!(page.console.is_empty(), "console messages:\n{}", page.console.join("\n"));
    let (inked, colours, red) = paint(&page.screenshot);
    assert!(inked > 0.03, "only {:.2}% of the screenshot is not white", inked * 100.0);
    assert!(colours >= 8, "only {colours} colours in the screenshot");
    assert!(red, "no red in the screenshot: the FAIL badge is not painted");
}

#[test]
fn the_incident_report_opens_cleanly_in_chromium() {
    let Some(browser) = chromium("the_incident_report_opens_cleanly_in_chromium") else { return };
    let dir = common::scratch("browser", "report");
    let out = dir.join("out");
    let scenario = "scenarios/incidents/003-all-traffic-to-one-server.yaml";
    let run = common::lbsim(&["run", scenario, "--quiet", "--no-fail", "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    check_report(&browser, &out.join("report.html"), &dir);
}

#[test]
fn the_sweep_report_opens_cleanly_in_chromium() {
    let Some(browser) = chromium("the_sweep_report_opens_cleanly_in_chromium") else { return };
    let dir = common::scratch("browser", "sweep");
    let out = dir.join("out");
    #[rustfmt::skip]
    let run = common::lbsim(&[
        "sweep", "scenarios/quickstart.yaml",
        "--set", "duration=40s", "--set", "warmup=5s",
        // An SLO, so that the page has verdicts and the charts a threshold.
        "--set", "slos=[{objective: \"p99 < 275ms\"}]",
        "--vary", "clients.browsers.rate=300/s..600/s/100/s",
        "--replications", "3", "--quiet", "--out", out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let report = out.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<figure class=\"chart\" id=\"chart-sweep-latency_p99_ms\">"), "no p99 chart");
    assert!(html.contains("SLO p99 &lt; 275ms"), "no threshold on the charts");
    assert!(out.join("sweep-latency_p99_ms.png").is_file());
    check_report(&browser, &report, &dir);
}

#[test]
fn the_console_check_catches_errors_and_exceptions() {
    let Some(browser) = chromium("the_console_check_catches_errors_and_exceptions") else { return };
    let dir = common::scratch("browser", "console");
    let page = dir.join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>broken</title></head>\
         <body><p>A page that goes wrong.</p><script>\
         console.error(\"deliberate console.error\");\
         throw new Error(\"deliberate exception\");\
         </script></body></html>",
    )
    .unwrap();
    let found = open(&browser, &page, &dir).console;
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("\"deliberate console.error\""), "{found:#?}");
    assert!(found[1].contains("Uncaught Error: deliberate exception"), "{found:#?}");
}

#[test]
fn console_lines_are_told_from_the_rest_of_the_log() {
    let log = "[1:2:1130/022727.152474:ERROR:dbus/object_proxy.cc:572] Failed to call method\n\
               [1:1:1130/022727.330730:INFO:CONSOLE:2] \"deliberate error\", source: file:///x.html (2)\n\
               [1:1:0101/000000.000000:INFO:CONSOLE(7)] \"older form\", source: file:///x.html (7)\n\
               a line that mentions :CONSOLE] outside the prefix\n";
    let found = console_messages(log);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("deliberate error") && found[1].contains("older form"));
}
