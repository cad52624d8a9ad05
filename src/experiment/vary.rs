//! The values an experiment sets: `--vary PATH=LIST|RANGE` for a sweep's
//! axes and `--between LO..HI` for a search, written in the path's own
//! units.
//!
//! - a list: `round_robin,least_connections` or `400/s,600/s,800/s`;
//! - a range with a step: `2000/s..8000/s/500/s`, `16..40/4`, `1s..5s/500ms`,
//!   `10%..50%/10%`; whole numbers step by 1 when no step is given (`16..40`);
//! - a geometric range with a factor: `100/s..6400/s*2` (100, 200, ..., 6400).
//!
//! A range includes its upper end when a step lands on it (within a
//! millionth of the step). Values are generated in the unit's base (per
//! second, seconds, fractions) and written back the way a scenario writes
//! them (`2500/s`, `1.5s`, `20%`), so each point is an ordinary `--set`.

use crate::error::Error;
use crate::report::design::{Axis, AxisValue, Kind};
use crate::units::{parse_duration, parse_percent, parse_rate};

/// Reads one value: its kind and its number in the kind's base unit.
pub(crate) fn parse_value(text: &str) -> (Kind, Option<f64>) {
    let t = text.trim();
    if t.ends_with('%') {
        if let Ok(p) = parse_percent(t) {
            return (Kind::Percent, Some(p.fraction()));
        }
    } else if t.contains('/') {
        if let Ok(r) = parse_rate(t) {
            return (Kind::Rate, Some(r.per_sec()));
        }
    } else if let Ok(i) = t.parse::<i64>() {
        return (Kind::Integer, Some(i as f64));
    } else if let Ok(x) = t.parse::<f64>()
        && x.is_finite()
    {
        return (Kind::Number, Some(x));
    } else if let Ok(d) = parse_duration(t) {
        return (Kind::Duration, Some(d.secs()));
    }
    (Kind::Text, None)
}

/// Most values one axis may have.
pub(crate) const MAX_AXIS_VALUES: usize = 10_000;

/// A parsed range: `lo..hi` with a step or a factor.
struct Range {
    kind: Kind,
    lo: f64,
    hi: f64,
    step: Step,
}

enum Step {
    Add(f64),
    Times(f64),
}

/// Parses `PATH=LIST|RANGE`. Errors point into the argument.
pub(crate) fn parse_vary(arg: &str) -> Result<Axis, Error> {
    let flag = "--vary";
    let Some((path, spec)) = arg.split_once('=') else {
        return Err(Error::argument(
            flag,
            arg,
            0..arg.len(),
            "expected PATH=VALUES",
            Some(
                "for example --vary clients.web.rate=2000/s..8000/s/500/s or --vary servers.app.count=16,20,24".into(),
            ),
        ));
    };
    let path = path.trim();
    if path.is_empty() || path.split('.').any(|s| s.trim().is_empty()) {
        return Err(Error::argument(
            flag,
            arg,
            0..arg.find('=').unwrap_or(0),
            "the path needs names separated by dots",
            Some("like clients.web.rate".into()),
        ));
    }
    let at = arg.len() - spec.len();
    let err = |range: std::ops::Range<usize>, msg: String, help: Option<String>| {
        Error::argument(flag, arg, at + range.start..at + range.end, msg, help)
    };
    let values = if spec.contains("..") {
        let r = parse_range(spec).map_err(|(span, msg, help)| err(span, msg, help))?;
        (expand(&r).map_err(|msg| err(0..spec.len(), msg, None))?, r.kind)
    } else {
        parse_list(spec).map_err(|(span, msg)| err(span, msg, None))?
    };
    let kind = values.1;
    Ok(Axis { path: path.to_string(), kind, values: values.0 })
}

