//! Charts with plotters, as SVG and PNG: traffic share per server, latency
//! percentiles, error and timeout rates, users affected, queue depth and
//! utilisation per server, and the latency percentile spectrum; for a
//! comparison, both runs overlaid; for a sweep, each metric against the
//! first axis; for a capacity search, its probes.
//!
//! `build` and `experiment` decide what each chart shows (as a plain
//! `Figure`), `draw` renders a figure on any plotters backend, `encode`
//! turns it into SVG text and PNG bytes. Charts are rendered in parallel; the output depends
//! only on the `ChartData`, byte for byte.

mod build;
mod draw;
mod encode;
mod experiment;
mod figure;
mod heatmap;
mod legend;
mod points;
mod raster;
mod scale;
mod style;

use rayon::prelude::*;

use self::figure::Figure;
use super::Chart;
use super::chartdata::ChartData;

/// Every chart of one run.
pub fn render_all(data: &ChartData) -> Vec<Chart> {
    render(build::run_figures(data))
}

/// The two runs of a comparison overlaid on the same axes.
pub fn render_overlay(a: &ChartData, a_label: &str, b: &ChartData, b_label: &str) -> Vec<Chart> {
    render(build::overlay_figures(a, a_label, b, b_label))
}

/// A sweep's charts: each headline metric that varies against the first
/// axis (`sweep-<metric>`), then each SLO no headline metric matches
/// (`sweep-slo-<i>`).
pub fn render_sweep(report: &crate::report::sweep::SweepReport) -> Vec<Chart> {
    render(experiment::sweep_figures(report))
}

/// A capacity search's probes: `capacity-probes`, or one chart per SLO
/// (`capacity-probes-<i>`) when the SLOs are in different units.
pub fn render_capacity(report: &crate::report::capacity::CapacityReport) -> Vec<Chart> {
    render(experiment::capacity_figures(report))
}

fn render(figures: Vec<Figure>) -> Vec<Chart> {
    figures.par_iter().map(render_one).collect()
}

/// SVG and PNG of one figure, side by side.
fn render_one(fig: &Figure) -> Chart {
    let (svg, png) = rayon::join(|| encode::svg(fig), || encode::png(fig));
    Chart {
        name: fig.name.clone(),
        title: fig.title.clone(),
        svg: svg.unwrap_or_else(|e| failed_svg(&e)),
        png: png.unwrap_or_else(|_| failed_png()),
    }
}

/// Drawing fails only if plotters does or the embedded font is unreadable:
/// say so in the report rather than stop the run's other outputs.
fn failed_svg(reason: &str) -> String {
    let escaped = super::html::escape(reason);
    format!(
        "<svg width=\"{w}\" height=\"60\" xmlns=\"http://www.w3.org/2000/svg\">\
         <text x=\"10\" y=\"30\" font-family=\"{f}\">chart could not be drawn: {escaped}</text></svg>\n",
        w = style::WIDTH,
        f = style::FAMILY,
    )
}

