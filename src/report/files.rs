//! The one table of the files the commands write (report stage): each
//! file's name, what it holds and which command writes it. The writers take
//! their names from here, the "Reports in ..." line orders its names by it,
//! and a test keeps the README's listing in step with it. A new output file
//! is a new row here.

/// The command that writes a file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run,
    Compare,
    Sweep,
    Capacity,
    Graph,
}

/// One output file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    pub name: &'static str,
    /// What it holds, in a few words.
    pub holds: &'static str,
    pub command: Command,
    /// A report for people to read (listed first), not a data file.
    pub for_people: bool,
}

const fn file(name: &'static str, holds: &'static str, command: Command, for_people: bool) -> OutputFile {
    OutputFile { name, holds, command, for_people }
}

pub const REPORT_HTML: OutputFile = file("report.html", "the self-contained report, for reviews", Command::Run, true);
pub const REPORT_MD: OutputFile = file("report.md", "a predicted postmortem", Command::Run, true);
pub const SUMMARY_JSON: OutputFile = file("summary.json", "every headline figure", Command::Run, false);
pub const TIMESERIES_CSV: OutputFile = file("timeseries.csv", "the metrics per interval", Command::Run, false);
pub const SERVERS_CSV: OutputFile = file("servers.csv", "one row per server", Command::Run, false);
pub const EVENTS_CSV: OutputFile = file("events.csv", "the timeline as it happened", Command::Run, false);
pub const COMPARE_CSV: OutputFile = file("compare.csv", "one row per metric compared", Command::Compare, false);
pub const COMPARE_MD: OutputFile =
    file("compare.md", "the comparison for a pull-request comment", Command::Compare, true);
pub const COMPARE_JSON: OutputFile = file("compare.json", "the whole comparison", Command::Compare, false);
pub const SWEEP_CSV: OutputFile = file("sweep.csv", "one row per point and metric", Command::Sweep, false);
pub const SWEEP_JSON: OutputFile = file("sweep.json", "the whole sweep", Command::Sweep, false);
pub const SWEEP_HTML: OutputFile = file("report.html", "the sweep's curves and verdicts", Command::Sweep, true);
pub const CAPACITY_JSON: OutputFile = file("capacity.json", "the probes and the answer", Command::Capacity, false);
pub const CAPACITY_CSV: OutputFile = file("capacity.csv", "one row per probe", Command::Capacity, false);
pub const TOPOLOGY_DOT: OutputFile = file("topology.dot", "the topology as Graphviz DOT", Command::Graph, false);
pub const TOPOLOGY_SVG: OutputFile = file("topology.svg", "the topology drawn by `dot`", Command::Graph, false);

/// Every output file besides the charts (`<chart>.svg` and `.png`).
pub const ALL: &[OutputFile] = &[
    REPORT_HTML,
    REPORT_MD,
    SUMMARY_JSON,
    TIMESERIES_CSV,
    SERVERS_CSV,
    EVENTS_CSV,
    COMPARE_CSV,
    COMPARE_MD,
    COMPARE_JSON,
    SWEEP_CSV,
    SWEEP_JSON,
    SWEEP_HTML,
    CAPACITY_JSON,
    CAPACITY_CSV,
    TOPOLOGY_DOT,
    TOPOLOGY_SVG,
];

/// True when a file of this name is a report for people to read.
pub fn for_people(name: &str) -> bool {
    ALL.iter().any(|f| f.for_people && f.name == name)
}

/// True when a file of this name in an output folder is one of `command`'s:
/// a row of the table it writes, or a chart (`.svg`/`.png` not in the table)
/// of a command that draws charts. A report set replaces these and keeps the
/// rest (see `report::output`).
pub fn owned_by(command: Command, name: &str) -> bool {
    match ALL.iter().find(|f| f.name == name) {
        Some(_) => ALL.iter().any(|f| f.name == name && f.command == command),
        None => command != Command::Graph && (name.ends_with(".svg") || name.ends_with(".png")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_names_every_output_file() {
        let readme = include_str!("../../README.md");
        for f in ALL {
            assert!(readme.contains(f.name), "README.md does not mention {} ({})", f.name, f.holds);
        }
    }

    #[test]
    fn each_command_owns_its_rows_and_its_charts() {
        assert!(owned_by(Command::Run, "summary.json"));
        assert!(owned_by(Command::Run, "latency.svg"));
        assert!(owned_by(Command::Sweep, "report.html"));
        assert!(!owned_by(Command::Run, "topology.svg"), "graph's, kept beside a run's reports");
        assert!(owned_by(Command::Graph, "topology.svg"));
        assert!(!owned_by(Command::Graph, "latency.svg"));
        assert!(!owned_by(Command::Run, "sweep.csv"));
        assert!(!owned_by(Command::Run, "notes.txt"));
    }
}
