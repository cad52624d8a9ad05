//! Heat maps for per-server series when there are too many servers for one
//! line each: servers down, time across, colour for the value. Cells are
//! aggregated (at most [`MAX_COLUMNS`] time columns, at most [`MAX_ROWS`]
//! rows of neighbouring servers) and quantised to [`LEVELS`] colours, so
//! that the SVG stays small with 500 servers and adjacent cells of one
//! colour can be drawn as one rectangle.

use super::scale::nice_step;

pub(super) const MAX_COLUMNS: usize = 120;
pub(super) const MAX_ROWS: usize = 60;
pub(super) const LEVELS: u8 = 10;

/// The aggregated grid, rows top to bottom.
#[derive(Clone, Debug)]
pub(super) struct HeatMap {
    /// A label per row: a server, or a range of neighbouring servers.
    pub rows: Vec<String>,
    /// Column boundaries in seconds since the start (columns + 1 of them).
    pub col_edges: Vec<f64>,
    /// `[row][column]`: the colour level, `None` where there was no data.
    pub cells: Vec<Vec<Option<u8>>>,
    /// The value where each level starts, and where the last ends.
    pub bounds: Vec<f64>,
    /// What the colour measures, with its unit.
    pub measure: String,
    pub servers_per_row: usize,
    pub buckets_per_column: usize,
}

/// What a heat map is made from.
pub(super) struct HeatSource<'a> {
    /// `[server][bucket]`, NaN for no data.
    pub values: &'a [Vec<f32>],
    pub names: &'a [String],
    /// Bucket starts, and the end of the last bucket.
    pub t_s: &'a [f64],
    pub end_s: f64,
    /// Multiplies the values (100 for fractions shown as %).
    pub factor: f64,
    /// A fixed top of the colour scale (100% for utilisation), else the data's.
    pub top: Option<f64>,
    pub measure: &'a str,
}

impl HeatSource<'_> {
    /// Folds the series into the grid.
    pub(super) fn build(&self) -> HeatMap {
        let servers = self.values.len().min(self.names.len());
        let per_row = servers.div_ceil(MAX_ROWS).max(1);
        let per_col = self.t_s.len().div_ceil(MAX_COLUMNS).max(1);
        let columns: Vec<std::ops::Range<usize>> =
            (0..self.t_s.len()).step_by(per_col).map(|k| k..(k + per_col).min(self.t_s.len())).collect();
        let groups: Vec<std::ops::Range<usize>> =
            (0..servers).step_by(per_row).map(|s| s..(s + per_row).min(servers)).collect();
        let values: Vec<Vec<Option<f64>>> =
            groups.iter().map(|g| columns.iter().map(|c| self.worst_mean(g.clone(), c.clone())).collect()).collect();
        let step = self.level_step(&values);
        let level = |v: f64| ((v / step).floor().max(0.0) as u8).min(LEVELS - 1);
        let mut col_edges: Vec<f64> = columns.iter().map(|c| self.t_s[c.start]).collect();
        col_edges.push(self.end_s);
        HeatMap {
            rows: groups.iter().map(|g| range_label(&self.names[g.start], &self.names[g.end - 1])).collect(),
            col_edges,
            cells: values.iter().map(|row| row.iter().map(|v| v.map(level)).collect()).collect(),
            bounds: (0..=LEVELS).map(|i| f64::from(i) * step).collect(),
            measure: self.measure.to_string(),
            servers_per_row: per_row,
            buckets_per_column: per_col,
        }
    }

    /// The highest of the group's servers' means over the buckets (so that
    /// one hot server is not averaged away by its neighbours).
    fn worst_mean(&self, servers: std::ops::Range<usize>, buckets: std::ops::Range<usize>) -> Option<f64> {
        let mean = |series: &Vec<f32>| {
            let finite = series.get(buckets.clone())?.iter().map(|v| f64::from(*v)).filter(|v| v.is_finite());
            let (sum, count) = finite.fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
            (count > 0).then(|| sum / count as f64 * self.factor)
        };
        self.values[servers].iter().filter_map(mean).reduce(f64::max)
    }

    /// The value one colour level spans: the fixed top, or the data's top,
    /// cut into [`LEVELS`] clean steps.
    fn level_step(&self, values: &[Vec<Option<f64>>]) -> f64 {
        let data_top = values.iter().flatten().flatten().copied().fold(0.0, f64::max);
        let top = self.top.unwrap_or(data_top).max(data_top);
        nice_step(top, usize::from(LEVELS))
    }
}

