//! Draws a figure on any plotters backend, so that the SVG and the PNG come
//! from the same code: the title, a lane above the plot naming the warm-up,
//! changes and alerts, the axes, the series, the shading of the warm-up and
//! changes, alert lines, and the legend to the right of the plot (where it
//! cannot cover data). Point plots are drawn by `points`.

use std::collections::BTreeSet;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure::{Band, Figure, Line, Marks, Plot, colours, runs};
use super::heatmap::{HeatMap, LEVELS, row_runs};
use super::legend;
use super::scale::Scale;
use super::style::{DrawResult, Frame, LEGEND_W, darker, text_style, tint, warmup_tint};

const TITLE_H: u32 = 40;
/// Two rows of marks above the plot: the warm-up and changes, then alerts.
const LANE_ROW_H: i32 = 17;
const LANE_H: u32 = 2 * LANE_ROW_H as u32 + 6;
const X_LABEL_H: u32 = 46;
/// Most dashes in one dashed line, so that a jagged series cannot bloat the SVG.
const MAX_DASHES: f64 = 300.0;

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Scale, Scale>>;

/// The frame of a plotted chart: its rectangle and scales.
fn frame_of<DB: DrawingBackend>(chart: &Chart<DB>, x: &Scale, y: &Scale) -> Frame {
    let (left, bottom) = chart.backend_coord(&(x.lo, y.lo));
    let (right, top) = chart.backend_coord(&(x.hi, y.hi));
    Frame { x: x.clone(), y: y.clone(), left, right, top, bottom }
}

/// The whole chart.
pub(super) fn draw<DB: DrawingBackend>(fig: &Figure, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    root.draw(&Text::new(fig.heading.clone(), (16, 12), text_style(20.0, colours::TEXT)))?;
    let lane_h = if fig.marks.is_empty() { 0 } else { LANE_H };
    let body = root.margin(TITLE_H + lane_h, 0, 0, LEGEND_W);
    let mut chart = ChartBuilder::on(&body)
        .margin(10)
        .margin_left(14)
        .x_label_area_size(X_LABEL_H)
        .y_label_area_size(y_label_width(root, &fig.y)?)
        .build_cartesian_2d(fig.x.clone(), fig.y.clone())?;
    draw_mesh(&mut chart, fig)?;
    let frame = frame_of(&chart, &fig.x, &fig.y);
    match &fig.plot {
        Plot::Lines(lines) => {
            draw_spans(root, &frame, &fig.marks)?;
            draw_lines(&mut chart, &frame, lines)?;
        }
        Plot::Stack(bands) => {
            draw_bands(&mut chart, bands)?;
            draw_spans(root, &frame, &fig.marks)?;
        }
        Plot::Heat(heat) => {
            draw_heat(&mut chart, heat)?;
            draw_span_edges(root, &frame, &fig.marks)?;
        }
        Plot::Points(points) => super::points::draw(root, &frame, points)?,
    }
    draw_alert_lines(root, &frame, &fig.marks)?;
    if !fig.marks.is_empty() {
        draw_lane(root, &frame, &fig.marks)?;
    }
    if !fig.has_data() {
        let centre = ((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2);
        let style = text_style(22.0, colours::MUTED).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new("no data", centre, style))?;
    }
    legend::draw(root, &frame, fig)
}

/// Room for the y tick labels (heat-map rows can be long names) and the
/// axis title.
fn y_label_width<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    y: &Scale,
) -> Result<u32, DrawingAreaErrorKind<DB::ErrorType>> {
    let style = text_style(13.0, colours::TEXT);
    let mut widest = 0;
    for t in &y.ticks {
        widest = widest.max(root.estimate_text_size(&t.text, &style)?.0);
    }
    Ok((widest + 44).clamp(64, 220))
}