/// `a,b,c`: the values as written.
fn parse_list(spec: &str) -> Result<(Vec<AxisValue>, Kind), (std::ops::Range<usize>, String)> {
    let mut values = Vec::new();
    let mut kind: Option<Kind> = None;
    let mut offset = 0;
    for part in spec.split(',') {
        let span = offset..offset + part.len();
        offset += part.len() + 1;
        let text = part.trim();
        if text.is_empty() {
            return Err((span, "an empty value in the list".into()));
        }
        if values.iter().any(|v: &AxisValue| v.text == text) {
            return Err((span, format!("`{text}` is listed twice")));
        }
        let (k, number) = parse_value(text);
        kind = Some(match kind {
            None => k,
            Some(prev) => prev.join(k).unwrap_or(Kind::Text),
        });
        values.push(AxisValue { text: text.to_string(), number });
        if values.len() > MAX_AXIS_VALUES {
            return Err((0..spec.len(), format!("more than {MAX_AXIS_VALUES} values")));
        }
    }
    let kind = kind.unwrap_or(Kind::Text);
    if kind == Kind::Text {
        for v in &mut values {
            v.number = None;
        }
    }
    Ok((values, kind))
}

type RangeError = (std::ops::Range<usize>, String, Option<String>);

/// `LO..HI`, `LO..HI/STEP` or `LO..HI*FACTOR`.
fn parse_range(spec: &str) -> Result<Range, RangeError> {
    let (lo_text, rest) = spec.split_once("..").unwrap_or((spec, ""));
    let rest_at = lo_text.len() + 2;
    let (lo_kind, lo) = parse_value(lo_text);
    let lo = lo.ok_or_else(|| {
        (
            0..lo_text.len(),
            format!("`{}` is not a number, rate, duration or percentage, so it cannot start a range", lo_text.trim()),
            Some("list the values instead: a,b,c".into()),
        )
    })?;
    let unit_help = || match lo_kind {
        Kind::Rate => "a range of rates needs a step, like 2000/s..8000/s/500/s",
        Kind::Duration => "a range of durations needs a step, like 1s..5s/500ms",
        Kind::Percent => "a range of percentages needs a step, like 10%..50%/10%",
        _ => "a range of numbers needs a step, like 0.5..0.9/0.1",
    };
    // A factor: the last `*`.
    if let Some(star) = rest.rfind('*') {
        let (hi_text, factor_text) = (&rest[..star], &rest[star + 1..]);
        let (hi_kind, hi) = parse_value(hi_text);
        let kind = lo_kind.join(hi_kind).filter(|_| hi.is_some()).ok_or_else(|| {
            (
                rest_at..rest_at + star,
                format!("`{}` is not {} like `{}`", hi_text.trim(), lo_kind.name(), lo_text.trim()),
                None,
            )
        })?;
        let factor = factor_text.trim().parse::<f64>().ok().filter(|f| f.is_finite() && *f > 1.0).ok_or_else(|| {
            (rest_at + star + 1..spec.len(), format!("`{}` is not a factor above 1", factor_text.trim()), None)
        })?;
        if lo <= 0.0 {
            return Err((0..lo_text.len(), "a geometric range must start above zero".into(), None));
        }
        return check_order(
            Range { kind, lo, hi: hi.unwrap_or(lo), step: Step::Times(factor) },
            lo_text,
            rest_at,
            spec,
        );
    }
    // The upper end alone: whole numbers step by one.
    if let (hi_kind, Some(hi)) = parse_value(rest) {
        return match lo_kind.join(hi_kind) {
            Some(Kind::Integer) => {
                check_order(Range { kind: Kind::Integer, lo, hi, step: Step::Add(1.0) }, lo_text, rest_at, spec)
            }
            Some(_) => Err((0..spec.len(), "this range has no step".into(), Some(unit_help().into()))),
            None => Err((
                rest_at..spec.len(),
                format!("`{}` is not {} like `{}`", rest.trim(), lo_kind.name(), lo_text.trim()),
                None,
            )),
        };
    }
    // HI/STEP, split at the first `/` that leaves both sides of the kind.
    for (i, _) in rest.match_indices('/') {
        let (hi_text, step_text) = (&rest[..i], &rest[i + 1..]);
        let ((hk, hi), (sk, step)) = (parse_value(hi_text), parse_value(step_text));
        let (Some(hi), Some(step)) = (hi, step) else { continue };
        let Some(kind) = lo_kind.join(hk).and_then(|k| k.join(sk)) else { continue };
        if step <= 0.0 {
            return Err((rest_at + i + 1..spec.len(), "the step must be more than zero".into(), None));
        }
        return check_order(Range { kind, lo, hi, step: Step::Add(step) }, lo_text, rest_at, spec);
    }
    Err((
        rest_at..spec.len(),
        format!("`{}` is not an upper end and a step in the units of `{}`", rest.trim(), lo_text.trim()),
        Some(unit_help().into()),
    ))
}