/// `web-01` for one server; `web-001–009` for a run of neighbours named
/// alike; `a–z` otherwise.
fn range_label(first: &str, last: &str) -> String {
    if first == last {
        return first.to_string();
    }
    let shared = first.chars().zip(last.chars()).take_while(|(a, b)| a == b).count();
    // Do not cut inside a number: `web-0` + `01–09` would misread.
    let prefix: String = first.chars().take(shared).collect();
    let prefix = prefix.trim_end_matches(|c: char| c.is_ascii_digit());
    let rest_of_last: String = last.chars().skip(prefix.chars().count()).collect();
    format!("{first}–{rest_of_last}")
}

/// The stretches of one row to draw as single rectangles: `(first column,
/// column after the last, level)` for each run of equal levels.
pub(super) fn row_runs(row: &[Option<u8>]) -> Vec<(usize, usize, u8)> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=row.len() {
        if i == row.len() || row[i] != row[start] {
            if let Some(level) = row[start] {
                runs.push((start, i, level));
            }
            start = i;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("web-{i:03}")).collect()
    }

    #[test]
    fn many_servers_fold_into_bounded_rows_and_columns() {
        let n = 500;
        let buckets = 720;
        let mut values: Vec<Vec<f32>> = (0..n).map(|_| vec![0.3; buckets]).collect();
        // One hot server among its neighbours, and a gap for everyone.
        values[17] = vec![0.95; buckets];
        for v in &mut values {
            v[700..].fill(f32::NAN);
        }
        let names = names(n);
        let t_s: Vec<f64> = (0..buckets).map(|k| k as f64 * 10.0).collect();
        let h = HeatSource {
            values: &values,
            names: &names,
            t_s: &t_s,
            end_s: 7200.0,
            factor: 100.0,
            top: Some(100.0),
            measure: "utilisation (%)",
        }
        .build();
        assert_eq!((h.servers_per_row, h.buckets_per_column), (9, 6));
        assert_eq!((h.rows.len(), h.col_edges.len()), (56, 121));
        assert_eq!(h.rows[1], "web-009–017");
        assert_eq!(h.rows[55], "web-495–499");
        assert_eq!(h.bounds[10], 100.0);
        // The hot server shows in its row's colour; the quiet rows are level 3.
        assert_eq!(h.cells[1][0], Some(9));
        assert_eq!(h.cells[0][0], Some(3));
        // Columns 117..120 cover buckets 702.. with no data.
        assert_eq!(h.cells[0][116], Some(3));
        assert_eq!(h.cells[0][117], None);
        assert_eq!(h.col_edges[120], 7200.0);
    }

    #[test]
    fn scale_follows_the_data_without_a_fixed_top() {
        let values = vec![vec![0.0, 12.0, 37.0], vec![f32::NAN; 3]];
        let names = names(2);
        let h = HeatSource {
            values: &values,
            names: &names,
            t_s: &[0.0, 1.0, 2.0],
            end_s: 3.0,
            factor: 1.0,
            top: None,
            measure: "requests waiting",
        }
        .build();
        assert_eq!(h.bounds[1], 5.0);
        assert_eq!(h.cells[0], [Some(0), Some(2), Some(7)]);
        assert_eq!(h.cells[1], [None, None, None]);
        assert_eq!(h.rows, ["web-000", "web-001"]);
    }

    #[test]
    fn empty_input_gives_an_empty_grid() {
        let h =
            HeatSource { values: &[], names: &[], t_s: &[], end_s: 0.0, factor: 1.0, top: None, measure: "x" }.build();
        assert!(h.rows.is_empty() && h.cells.is_empty());
        assert_eq!(h.col_edges, [0.0]);
        assert!(h.bounds.windows(2).all(|w| w[1] > w[0]));
    }

    #[test]
    fn labels_name_ranges_compactly() {
        assert_eq!(range_label("web-001", "web-009"), "web-001–009");
        assert_eq!(range_label("a", "z"), "a–z");
        assert_eq!(range_label("db", "db"), "db");
        assert_eq!(range_label("web-10", "web-19"), "web-10–19");
    }

    #[test]
    fn equal_neighbours_merge_into_one_run() {
        let row = [Some(1), Some(1), None, Some(2), Some(2), Some(2), Some(1)];
        assert_eq!(row_runs(&row), [(0, 2, 1), (3, 6, 2), (6, 7, 1)]);
        assert!(row_runs(&[]).is_empty());
    }
}