/// A blank image of the charts' size.
fn failed_png() -> Vec<u8> {
    let white = vec![255u8; style::WIDTH as usize * style::HEIGHT as usize * 3];
    encode::encode_png(&white, style::WIDTH, style::HEIGHT).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::WallClock;
    use crate::report::chartdata::{AlertMark, ChangeMark};

    /// A made-up run: `servers` servers over `buckets` 10 s buckets, server 1
    /// slowed (and taking less traffic) from 30% to 60% of the run, a restart
    /// at 70%, an alert during the slowdown, a warm-up, and no traffic at all
    /// in two buckets.
    fn synthetic(servers: usize, buckets: usize, clock: bool) -> ChartData {
        let end = buckets as f64 * 10.0;
        let t_s: Vec<f64> = (0..buckets).map(|k| k as f64 * 10.0).collect();
        let slow = |k: usize| (buckets * 3 / 10..buckets * 6 / 10).contains(&k);
        let gap = |k: usize| k == buckets / 2 || k == buckets / 2 + 1;
        let per_bucket = |f: &dyn Fn(usize) -> f64| -> Vec<f64> {
            (0..buckets).map(|k| if gap(k) { f64::NAN } else { f(k) }).collect()
        };
        let wave = |k: usize, s: usize| 1.0 + 0.3 * ((k as f64 / 17.0 + s as f64).sin());
        let weight = |k: usize, s: usize| if s == 1 && slow(k) { 0.2 } else { wave(k, s) };
        let per_server = |f: &dyn Fn(usize, usize) -> f64| -> Vec<Vec<f32>> {
            (0..servers)
                .map(|s| (0..buckets).map(|k| if gap(k) { f32::NAN } else { f(k, s) as f32 }).collect())
                .collect()
        };
        let total = |k: usize| (0..servers).map(|s| weight(k, s)).sum::<f64>();
        ChartData {
            scenario: format!("synthetic-{servers}"),
            clock: clock.then_some(WallClock::from_parts(1_717_250_400, 120)),
            duration_s: end,
            warmup_s: end / 20.0,
            bucket_s: 10.0,
            t_s,
            request_rate: per_bucket(&|_| 200.0),
            error_rate: per_bucket(&|k| if slow(k) { 0.04 } else { 0.001 }),
            timeout_rate: per_bucket(&|k| if slow(k) { 0.03 } else { 0.0 }),
            p50_ms: per_bucket(&|k| 20.0 * wave(k, 0)),
            p90_ms: per_bucket(&|k| 60.0 * wave(k, 1)),
            p99_ms: per_bucket(&|k| if slow(k) { 2500.0 } else { 150.0 * wave(k, 2) }),
            users_affected_pct: per_bucket(&|k| 12.0 * k as f64 / buckets as f64),
            users_affected_or_slowed_pct: per_bucket(&|k| 30.0 * k as f64 / buckets as f64),
            users_failing: per_bucket(&|k| if slow(k) { 40.0 } else { 1.0 }),
            servers: (0..servers).map(|s| format!("web-{s:03}")).collect(),
            share: per_server(&|k, s| weight(k, s) / total(k)),
            utilisation: per_server(&|k, s| if s == 1 && slow(k) { 0.98 } else { 0.5 * wave(k, s) }),
            queue: per_server(&|k, s| if s == 1 && slow(k) { 40.0 } else { 2.0 * wave(k, s) }),
            changes: vec![
                ChangeMark {
                    from_s: 0.3 * end,
                    until_s: Some(0.6 * end),
                    instant: false,
                    label: "slow web-001".into(),
                },
                ChangeMark { from_s: 0.7 * end, until_s: None, instant: true, label: "restart web-000".into() },
            ],
            alerts: vec![AlertMark { at_s: 0.33 * end, resolved_s: Some(0.62 * end), label: "error-spike".into() }],
            spectrum: (0..=100)
                .map(|k| 1.0 - 10f64.powf(-0.05 * f64::from(k)))
                .map(|q| (q, 10.0 / (1.0 - q).powf(0.4)))
                .collect(),
        }
    }

    const RUN_CHARTS: [&str; 7] =
        ["traffic-share", "latency", "errors", "users", "utilisation", "queue", "latency-spectrum"];
    /// The bound on one chart's SVG, which report.html inlines.
    const MAX_SVG_BYTES: usize = 1_500_000;

    fn chart<'a>(charts: &'a [Chart], name: &str) -> &'a Chart {
        charts.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no chart {name}"))
    }

    fn names(charts: &[Chart]) -> Vec<&str> {
        charts.iter().map(|c| c.name.as_str()).collect()
    }

    fn assert_svg_document(c: &Chart) {
        assert!(c.svg.starts_with("<svg"), "{}: {}", c.name, &c.svg[..c.svg.len().min(80)]);
        assert!(c.svg.trim_end().ends_with("</svg>"), "{}", c.name);
        assert_eq!(c.svg.matches("<text").count(), c.svg.matches("</text>").count(), "{}", c.name);
    }

    #[test]
    fn a_run_gives_seven_charts_in_order_with_labelled_axes() {
        let charts = render_all(&synthetic(2, 60, false));
        assert_eq!(names(&charts), RUN_CHARTS);
        for c in &charts {
            assert_svg_document(c);
            assert!(!c.title.is_empty());
            assert!(c.svg.contains("synthetic-2 · "), "{}: title without the scenario", c.name);
        }
        let expect = [
            ("traffic-share", "share of requests (%)"),
            ("latency", "response time (log scale)"),
            ("latency", "20 ms"),
            ("errors", "failed (% of answered requests)"),
            ("users", "users affected (% of active users)"),
            ("utilisation", "utilisation (%)"),
            ("queue", "queue (requests waiting)"),
            ("latency-spectrum", "percentile (%, log scale of nines)"),
            ("latency-spectrum", "99.9%"),
            ("latency-spectrum", "response time (log scale)"),
        ];
        for (name, text) in expect {
            assert!(chart(&charts, name).svg.contains(text), "{name} lacks {text:?}");
        }
        for name in &RUN_CHARTS[..6] {
            assert!(chart(&charts, name).svg.contains("time since start (min)"), "{name}");
        }
    }

    #[test]
    fn legends_name_the_servers_and_the_marks() {
        let charts = render_all(&synthetic(2, 60, false));
        for name in ["traffic-share", "utilisation", "queue"] {
            let svg = &chart(&charts, name).svg;
            assert!(svg.contains(">\nweb-000\n<") && svg.contains(">\nweb-001\n<"), "{name}");
        }
        for name in ["latency", "errors", "users", "traffic-share", "utilisation", "queue"] {
            let svg = &chart(&charts, name).svg;
            for text in ["error-spike", "alert fired", "slow web-001", "restart web-000", "warm-up"] {
                assert!(svg.contains(text), "{name} lacks {text:?}");
            }
        }
        let latency = &chart(&charts, "latency").svg;
        for series in ["p50", "p90", "p99", "errors (all failures)"] {
            assert_eq!(latency.contains(&format!("\n{series}\n")), series != "errors (all failures)", "{series}");
        }
    }

    #[test]
    fn the_clock_labels_time_of_day_in_the_scenarios_offset() {
        // Starts 14:00 UTC, shown at UTC+02:00; 10 minutes in ticks of 2.
        let charts = render_all(&synthetic(2, 60, true));
        for name in &RUN_CHARTS[..6] {
            let svg = &chart(&charts, name).svg;
            assert!(svg.contains("time (UTC+02:00), starting 2024-06-01 16:00"), "{name}");
            assert!(svg.contains("\n16:02\n") && svg.contains("\n16:10\n"), "{name}");
            assert!(!svg.contains("time since start"), "{name}");
        }
    }

    #[test]
    fn five_hundred_servers_fold_into_bands_and_heat_maps_of_bounded_size() {
        let charts = render_all(&synthetic(500, 720, false));
        assert_eq!(names(&charts), RUN_CHARTS);
        let share = &chart(&charts, "traffic-share").svg;
        assert!(share.contains("others (493 servers)"));
        assert_eq!(share.matches("<polygon").count(), 8 * 2, "8 bands, each broken once by the gap");
        for name in ["utilisation", "queue"] {
            let svg = &chart(&charts, name).svg;
            assert!(svg.contains("busiest of its 9 servers") && svg.contains("web-000–008"), "{name}");
            let series = svg.lines().filter(|l| l.starts_with("<polyline") && l.matches(',').count() > 2);
            assert_eq!(series.count(), 0, "{name}: lines instead of a heat map");
        }
        for c in &charts {
            assert_svg_document(c);
            assert!(c.svg.len() < MAX_SVG_BYTES, "{}: {} bytes", c.name, c.svg.len());
        }
    }

    /// Utilisation and queue whose level changes from every heat-map cell
    /// (9 servers by 6 buckets) to the next, so that no cells merge: the
    /// heat map's worst case.
    fn checkered(mut d: ChartData) -> ChartData {
        let level = |s: usize, k: usize| ((s / 9 + k / 6) % 10) as f32;
        for (s, series) in d.utilisation.iter_mut().enumerate() {
            series.iter_mut().enumerate().for_each(|(k, v)| *v = (level(s, k) + 0.5) / 10.0);
        }
        for (s, series) in d.queue.iter_mut().enumerate() {
            series.iter_mut().enumerate().for_each(|(k, v)| *v = 5.0 * level(s, k) + 2.5);
        }
        d
    }

    #[test]
    fn heat_maps_stay_under_the_bound_when_no_cells_merge() {
        let charts = render_all(&checkered(synthetic(500, 720, true)));
        for name in ["utilisation", "queue"] {
            let c = chart(&charts, name);
            assert!(c.svg.len() < MAX_SVG_BYTES, "{name}: {} bytes", c.svg.len());
            // A rectangle a cell (56 rows x 120 columns), and a few for the legend.
            let rects = c.svg.matches("<rect").count();
            assert!((56 * 120..56 * 120 + 40).contains(&rects), "{name}: {rects} rectangles");
        }
    }

    /// The image's pixels as RGB triples.
    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{e}"));
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Rgb, png::BitDepth::Eight));
        let pixels = buf[..info.buffer_size()].chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
        (info.width, info.height, pixels)
    }

    #[test]
    fn pngs_decode_to_full_size_images_with_content() {
        let charts = render_all(&synthetic(16, 720, true));
        for c in &charts {
            let (w, h, pixels) = decode(&c.png);
            assert_eq!((w, h), (style::WIDTH, style::HEIGHT), "{}", c.name);
            let inked = pixels.iter().filter(|p| **p != [255, 255, 255]).count();
            assert!(inked > pixels.len() / 50, "{}: only {inked} pixels drawn", c.name);
            let colours: std::collections::BTreeSet<[u8; 3]> = pixels.into_iter().collect();
            assert!(colours.len() > 20, "{}: {} colours", c.name, colours.len());
        }
        // The heat map (16 servers) has its colour scale's dark red.
        let (_, _, pixels) = decode(&chart(&charts, "queue").png);
        assert!(pixels.contains(&[128, 0, 38]));
    }

    #[test]
    fn rendering_twice_gives_the_same_bytes() {
        let d = synthetic(16, 720, true);
        let (first, second) = (render_all(&d), render_all(&d));
        for (a, b) in first.iter().zip(&second) {
            assert!(a.svg == b.svg, "{}: SVG differs", a.name);
            assert!(a.png == b.png, "{}: PNG differs", a.name);
        }
        let overlay = || render_overlay(&d, "a", &synthetic(16, 720, false), "b");
        assert!(overlay().iter().zip(overlay()).all(|(a, b)| a.svg == b.svg && a.png == b.png));
    }

    #[test]
    fn a_chart_that_could_not_be_drawn_says_why_in_its_place() {
        let svg = failed_svg("font <missing> & \"unreadable\"");
        assert!(svg.starts_with("<svg width=\"1100\" height=\"60\""), "{svg}");
        assert!(svg.contains(">chart could not be drawn: font &lt;missing&gt; &amp; &quot;unreadable&quot;</text>"));
        assert_eq!(decode(&failed_png()).0, style::WIDTH);
    }

    #[test]
    fn empty_data_gives_empty_charts_that_say_so() {
        let charts = render_all(&ChartData::default());
        assert_eq!(names(&charts), RUN_CHARTS);
        for c in &charts {
            assert_svg_document(c);
            assert!(c.svg.contains("no data"), "{}", c.name);
            assert_eq!(decode(&c.png).0, style::WIDTH);
        }
        let overlay = render_overlay(&ChartData::default(), "a", &ChartData::default(), "b");
        assert!(overlay.iter().all(|c| c.svg.contains("no data")));
    }

    #[test]
    fn gaps_nans_and_inconsistent_data_do_not_panic() {
        let mut d = synthetic(3, 20, true);
        let nan = f64::NAN;
        d.p99_ms = vec![nan; 20];
        d.p50_ms.truncate(5);
        d.error_rate = vec![f64::INFINITY, -1.0, nan];
        d.share = vec![vec![f32::NAN; 20]; 3];
        d.utilisation.truncate(1);
        d.queue[2] = vec![f32::INFINITY; 20];
        d.servers.push("without-series".into());
        d.warmup_s = nan;
        d.bucket_s = 0.0;
        d.t_s[7] = nan;
        d.changes.push(ChangeMark { from_s: 150.0, until_s: Some(10.0), instant: false, label: String::new() });
        d.alerts.push(AlertMark { at_s: nan, resolved_s: Some(f64::INFINITY), label: "odd".into() });
        d.spectrum = vec![(0.0, nan), (1.0, 5.0), (0.5, -3.0)];
        let charts = render_all(&d);
        assert_eq!(names(&charts), RUN_CHARTS);
        assert!(chart(&charts, "traffic-share").svg.contains("no data"));
        d.duration_s = nan;
        d.t_s.clear();
        assert_eq!(render_all(&d).len(), 7);
        let many = synthetic(40, 3, false);
        assert_eq!(render_overlay(&d, "", &many, "").len(), 4);
    }

    #[test]
    fn overlays_draw_both_runs_with_their_labels() {
        let base = synthetic(4, 120, false);
        let mut changed = synthetic(4, 120, false);
        changed.changes.truncate(1);
        let charts = render_overlay(&base, "baseline", &changed, "least-conn");
        assert_eq!(names(&charts), ["compare-latency", "compare-errors", "compare-users", "compare-spectrum"]);
        let latency = &chart(&charts, "compare-latency").svg;
        for label in ["baseline p99", "baseline p50", "least-conn p99", "least-conn p50"] {
            assert!(latency.contains(label), "{label}");
        }
        // The runs' changes differ: each is shaded in its run's colour.
        assert!(latency.contains("change (baseline)") && latency.contains("change (least-conn)"));
        assert!(chart(&charts, "compare-errors").svg.contains("least-conn errors"));
        assert!(chart(&charts, "compare-users").svg.contains("baseline failed or slowed"));
        assert!(chart(&charts, "compare-spectrum").svg.contains("99.9%"));
        for c in &charts {
            assert_svg_document(c);
            assert!(c.svg.contains("baseline vs least-conn · "), "{}", c.name);
        }
    }

    #[test]
    fn a_simulated_run_charts_its_timeline() {
        let scenario = "
name: charts-run
seed: 3
duration: 4m
warmup: 30s
interval: 5s
clients:
  web: {target: lb, rate: 150/s, users: 300, timeout: 1s}
balancers:
  lb: {algorithm: least_connections, backends: [a, b, c]}
servers:
  a: {workers: 4, service: {exponential: 15ms}}
  b: {workers: 4, service: {exponential: 15ms}}
  c: {workers: 4, service: {exponential: 15ms}}
timeline:
  - {name: c-broken, at: 1m, server: c, error_rate: 50%, duration: 1m}
alerts:
  - {name: errors-high, metric: error_rate, above: 5%, for: 10s}
";
        let world = crate::model::load_str("t.yaml", scenario).unwrap_or_else(|e| panic!("{e}"));
        let d = ChartData::from_run(&crate::sim::run_quiet(world));
        let charts = render_all(&d);
        assert_eq!(names(&charts), RUN_CHARTS);
        for c in &charts {
            assert_svg_document(c);
            assert!(c.svg.contains("charts-run · "));
            assert!(decode(&c.png).2.iter().filter(|p| **p != [255, 255, 255]).count() > 10_000, "{}", c.name);
        }
        let errors = &chart(&charts, "errors").svg;
        assert!(errors.contains("c-broken") && errors.contains("errors-high"));
        assert!(chart(&charts, "traffic-share").svg.contains("\nc\n"));
        assert!(!chart(&charts, "latency").svg.contains("no data"));
    }

    fn sweep_charts(axes: &[&str], slos: &[&str]) -> Vec<Chart> {
        use crate::experiment::fixtures::{axis, sweep};
        render_sweep(&sweep(axes.iter().map(|a| axis(a)).collect(), slos))
    }

    #[test]
    fn sweep_charts_are_documents_with_their_thresholds_knees_and_legends() {
        let charts = sweep_charts(&["clients.web.rate=300/s..1000/s/100/s"], &["p99 < 300ms", "p999 < 1s"]);
        assert!(charts.len() > 5, "{:?}", names(&charts));
        for c in &charts {
            assert_svg_document(c);
            assert!(c.svg.contains("made-up · "), "{}", c.name);
            assert!(c.svg.contains("clients.web.rate (/s)"), "{}", c.name);
            let (w, h, pixels) = decode(&c.png);
            assert_eq!((w, h), (style::WIDTH, style::HEIGHT), "{}", c.name);
            assert!(pixels.iter().filter(|p| **p != [255, 255, 255]).count() > pixels.len() / 50, "{}", c.name);
        }
        let p99 = &chart(&charts, "sweep-latency_p99_ms").svg;
        for text in ["SLO p99 &lt; 300ms", "knee (sharpest bend)", "95% confidence interval", "fails"] {
            assert!(p99.contains(text), "the p99 chart lacks {text:?}");
        }
        assert!(p99.contains(">\nknee "), "no knee label on the plot");
        assert!(p99.contains("<circle"), "no markers");
        assert!(chart(&charts, "sweep-slo-1").svg.contains("SLO p999 &lt; 1s"));
        assert!(charts.iter().all(|c| !c.svg.contains(" id=") && !c.svg.contains("url(#")));
    }

    #[test]
    fn sweep_charts_read_with_one_curve_and_with_six_and_forty_points() {
        for axes in [
            &["clients.web.rate=300/s..500/s/100/s"][..],
            &["clients.web.rate=100/s..4000/s/100/s", "servers.web.count=4..9"][..],
        ] {
            let charts = sweep_charts(axes, &["p99 < 300ms"]);
            for c in &charts {
                assert_svg_document(c);
                assert!(c.svg.len() < MAX_SVG_BYTES, "{}: {} bytes", c.name, c.svg.len());
            }
        }
        let six = sweep_charts(&["clients.web.rate=100/s..4000/s/100/s", "servers.web.count=4..9"], &[]);
        let svg = &chart(&six, "sweep-latency_p99_ms").svg;
        assert!(svg.contains(">\nservers.web.count\n<") && svg.contains(">\n9\n<"), "the legend names the curves");
    }

    #[test]
    fn sweep_charts_render_the_same_bytes_twice() {
        let twice =
            || sweep_charts(&["clients.web.rate=300/s..1000/s/100/s", "a.b=1,2"], &["p99 < 300ms", "p999 < 1s"]);
        let (a, b) = (twice(), twice());
        assert_eq!(names(&a), names(&b));
        assert!(a.iter().zip(&b).all(|(a, b)| a.svg == b.svg && a.png == b.png));
    }

    /// Writes sample charts to `target/chart-previews/` to look at them:
    /// `cargo test --lib report::charts::tests::previews -- --ignored`.
    #[test]
    #[ignore]
    fn previews() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/chart-previews");
        std::fs::create_dir_all(&dir).unwrap();
        let mut better = synthetic(4, 120, true);
        better.changes.truncate(1);
        better.p99_ms.iter_mut().for_each(|v| *v /= 3.0);
        let runs = [
            ("s2", render_all(&synthetic(2, 60, false))),
            ("s16", render_all(&synthetic(16, 720, true))),
            ("s500", render_all(&synthetic(500, 720, false))),
            ("s500-checkered", render_all(&checkered(synthetic(500, 720, false)))),
            ("empty", render_all(&ChartData::default())),
            ("overlay", render_overlay(&synthetic(4, 120, true), "baseline", &better, "least-conn")),
            ("sweep1", sweep_charts(&["clients.web.rate=300/s..500/s/100/s"], &["p99 < 300ms", "p999 < 1s"])),
            (
                "sweep6",
                sweep_charts(&["clients.web.rate=100/s..4000/s/100/s", "servers.web.count=4..9"], &["p99 < 300ms"]),
            ),
            ("capacity", {
                use crate::experiment::fixtures::{probe, search};
                use crate::report::replications::Verdict::{Fail, Inconclusive, Pass};
                let probes = vec![
                    probe(1, 300.0, 120.0, Pass, None),
                    probe(2, 2000.0, 900.0, Fail, None),
                    probe(3, 1150.0, 310.0, Inconclusive, None),
                    probe(4, 725.0, 200.0, Pass, None),
                    probe(5, 938.0, 260.0, Pass, None),
                    probe(6, 1044.0, 290.0, Inconclusive, None),
                    probe(7, 991.0, 280.0, Pass, None),
                    probe(8, 1017.0, 284.0, Pass, None),
                    probe(9, 1030.0, 287.0, Fail, None),
                ];
                render_capacity(&search(probes, Some(1017.0)))
            }),
            ("sweep-text", {
                use crate::experiment::fixtures::{axis, choices, sweep};
                let algorithms = choices("balancers.edge.algorithm", &["round_robin", "least_connections", "random"]);
                render_sweep(&sweep(vec![algorithms, axis("x.y=1,2,3")], &["p99 < 300ms"]))
            }),
        ];
        for (tag, charts) in &runs {
            for c in charts {
                std::fs::write(dir.join(format!("{tag}-{}.png", c.name)), &c.png).unwrap();
                std::fs::write(dir.join(format!("{tag}-{}.svg", c.name)), &c.svg).unwrap();
            }
        }
    }
}