fn draw_mesh<DB: DrawingBackend>(chart: &mut Chart<DB>, fig: &Figure) -> DrawResult<DB> {
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(fig.x.label.as_str())
        .y_desc(fig.y.label.as_str())
        .label_style(text_style(13.0, colours::TEXT))
        .axis_desc_style(text_style(15.0, colours::TEXT))
        .bold_line_style(colours::GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(colours::MUTED)
        .x_labels(32)
        .y_labels(32);
    if matches!(fig.plot, Plot::Heat(_)) {
        mesh.disable_mesh();
    }
    mesh.draw()
}

/// A run's points, a lone point spread over its bucket so that it shows.
fn spread<P: Copy>(run: &[P], step: f64, shift: fn(P, f64) -> P) -> Vec<P> {
    match run {
        [p] if step > 0.0 => vec![shift(*p, -step / 2.0), shift(*p, step / 2.0)],
        _ => run.to_vec(),
    }
}

fn draw_lines<DB: DrawingBackend>(chart: &mut Chart<DB>, frame: &Frame, lines: &[Line]) -> DrawResult<DB> {
    for line in lines {
        let style = line.colour.stroke_width(line.width);
        for run in runs(&line.points) {
            let points = spread(run, line.step, |(x, y), dx| (x + dx, y));
            if line.dashed {
                let dash = dash_length(frame, &points);
                chart.draw_series(DashedLineSeries::new(points, dash, dash * 0.6, style))?;
            } else {
                chart.draw_series(LineSeries::new(points, style))?;
            }
        }
    }
    Ok(())
}

/// 8 px dashes, longer when the path is so long that they would number
/// more than [`MAX_DASHES`].
fn dash_length(frame: &Frame, points: &[(f64, f64)]) -> f64 {
    let pixels: Vec<(f64, f64)> =
        points.iter().map(|&(x, y)| (f64::from(frame.px(x)), f64::from(frame.py(y)))).collect();
    let length: f64 = pixels.windows(2).map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1)).sum();
    (length / MAX_DASHES / 1.6).max(8.0)
}

fn draw_bands<DB: DrawingBackend>(chart: &mut Chart<DB>, bands: &[Band]) -> DrawResult<DB> {
    for band in bands {
        for run in runs(&band.points) {
            let run = spread(run, band.step, |(x, lo, hi), dx| (x + dx, lo, hi));
            let upper = run.iter().map(|&(x, _, hi)| (x, hi));
            let lower = run.iter().rev().map(|&(x, lo, _)| (x, lo));
            let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
            chart.draw_series(std::iter::once(Polygon::new(outline, band.colour.filled())))?;
        }
    }
    Ok(())
}

/// The cells, rows top down, each run of one colour as one rectangle, on
/// a pale background that stands for "no data".
fn draw_heat<DB: DrawingBackend>(chart: &mut Chart<DB>, heat: &HeatMap) -> DrawResult<DB> {
    let n = heat.rows.len();
    let (first, last) = (heat.col_edges[0], heat.col_edges[heat.col_edges.len() - 1]);
    if n > 0 {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(first, 0.0), (last, n as f64)],
            colours::NO_DATA.filled(),
        )))?;
    }
    let cells = heat.cells.iter().enumerate().flat_map(|(r, row)| {
        let (bottom, top) = ((n - r - 1) as f64, (n - r) as f64);
        row_runs(row).into_iter().map(move |(a, b, level)| {
            let corners = [(heat.col_edges[a], top), (heat.col_edges[b], bottom)];
            Rectangle::new(corners, colours::heat(level, LEVELS).filled())
        })
    });
    chart.draw_series(cells)?;
    Ok(())
}

/// The warm-up and each change's span shaded, instant changes as lines.
fn draw_spans<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, marks: &Marks) -> DrawResult<DB> {
    let shade = |from: f64, to: f64, colour: RGBAColor| {
        let (x0, x1) = (frame.px(from), frame.px(to));
        root.draw(&Rectangle::new([(x0, frame.top), (x1.max(x0 + 1), frame.bottom)], colour.filled()))
    };
    if marks.warmup_s > 0.0 {
        shade(0.0, marks.warmup_s, warmup_tint())?;
    }
    for set in &marks.changes {
        for c in set.marks.iter().filter(|c| !c.instant) {
            shade(c.from_s, c.until_s.unwrap_or(marks.end_s), tint(set.colour))?;
        }
    }
    draw_instants(root, frame, marks)
}