fn check_order(r: Range, lo_text: &str, rest_at: usize, spec: &str) -> Result<Range, RangeError> {
    if r.hi < r.lo {
        return Err((
            rest_at..spec.len(),
            format!("the range counts down from `{}`: write the smaller end first", lo_text.trim()),
            None,
        ));
    }
    Ok(r)
}

/// The values of a range.
fn expand(r: &Range) -> Result<Vec<AxisValue>, String> {
    let mut numbers = Vec::new();
    match r.step {
        Step::Add(step) => {
            let count = ((r.hi - r.lo) / step + 1e-6).floor();
            if !count.is_finite() || count >= MAX_AXIS_VALUES as f64 {
                return Err(format!("this range has more than {MAX_AXIS_VALUES} values; use a larger step"));
            }
            // Each value from the start, so steps do not accumulate error.
            numbers.extend((0..=count as usize).map(|i| r.lo + i as f64 * step));
        }
        Step::Times(factor) => {
            let mut x = r.lo;
            while x <= r.hi * (1.0 + 1e-9) {
                numbers.push(x);
                if numbers.len() > MAX_AXIS_VALUES {
                    return Err(format!("this range has more than {MAX_AXIS_VALUES} values"));
                }
                x *= factor;
            }
        }
    }
    let mut values: Vec<AxisValue> = Vec::with_capacity(numbers.len());
    for x in numbers {
        let text = r.kind.format(x);
        // Read the written text back, so the number is what the scenario gets.
        let number = parse_value(&text).1;
        if values.last().is_some_and(|v| v.text == text) {
            return Err(format!("the step is below the precision values are written with (`{text}` twice)"));
        }
        values.push(AxisValue { text, number });
    }
    Ok(values)
}

