//! The legend, in its own column to the right of the plot so that it never
//! covers data: the series, the heat map's colour scale, the marks of the
//! timeline (warm-up, changes, alerts by name), a point plot's own keys
//! (its intervals, markers and reference lines) and the figure's notes.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure::{Figure, Key, KeyMark, Marks, Plot, Shape, colours};
use super::heatmap::{HeatMap, LEVELS};
use super::points::{band_tint, draw_marker, whisker};
use super::scale::number;
use super::style::{DrawResult, Frame, HEIGHT, LEGEND_W, darker, text_style, tint, warmup_tint};

const ROW_H: i32 = 20;
const SWATCH_W: i32 = 26;
/// Alert names listed; more are counted.
const MAX_ALERT_NAMES: usize = 4;

/// What stands before an entry's text.
#[derive(Clone, Debug)]
enum Swatch {
    Line {
        colour: RGBColor,
        width: u32,
        dashed: bool,
    },
    Fill(RGBAColor),
    Rule(RGBColor),
    /// A point's marker, on a line when `line`.
    Marker {
        colour: RGBColor,
        shape: Shape,
        line: bool,
    },
    Whisker(RGBColor),
    Ring(RGBColor),
    /// No swatch: the text alone, in this colour.
    Note(RGBColor),
}

#[derive(Clone, Debug)]
struct Entry {
    swatch: Swatch,
    text: String,
}

fn entry(swatch: Swatch, text: impl Into<String>) -> Entry {
    Entry { swatch, text: text.into() }
}

/// The legend's entries, top to bottom.
fn entries(fig: &Figure) -> Vec<Entry> {
    let heat = matches!(fig.plot, Plot::Heat(_));
    let mut all = series_entries(&fig.plot);
    all.extend(mark_entries(&fig.marks, heat));
    all.extend(fig.notes.iter().map(|n| entry(Swatch::Note(colours::MUTED), n.as_str())));
    all
}

fn series_entries(plot: &Plot) -> Vec<Entry> {
    match plot {
        Plot::Lines(lines) => lines
            .iter()
            .map(|l| entry(Swatch::Line { colour: l.colour, width: l.width, dashed: l.dashed }, l.label.as_str()))
            .collect(),
        // Top band first, as they are stacked.
        Plot::Stack(bands) => {
            bands.iter().rev().map(|b| entry(Swatch::Fill(b.colour.to_rgba()), b.label.as_str())).collect()
        }
        Plot::Heat(_) => vec![entry(Swatch::Fill(colours::NO_DATA.to_rgba()), "no data")],
        Plot::Points(p) => p.legend.iter().map(key_entry).collect(),
    }
}

fn key_entry(k: &Key) -> Entry {
    let swatch = match k.mark {
        KeyMark::Series { colour, joined } => Swatch::Marker { colour, shape: Shape::Filled, line: joined },
        KeyMark::Band(colour) => Swatch::Fill(band_tint(colour)),
        KeyMark::Whisker(colour) => Swatch::Whisker(colour),
        KeyMark::Shape(shape) => Swatch::Marker { colour: colours::TEXT, shape, line: false },
        KeyMark::Guide { colour, vertical: true, .. } => Swatch::Rule(colour),
        KeyMark::Guide { colour, dashed, vertical: false } => Swatch::Line { colour, width: 2, dashed },
        KeyMark::Ring(colour) => Swatch::Ring(colour),
        KeyMark::Note => Swatch::Note(colours::MUTED),
    };
    entry(swatch, k.text.as_str())
}

/// The warm-up, the kinds of change of each set, and the alerts by name
/// (the first few, with how often each fired).
fn mark_entries(marks: &Marks, heat: bool) -> Vec<Entry> {
    // The swatch shows a span as the plot does: a line on a heat map, else its tint.
    let span = |colour: RGBColor, tint: RGBAColor| if heat { Swatch::Rule(colour) } else { Swatch::Fill(tint) };
    let mut all = Vec::new();
    if marks.warmup_s > 0.0 {
        all.push(entry(span(colours::WARMUP, warmup_tint()), "warm-up (not measured)"));
    }
    for set in &marks.changes {
        let whose = set.owner.as_ref().map(|o| format!(" ({o})")).unwrap_or_default();
        if set.marks.iter().any(|c| !c.instant) {
            all.push(entry(span(set.colour, tint(set.colour)), format!("change{whose}")));
        }
        if set.marks.iter().any(|c| c.instant) {
            all.push(entry(Swatch::Rule(darker(set.colour)), format!("restart, revert{whose}")));
        }
    }
    if !marks.alerts.is_empty() {
        all.push(entry(Swatch::Rule(colours::ALERT), "alert fired"));
        all.extend(alert_names(marks));
    }
    all
}

fn alert_names(marks: &Marks) -> Vec<Entry> {
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for a in &marks.alerts {
        match counted.iter_mut().find(|(name, _)| *name == a.label) {
            Some((_, n)) => *n += 1,
            None => counted.push((&a.label, 1)),
        }
    }
    let name = |(label, n): &(&str, usize)| if *n > 1 { format!("{label} ×{n}") } else { label.to_string() };
    let mut all: Vec<Entry> =
        counted.iter().take(MAX_ALERT_NAMES).map(|c| entry(Swatch::Note(colours::ALERT), name(c))).collect();
    if counted.len() > MAX_ALERT_NAMES {
        let more = counted.len() - MAX_ALERT_NAMES;
        all.push(entry(Swatch::Note(colours::ALERT), format!("and {more} more alerts")));
    }
    all
}