/// On a heat map, where tints would change the colours' meaning: a line at
/// each edge of the warm-up and of each change instead.
fn draw_span_edges<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, marks: &Marks) -> DrawResult<DB> {
    let mut edges: Vec<(f64, RGBColor)> = Vec::new();
    if marks.warmup_s > 0.0 {
        edges.push((marks.warmup_s, colours::WARMUP));
    }
    for set in &marks.changes {
        for c in set.marks.iter().filter(|c| !c.instant) {
            edges.push((c.from_s, set.colour));
            edges.extend(c.until_s.map(|u| (u, set.colour)));
        }
    }
    for (t, colour) in edges {
        vertical_line(root, frame, frame.px(t), colour.stroke_width(2))?;
    }
    draw_instants(root, frame, marks)
}

fn draw_instants<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, marks: &Marks) -> DrawResult<DB> {
    for set in &marks.changes {
        let columns: BTreeSet<i32> = set.marks.iter().filter(|c| c.instant).map(|c| frame.px(c.from_s)).collect();
        for x in columns {
            vertical_line(root, frame, x, darker(set.colour).stroke_width(1))?;
        }
    }
    Ok(())
}

fn vertical_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    frame: &Frame,
    x: i32,
    style: ShapeStyle,
) -> DrawResult<DB> {
    root.draw(&PathElement::new(vec![(x, frame.top), (x, frame.bottom)], style))
}

/// A red line at each firing (one per pixel column however many fired there).
fn draw_alert_lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, marks: &Marks) -> DrawResult<DB> {
    let columns: BTreeSet<i32> = marks.alerts.iter().map(|a| frame.px(a.at_s)).collect();
    for x in columns {
        vertical_line(root, frame, x, colours::ALERT.mix(0.75).stroke_width(1))?;
    }
    Ok(())
}

/// One thing to show in the lane: a bar over its time and a label at its start.
struct LaneItem {
    from: f64,
    to: f64,
    label: String,
    colour: RGBColor,
}

/// The lane above the plot: the warm-up and changes in the first row,
/// alert firings (until resolved) in the second, each as a bar with its
/// label where the label fits.
fn draw_lane<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, marks: &Marks) -> DrawResult<DB> {
    let mut changes = Vec::new();
    if marks.warmup_s > 0.0 {
        changes.push(LaneItem { from: 0.0, to: marks.warmup_s, label: "warm-up".into(), colour: colours::WARMUP });
    }
    for set in &marks.changes {
        changes.extend(set.marks.iter().map(|c| LaneItem {
            from: c.from_s,
            to: if c.instant { c.from_s } else { c.until_s.unwrap_or(marks.end_s) },
            label: c.label.clone(),
            colour: set.colour,
        }));
    }
    let alerts = marks.alerts.iter().map(|a| LaneItem {
        from: a.at_s,
        to: a.resolved_s.unwrap_or(marks.end_s),
        label: a.label.clone(),
        colour: colours::ALERT,
    });
    let top = TITLE_H as i32 + 2;
    draw_lane_row(root, frame, top, &changes)?;
    draw_lane_row(root, frame, top + LANE_ROW_H, &alerts.collect::<Vec<_>>())
}

fn draw_lane_row<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    frame: &Frame,
    top: i32,
    items: &[LaneItem],
) -> DrawResult<DB> {
    let style = text_style(12.0, colours::TEXT);
    let mut bars = BTreeSet::new();
    let mut free_from = i32::MIN;
    let right_edge = frame.right + LEGEND_W as i32 - 12;
    for item in items {
        let (x0, x1) = (frame.px(item.from), frame.px(item.to).max(frame.px(item.from) + 2));
        bars.insert((x0, x1, (item.colour.0, item.colour.1, item.colour.2)));
        let width = root.estimate_text_size(&item.label, &style)?.0 as i32;
        if x0 >= free_from && x0 + width <= right_edge {
            root.draw(&Text::new(item.label.clone(), (x0 + 1, top), style.clone()))?;
            free_from = x0 + width + 10;
        }
    }
    for (x0, x1, (r, g, b)) in bars {
        let bar = [(x0, top + LANE_ROW_H - 4), (x1, top + LANE_ROW_H - 1)];
        root.draw(&Rectangle::new(bar, RGBColor(r, g, b).filled()))?;
    }
    Ok(())
}
