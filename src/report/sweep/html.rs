//! `report.html` of a sweep: one self-contained page, like a run's (inline
//! CSS and SVG, no script, nothing fetched, the run report's style): what
//! was swept and how to sweep it again, how many points pass their SLOs
//! and which fail, the knees in words, every chart, and each point's key
//! figures with their confidence intervals. Built from the `SweepReport`
//! alone, so a sweep merged from shards gives the same bytes.

use std::fmt::Write;

use super::{PointReport, SweepReport};
use crate::report::Chart;
use crate::report::design::Axis;
use crate::report::headline::Metric;
use crate::report::html::{escape, figures, page_head, shell_quote};
use crate::report::replications::{MetricEstimate, confidence_pct, num};

/// The sweep page's additions to the reports' style sheet.
const STYLE: &str = r#"
.badge.inconclusive { background: #b26a00; }
.v-pass { color: var(--ok); font-weight: 600; } .v-fail { color: var(--bad); font-weight: 600; }
.v-inconclusive { color: #b26a00; font-weight: 600; }
td small, th small { color: var(--muted); font-weight: 400; }
"#;

/// Points listed in a table before the rest are left to `sweep.csv`.
const ROWS_SHOWN: usize = 500;
/// An axis' values listed in full up to this many; more are shortened.
const VALUES_LISTED: usize = 12;

/// The metrics of the points table, after any an SLO bounds.
const KEY_METRICS: [&str; 5] =
    ["error_rate_pct", "users_affected_pct", "latency_p50_ms", "latency_p99_ms", "throughput_rps"];

/// The sweep's self-contained HTML page.
pub fn render(r: &SweepReport, charts: &[Chart]) -> String {
    let mut o = String::with_capacity(32 * 1024 + charts.iter().map(|c| c.svg.len()).sum::<usize>());
    page_head(&mut o, &r.lbsim_version, &format!("lbsim sweep: {}", r.scenario), STYLE);
    header(&mut o, r);
    verdicts(&mut o, r);
    knees(&mut o, r);
    figures(&mut o, charts);
    points(&mut o, r);
    let _ = write!(
        o,
        "<footer>Written by lbsim {}. Every metric of every point is in <code>sweep.csv</code> and \
         <code>sweep.json</code>.</footer>\n</body>\n</html>\n",
        escape(&r.lbsim_version)
    );
    o
}

/// The seeds of the replications: `42 to 51`.
fn seeds(r: &SweepReport) -> String {
    let last = r.first_seed.saturating_add((r.replications as u64).saturating_sub(1));
    if last == r.first_seed { r.first_seed.to_string() } else { format!("{} to {last}", r.first_seed) }
}

/// An axis' values for the page: all of them when they are few, else the
/// first few, an ellipsis and the last.
fn values_text(a: &Axis) -> String {
    let code = |t: &str| format!("<code>{}</code>", escape(t));
    let n = a.values.len();
    let listed: Vec<String> = if n <= VALUES_LISTED {
        a.values.iter().map(|v| code(&v.text)).collect()
    } else {
        let mut v: Vec<String> = a.values[..3].iter().map(|v| code(&v.text)).collect();
        v.push("…".into());
        v.extend(a.values[n - 2..].iter().map(|v| code(&v.text)));
        v
    };
    let count = if n == 1 { "1 value".to_string() } else { format!("{n} values") };
    format!("<code>{}</code>: {} ({count})", escape(&a.path), listed.join(", "))
}

fn header(o: &mut String, r: &SweepReport) {
    let _ = writeln!(o, "<header>\n<h1>{}</h1>", escape(&r.scenario));
    if !r.description.is_empty() {
        let _ = writeln!(o, "<p class=\"description\">{}</p>", escape(&r.description));
    }
    let axes: Vec<&str> = r.axes.iter().map(|a| a.path.as_str()).collect();
    let _ = writeln!(
        o,
        "<p>A sweep of {} over {}, each run {} times with common random numbers: replication <i>i</i> of \
         every point uses seed {} + <i>i</i>, so the points differ by their configuration, not by chance.</p>",
        if r.points.len() == 1 { "1 point".to_string() } else { format!("{} points", r.points.len()) },
        if axes.is_empty() {
            "nothing".to_string()
        } else {
            axes.iter().map(|a| format!("<code>{}</code>", escape(a))).collect::<Vec<_>>().join(" and ")
        },
        r.replications,
        r.first_seed
    );
    o.push_str("<dl class=\"meta\">\n");
    let mut item = |term: &str, html: String| {
        let _ = writeln!(o, "<dt>{term}</dt><dd>{html}</dd>");
    };
    if !r.file.is_empty() {
        item("Scenario file", format!("<code>{}</code>", escape(&r.file)));
    }
    for (i, a) in r.axes.iter().enumerate() {
        let role = match i {
            0 => "Swept (x axis)",
            _ if r.axes.len() == 2 => "Swept (one curve each)",
            _ => "Swept (curves)",
        };
        item(role, values_text(a));
    }
    item("Replications", format!("{} a point, seeds {}", r.replications, seeds(r)));
    item(
        "Confidence",
        format!("{} (Student-t intervals on the means; SLO verdicts at this level)", confidence_pct(r.confidence)),
    );
    if !r.sets.is_empty() {
        let list: Vec<String> = r.sets.iter().map(|v| format!("<code>{}</code>", escape(v))).collect();
        item("Overrides", list.join(" "));
    }
    if r.down > 0 {
        item(
            "Servers out",
            format!(
                "the {} largest of each server group out of rotation at every point (<code>--down {}</code>)",
                r.down, r.down
            ),
        );
    }
    item("Reproduce", format!("<code>{}</code>", escape(&reproduce(r))));
    o.push_str("</dl>\n</header>\n");
}

/// The command that runs this sweep again, the values of each axis listed.
pub fn reproduce(r: &SweepReport) -> String {
    let file = if r.file.is_empty() { "SCENARIO" } else { &r.file };
    let mut cmd = format!("lbsim sweep {}", shell_quote(file));
    for a in &r.axes {
        let values: Vec<&str> = a.values.iter().map(|v| v.text.as_str()).collect();
        let _ = write!(cmd, " --vary {}", shell_quote(&format!("{}={}", a.path, values.join(","))));
    }
    for v in &r.sets {
        let _ = write!(cmd, " --set {}", shell_quote(v));
    }
    let _ = write!(cmd, " --replications {} --seed {}", r.replications, r.first_seed);
    if r.confidence != 0.95 {
        let _ = write!(cmd, " --confidence {}", r.confidence);
    }
    if r.down > 0 {
        let _ = write!(cmd, " --down {}", r.down);
    }
    cmd
}

fn verdicts(o: &mut String, r: &SweepReport) {
    o.push_str("<section id=\"verdicts\">\n<h2>Verdict</h2>\n");
    if !r.slos_declared() {
        o.push_str(
            "<p>The scenario declares no SLO, so every point passes: the charts and the table below show how the \
             metrics move.</p>\n</section>\n",
        );
        return;
    }
    let (pass, fail, open) = r.verdict_counts();
    let conf = confidence_pct(r.confidence);
    let _ = writeln!(
        o,
        "<p><span class=\"badge pass\">{pass} PASS</span> <span class=\"badge fail\">{fail} FAIL</span> \
         <span class=\"badge inconclusive\">{open} INCONCLUSIVE</span> of {} points. A point passes when every SLO \
         holds with {conf} confidence (its whole interval on the passing side), fails when one fails with it, and is \
         inconclusive when an interval straddles a threshold: more replications may decide it.</p>",
        r.points.len()
    );
    let slos = &r.points[0].replications.slos;
    o.push_str("<table>\n<thead><tr><th>Point</th>");
    for s in slos {
        let name = if s.name == s.objective { String::new() } else { format!(" <small>{}</small>", escape(&s.name)) };
        let _ = write!(o, "<th><code>{}</code>{name}</th>", escape(&s.objective));
    }
    o.push_str("<th>Verdict</th></tr></thead>\n<tbody>\n");
    let (shown, rest) = r.points.split_at(r.points.len().min(ROWS_SHOWN));
    for p in shown {
        let _ = write!(o, "<tr><td>{}</td>", point_cell(r, p));
        for k in 0..slos.len() {
            match p.replications.slos.get(k) {
                Some(s) => {
                    let _ = write!(
                        o,
                        "<td class=\"v-{}\" title=\"{}\">{} <small>{} · met {}/{}</small></td>",
                        s.verdict.as_str(),
                        escape(&s.statement),
                        s.verdict.as_str(),
                        escape(&s.observed_text),
                        s.met,
                        s.replications
                    );
                }
                None => o.push_str("<td>n/a</td>"),
            }
        }
        let v = p.replications.verdict;
        let _ = writeln!(o, "<td class=\"v-{}\">{}</td></tr>", v.as_str(), v.as_str());
    }
    o.push_str("</tbody>\n</table>\n");
    more_rows(o, rest.len());
    o.push_str("</section>\n");
}

/// A point as its axis values, the first (the x axis) first.
fn point_cell(r: &SweepReport, p: &PointReport) -> String {
    if r.axes.len() == 1 {
        return p.values.first().map_or_else(String::new, |v| format!("<code>{}</code>", escape(&v.text)));
    }
    format!("<code>{}</code>", escape(&p.label))
}

fn more_rows(o: &mut String, n: usize) {
    if n > 0 {
        let _ = writeln!(o, "<p>{n} more points are in <code>sweep.csv</code>.</p>");
    }
}

fn metric_label(key: &str) -> &str {
    Metric::by_key(key).map_or(key, |m| m.label)
}

fn knees(o: &mut String, r: &SweepReport) {
    o.push_str("<section id=\"knees\">\n<h2>Knees</h2>\n");
    let Some(axis) = r.axes.first() else {
        o.push_str("<p>Nothing was swept.</p>\n</section>\n");
        return;
    };
    if r.knees.is_empty() {
        let why = if axis.kind.is_numeric() {
            "a knee needs a curve of at least 4 points that rises (or falls) by more than its widest confidence \
             interval, and bends away from the straight line through its ends"
        } else {
            "the first axis is a list of choices, not numbers, so its curves have no shape to bend"
        };
        let _ = writeln!(o, "<p>No curve has a knee: {why}.</p>\n</section>");
        return;
    }
    let _ = writeln!(
        o,
        "<p>Where each curve leaves the straight line through its ends furthest (both axes scaled to 0..1): past \
         its knee a metric changes faster (or slower) with <code>{}</code> than before it.</p>\n<ul>",
        escape(&axis.path)
    );
    for k in &r.knees {
        let series = if k.series.is_empty() { String::new() } else { format!(" (<code>{}</code>)", escape(&k.series)) };
        let _ = writeln!(
            o,
            "<li>{}{series} bends at <code>{}={}</code> (distance {}).</li>",
            escape(metric_label(k.metric)),
            escape(&axis.path),
            escape(&k.value),
            num(k.distance)
        );
    }
    o.push_str("</ul>\n</section>\n");
}

/// The metrics of the points table: those an SLO bounds, then the key
/// ones, each only when some point defines it.
fn table_metrics(r: &SweepReport) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = Vec::new();
    for k in r.thresholds.iter().filter_map(|t| t.metric).chain(KEY_METRICS) {
        let defined = r.points.iter().any(|p| estimate(p, k).is_some_and(|e| e.mean.is_some()));
        if defined && !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

fn estimate<'a>(p: &'a PointReport, key: &str) -> Option<&'a MetricEstimate> {
    p.replications.metrics.iter().find(|e| e.metric == key)
}

fn points(o: &mut String, r: &SweepReport) {
    o.push_str("<section id=\"points\">\n<h2>Points</h2>\n");
    let _ = writeln!(
        o,
        "<p>Means over {} replications with {} confidence intervals.</p>",
        r.replications,
        confidence_pct(r.confidence)
    );
    let keys = table_metrics(r);
    o.push_str("<table>\n<thead><tr>");
    for a in &r.axes {
        let _ = write!(o, "<th><code>{}</code></th>", escape(&a.path));
    }
    for k in &keys {
        let unit = Metric::by_key(k).map_or("", |m| m.unit);
        let unit = if unit.is_empty() { String::new() } else { format!(" <small>{}</small>", escape(unit)) };
        let _ = write!(o, "<th class=\"num\">{}{unit}</th>", escape(metric_label(k)));
    }
    if r.slos_declared() {
        o.push_str("<th>SLOs</th>");
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    let (shown, rest) = r.points.split_at(r.points.len().min(ROWS_SHOWN));
    for p in shown {
        o.push_str("<tr>");
        for v in &p.values {
            let _ = write!(o, "<td class=\"nowrap\">{}</td>", escape(&v.text));
        }
        for k in &keys {
            let _ = write!(o, "<td class=\"num\">{}</td>", estimate(p, k).map_or_else(|| "n/a".into(), mean_cell));
        }
        if r.slos_declared() {
            let v = p.replications.verdict;
            let _ = write!(o, "<td class=\"v-{}\">{}</td>", v.as_str(), v.as_str());
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table>\n");
    more_rows(o, rest.len());
    o.push_str("</section>\n");
}

/// `43.40 <small>[42.90, 43.90]</small>`: the mean and its interval, in
/// the column's unit.
fn mean_cell(e: &MetricEstimate) -> String {
    match (e.mean, e.ci_low, e.ci_high) {
        (Some(m), Some(lo), Some(hi)) => format!("{} <small>[{}, {}]</small>", num(m), num(lo), num(hi)),
        (Some(m), _, _) => num(m),
        _ => "n/a".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::fixtures::{axis, choices, sweep};

    fn chart(name: &str) -> Chart {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"1100\" height=\"560\" viewBox=\"0 0 1100 560\" xmlns=\"http://www.w3.org/2000/svg\"><g/></svg>\n";
        Chart { name: name.to_string(), title: format!("{name} <title>"), svg: svg.into(), png: Vec::new() }
    }

    const RATE: &str = "clients.web.rate=300/s..1000/s/100/s";

    #[test]
    fn the_page_is_a_complete_escaped_self_contained_document() {
        let r = sweep(vec![axis(RATE)], &["p99 < 300ms", "p999 < 1s"]);
        let charts = [chart("sweep-latency_p99_ms"), chart("sweep-slo-1")];
        let html = render(&r, &charts);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>lbsim sweep: made-up</title>"));
        assert!(html.trim_end().ends_with("</html>"));
        let outside_svg = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for outside in ["<script", "<link", "src=", "@import", "http://", "https://", "<?xml"] {
            assert!(!outside_svg.contains(outside), "{outside}");
        }
        assert!(html.contains("A &lt;b&gt;made-up&lt;/b&gt; sweep &amp; its &#39;quotes&#39;"));
        for id in ["verdicts", "knees", "charts", "points"] {
            assert!(html.contains(&format!("<section id=\"{id}\">")), "section {id}");
        }
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 2);
        assert!(html.contains("<figcaption>sweep-slo-1 &lt;title&gt;</figcaption>"));
        assert!(html.contains("id=\"chart-sweep-latency_p99_ms\""));
        assert_eq!(html, render(&r, &charts), "same input, same bytes");
    }

    #[test]
    fn the_page_says_what_was_swept_and_how_to_sweep_it_again() {
        let mut r = sweep(vec![axis(RATE), axis("servers.web.count=4,6")], &[]);
        r.down = 1;
        let html = render(&r, &[]);
        assert!(html.contains("<code>clients.web.rate</code>: <code>300/s</code>, <code>400/s</code>, <code>500/s</code>, <code>600/s</code>"));
        assert!(html.contains("(8 values)"));
        assert!(html.contains("<dt>Swept (one curve each)</dt><dd><code>servers.web.count</code>: <code>4</code>, <code>6</code> (2 values)</dd>"));
        assert!(html.contains("<dt>Replications</dt><dd>3 a point, seeds 42 to 44</dd>"));
        assert!(html.contains("<code>duration=40s</code>"));
        assert!(html.contains("(<code>--down 1</code>)"));
        assert_eq!(
            reproduce(&r),
            "lbsim sweep 'scenarios/made up.yaml' --vary clients.web.rate=300/s,400/s,500/s,600/s,700/s,800/s,900/s,1000/s \
             --vary servers.web.count=4,6 --set duration=40s --replications 3 --seed 42 --down 1"
        );
        assert!(html.contains("The scenario declares no SLO, so every point passes"));
        assert!(!html.contains("<section id=\"charts\">"), "no charts, no section");
        // Long axes are shortened.
        let long = sweep(vec![axis("clients.web.rate=100/s..4000/s/100/s")], &[]);
        assert!(
            render(&long, &[]).contains("<code>300/s</code>, …, <code>3900/s</code>, <code>4000/s</code> (40 values)")
        );
    }

    #[test]
    fn the_verdicts_count_the_points_and_give_each_slo_at_each_point() {
        let r = sweep(vec![axis(RATE)], &["p99 < 300ms"]);
        let html = render(&r, &[]);
        let (pass, fail, open) = r.verdict_counts();
        assert_eq!(pass + fail + open, 8);
        assert!(pass > 0 && fail > 0, "{pass} {fail} {open}");
        assert!(html.contains(&format!("<span class=\"badge pass\">{pass} PASS</span>")));
        assert!(html.contains(&format!("<span class=\"badge fail\">{fail} FAIL</span>")));
        assert!(html.contains("<th><code>p99 &lt; 300ms</code></th>"));
        let first = &r.points[0].replications.slos[0];
        let cell = format!(
            "<td class=\"v-pass\" title=\"{}\">pass <small>{} · met 3/3</small></td>",
            escape(&first.statement),
            escape(&first.observed_text)
        );
        assert!(html.contains(&cell), "{cell}");
        assert!(html.contains("<td class=\"v-fail\">fail</td></tr>"));
        // The knee in words.
        let k = r.knees.iter().find(|k| k.metric == "latency_p99_ms").unwrap();
        assert!(
            html.contains(&format!("<li>latency p99 bends at <code>clients.web.rate={}</code>", k.value)),
            "{:?}",
            r.knees
        );
        // The points table: the bounded metric first, means with intervals.
        let p99 = r.points[0].replications.metrics.iter().find(|m| m.metric == "latency_p99_ms").unwrap();
        assert!(html.contains(&format!("<td class=\"num\">{}</td>", mean_cell(p99))));
        assert!(html.contains("<th class=\"num\">latency p99 <small>ms</small></th>"));
    }

    #[test]
    fn odd_sweeps_give_a_page() {
        let text = sweep(vec![choices("balancers.edge.algorithm", &["round_robin", "random"])], &["p99 < 300ms"]);
        assert!(render(&text, &[]).contains("the first axis is a list of choices"));
        let mut empty = sweep(vec![axis(RATE)], &[]);
        empty.points.clear();
        empty.axes.clear();
        empty.replications = 0;
        let html = render(&empty, &[]);
        assert!(html.contains("Nothing was swept."));
        let mut many = sweep(vec![axis("clients.web.rate=1/s..600/s/1/s")], &["p99 < 300ms"]);
        many.points.iter_mut().for_each(|p| p.replications.slos.clear());
        let html = render(&many, &[]);
        assert!(html.contains("100 more points are in <code>sweep.csv</code>."));
    }
}