/// Draws the legend beside the plot, from its top down; what does not fit
/// above the bottom of the image is counted instead.
pub(super) fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, fig: &Figure) -> DrawResult<DB> {
    let x = frame.right + 24;
    let mut y = frame.top;
    if let Plot::Heat(heat) = &fig.plot {
        y = draw_colour_bar(root, (x, y), heat)?;
    }
    let all = entries(fig);
    let last_row = HEIGHT as i32 - ROW_H - 4;
    for (i, e) in all.iter().enumerate() {
        if y > last_row || (y + ROW_H > last_row && i + 1 < all.len()) {
            let more = entry(Swatch::Note(colours::MUTED), format!("and {} more", all.len() - i));
            return draw_entry(root, (x, y), &more);
        }
        draw_entry(root, (x, y), e)?;
        y += ROW_H;
    }
    Ok(())
}

fn draw_entry<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, (x, y): (i32, i32), e: &Entry) -> DrawResult<DB> {
    let middle = y + 8;
    let text_x = match e.swatch {
        Swatch::Note(_) => x,
        _ => x + SWATCH_W + 8,
    };
    match e.swatch {
        Swatch::Line { colour, width, dashed: false } => {
            root.draw(&PathElement::new(vec![(x, middle), (x + SWATCH_W, middle)], colour.stroke_width(width)))?;
        }
        Swatch::Line { colour, width, dashed: true } => {
            for dash in [(x, x + 8), (x + 13, x + SWATCH_W)] {
                root.draw(&PathElement::new(vec![(dash.0, middle), (dash.1, middle)], colour.stroke_width(width)))?;
            }
        }
        Swatch::Fill(colour) => root.draw(&Rectangle::new([(x, y + 2), (x + SWATCH_W, y + 14)], colour.filled()))?,
        Swatch::Rule(colour) => {
            let centre = x + SWATCH_W / 2;
            root.draw(&PathElement::new(vec![(centre, y), (centre, y + 16)], colour.stroke_width(2)))?;
        }
        Swatch::Marker { colour, shape, line } => {
            if line {
                root.draw(&PathElement::new(vec![(x, middle), (x + SWATCH_W, middle)], colour.stroke_width(2)))?;
            }
            draw_marker(root, (x + SWATCH_W / 2, middle), 5, colour, shape)?;
        }
        Swatch::Whisker(colour) => whisker(root, (x + SWATCH_W / 2, y + 2, y + 14), 4, colour)?,
        Swatch::Ring(colour) => root.draw(&Circle::new((x + SWATCH_W / 2, middle), 7, colour.stroke_width(2)))?,
        Swatch::Note(_) => {}
    }
    let colour = if let Swatch::Note(c) = e.swatch { c } else { colours::TEXT };
    let style = text_style(13.0, colour);
    let room = frame_room(x, text_x);
    let text = fit(root, &e.text, &style, room)?;
    root.draw(&Text::new(text, (text_x, y + 1), style))
}

/// The width left for text in the legend column.
fn frame_room(column_x: i32, text_x: i32) -> u32 {
    (LEGEND_W as i32 - 24 - (text_x - column_x) - 8).max(20) as u32
}

/// `text`, cut with an ellipsis to fit `room` pixels.
fn fit<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    room: u32,
) -> Result<String, DrawingAreaErrorKind<DB::ErrorType>> {
    if root.estimate_text_size(text, style)?.0 <= room {
        return Ok(text.to_string());
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (1..chars.len()).rev() {
        let cut: String = chars[..keep].iter().collect::<String>() + "…";
        if root.estimate_text_size(&cut, style)?.0 <= room {
            return Ok(cut);
        }
    }
    Ok("…".to_string())
}

/// The heat map's colour scale: its title, the levels top (high) down,
/// every other boundary labelled. Returns where the entries continue.
fn draw_colour_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    heat: &HeatMap,
) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    const BOX_H: i32 = 14;
    let title = fit(root, &heat.measure, &text_style(13.0, colours::TEXT), frame_room(x, x))?;
    root.draw(&Text::new(title, (x, y), text_style(13.0, colours::TEXT)))?;
    let top = y + 22;
    let step = heat.bounds.get(1).copied().unwrap_or(1.0) - heat.bounds.first().copied().unwrap_or(0.0);
    for level in 0..LEVELS {
        let box_top = top + i32::from(LEVELS - 1 - level) * BOX_H;
        let colour = colours::heat(level, LEVELS);
        root.draw(&Rectangle::new([(x, box_top), (x + 20, box_top + BOX_H)], colour.filled()))?;
    }
    for (i, bound) in heat.bounds.iter().enumerate().step_by(2) {
        let at = top + (i32::from(LEVELS) - i as i32) * BOX_H;
        let style = text_style(11.0, colours::TEXT).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(number(*bound, step), (x + 26, at), style))?;
    }
    Ok(top + i32::from(LEVELS) * BOX_H + 14)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::chartdata::AlertMark;

    fn alert(label: &str) -> AlertMark {
        AlertMark { at_s: 10.0, resolved_s: None, label: label.into() }
    }

    #[test]
    fn alerts_are_listed_by_name_with_counts_and_bounded() {
        let names = ["a", "b", "a", "c", "d", "e", "f"];
        let marks = Marks { alerts: names.iter().map(|n| alert(n)).collect(), ..Marks::default() };
        let texts: Vec<String> = mark_entries(&marks, false).into_iter().map(|e| e.text).collect();
        assert_eq!(texts, ["alert fired", "a ×2", "b", "c", "d", "and 2 more alerts"]);
    }
}