/// `--between LO..HI` of a search: its kind and ends (base units).
pub(crate) fn parse_between(arg: &str) -> Result<(Kind, f64, f64), Error> {
    let flag = "--between";
    let err = |range: std::ops::Range<usize>, msg: String| {
        Error::argument(
            flag,
            arg,
            range,
            msg,
            Some("write the interval as LO..HI, like 16..40 or 1000/s..8000/s".into()),
        )
    };
    let Some((lo_text, hi_text)) = arg.split_once("..") else {
        return Err(err(0..arg.len(), "expected LO..HI".into()));
    };
    let (lk, lo) = parse_value(lo_text);
    let (hk, hi) = parse_value(hi_text);
    let (Some(lo), Some(hi)) = (lo, hi) else {
        let bad = if lo.is_none() { 0..lo_text.len() } else { lo_text.len() + 2..arg.len() };
        return Err(err(bad, "both ends must be numbers, rates, durations or percentages".into()));
    };
    let kind =
        lk.join(hk).ok_or_else(|| err(0..arg.len(), format!("`{lo_text}` and `{hi_text}` are in different units")))?;
    if hi <= lo {
        return Err(err(0..arg.len(), "the interval is empty: HI must be above LO".into()));
    }
    Ok((kind, lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(arg: &str) -> Vec<String> {
        parse_vary(arg).unwrap_or_else(|e| panic!("{arg}: {e}")).values.into_iter().map(|v| v.text).collect()
    }

    fn err(arg: &str) -> String {
        parse_vary(arg).unwrap_err().to_string()
    }

    #[test]
    fn values_are_read_in_their_units() {
        assert_eq!(parse_value("24"), (Kind::Integer, Some(24.0)));
        assert_eq!(parse_value("0.75"), (Kind::Number, Some(0.75)));
        assert_eq!(parse_value("2k/min"), (Kind::Rate, Some(2000.0 / 60.0)));
        assert_eq!(parse_value("250ms"), (Kind::Duration, Some(0.25)));
        assert_eq!(parse_value("46%"), (Kind::Percent, Some(0.46)));
        assert_eq!(parse_value("round_robin"), (Kind::Text, None));
    }

    #[test]
    fn ranges_step_in_the_paths_units() {
        assert_eq!(texts("a.b=16..20"), ["16", "17", "18", "19", "20"]);
        assert_eq!(texts("a.b=16..40/8"), ["16", "24", "32", "40"]);
        assert_eq!(texts("clients.web.rate=2000/s..3000/s/500/s"), ["2000/s", "2500/s", "3000/s"]);
        assert_eq!(texts("x=1k/min..2k/min/500/min").len(), 3);
        assert_eq!(texts("x=1s..2s/250ms"), ["1s", "1.25s", "1.5s", "1.75s", "2s"]);
        assert_eq!(texts("x=10%..30%/10%"), ["10%", "20%", "30%"]);
        assert_eq!(texts("x=0.1..0.3/0.1"), ["0.1", "0.2", "0.3"]);
        assert_eq!(texts("x=100/s..800/s*2"), ["100/s", "200/s", "400/s", "800/s"]);
        // The upper end is left out when the step does not land on it.
        assert_eq!(texts("x=16..40/10"), ["16", "26", "36"]);
        let axis = parse_vary("clients.web.rate=2000/s..3000/s/500/s").unwrap();
        assert_eq!((axis.path.as_str(), axis.kind), ("clients.web.rate", Kind::Rate));
        assert_eq!(axis.values[1].number, Some(2500.0));
    }

    #[test]
    fn lists_keep_their_text() {
        assert_eq!(
            texts("balancers.edge.algorithm=round_robin, least_connections"),
            ["round_robin", "least_connections"]
        );
        let axis = parse_vary("a=round_robin,random").unwrap();
        assert_eq!(axis.kind, Kind::Text);
        assert_eq!(axis.values[0].number, None);
        assert_eq!(parse_vary("a=4,8,16").unwrap().kind, Kind::Integer);
        assert_eq!(parse_vary("a=4,8.5").unwrap().kind, Kind::Number);
    }

    #[test]
    fn bad_specs_say_what_is_expected_where() {
        assert!(err("clients.web.rate").contains("expected PATH=VALUES"));
        assert!(err("a..b=1,2").contains("dots"));
        assert!(err("x=2000/s..8000/s").contains("no step"));
        assert!(err("x=16..40/0").contains("more than zero"));
        assert!(err("x=40..16").contains("counts down"));
        assert!(err("x=16..40ms/1").contains("not an upper end") || err("x=16..40ms/1").contains("not a whole"));
        assert!(err("x=fast..slow").contains("cannot start a range"));
        assert!(err("x=1,,2").contains("empty value"));
        assert!(err("x=1,1").contains("twice"));
        assert!(err("x=1..1000000").contains("more than 10000"));
        assert!(err("x=1..2/0.0000000001").contains("more than 10000"));
        assert!(err("x=1..4*1").contains("factor above 1"));
        // Located at the argument.
        let e = err("x=2000/s..8000/s");
        assert!(e.starts_with("--vary x=2000/s..8000/s: "), "{e}");
    }

    #[test]
    fn intervals_for_a_search() {
        assert_eq!(parse_between("16..40").unwrap(), (Kind::Integer, 16.0, 40.0));
        assert_eq!(parse_between("1000/s..8000/s").unwrap().0, Kind::Rate);
        assert!(parse_between("40..16").unwrap_err().to_string().contains("empty"));
        assert!(parse_between("16").unwrap_err().to_string().contains("LO..HI"));
        assert!(parse_between("1s..8000/s").unwrap_err().to_string().contains("different units"));
        assert!(parse_between("a..b").unwrap_err().to_string().contains("numbers"));
    }
}
