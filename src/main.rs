//! The `lbsim` binary: parses arguments, calls the library, maps errors to
//! exit codes (0 success, 1 a declared SLO failed, 2 usage or scenario
//! error, 3 internal or output error).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use lbsim::app::{self, RunOptions};
use lbsim::error::Error;

#[derive(Parser)]
#[command(
    name = "lbsim",
    version,
    about = "Discrete-event simulator of load-balancer traffic distribution",
    long_about = "Describe clients, load balancers and servers in a scenario file; lbsim replays \
                  them in virtual time and reports who gets served, how slowly, which server melts \
                  and how many users are affected.",
    after_help = "Exit status: 0 success, 1 a declared SLO failed, 2 usage or scenario error, 3 internal or output error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and write its reports.
    #[command(after_help = "Examples:\n  \
        lbsim run scenarios/quickstart.yaml\n  \
        lbsim run scenarios/quickstart.yaml --set clients.web.rate=900/s --seed 7 --out /tmp/q\n  \
        lbsim run scenarios/quickstart.yaml --json | jq .latency_ms\n\n\
        Reports go to output/<scenario name>/ unless --out is given: report.html (self-contained, for reviews), \
        report.md (a predicted postmortem), summary.json, timeseries.csv, servers.csv, events.csv, and charts as SVG \
        and PNG (traffic-share, latency, errors, users, utilisation, queue, latency-spectrum; --no-charts skips them).\n\
        Exit status 1 when a declared SLO fails (unless --no-fail).")]
    Run {
        /// Scenario file (YAML or JSON).
        scenario: PathBuf,
        /// Directory for the reports [default: output/<scenario name>].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Override a value in the file: --set clients.web.rate=900/s (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Print summary.json to stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// Leave wall-clock figures out of summary.json, so every output file
        /// is byte-identical across runs of the same scenario and seed.
        #[arg(long)]
        reproducible: bool,
        /// No progress bar or warnings on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Exit 0 even when a declared SLO fails (the verdict stays in the reports).
        #[arg(long)]
        no_fail: bool,
        /// Skip the SVG and PNG charts (faster; report.html then has no charts).
        #[arg(long)]
        no_charts: bool,
    },
    /// Draw the topology: clients, balancers, servers, routers, switches,
    /// links and routing next hops, as Graphviz DOT (and SVG with `dot`).
    #[command(after_help = "Writes topology.dot to output/<scenario name>/ (or --out), and topology.svg when \
        Graphviz's `dot` is installed. Links are solid (latency, loss, VLAN, DOWN in red), routing-table next \
        hops dashed and labelled with their prefix, blackhole and reject entries listed on their node.\n\n\
        Examples:\n  lbsim graph scenarios/incidents/000-routing-tables.yaml\n  \
        lbsim graph scenarios/quickstart.yaml --stdout | dot -Tpng > quickstart.png")]
    Graph {
        /// Scenario file (YAML or JSON).
        scenario: PathBuf,
        /// Directory for topology.dot and topology.svg [default: output/<scenario name>].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Override a value in the file (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Print the DOT to stdout instead of writing files.
        #[arg(long)]
        stdout: bool,
    },
    /// Compare a baseline scenario with a changed one over N replications
    /// with common random numbers.
    #[command(after_help = "Runs both sides over the same replications (replication i of both uses seed + i, so \
        the same users send the same requests at the same times) and reports each headline metric's difference \
        with a paired confidence interval and whether it is significant. Writes compare.csv, compare.md (a \
        Markdown table for a pull-request comment), compare.json and charts overlaying the first replication \
        of both to output/compare/<baseline>--<changed>/ (or --out).\n\n\
        A change counts as better or worse when it is significant and at least --min-effect percent of the \
        baseline; smaller significant changes are negligible. --fail-on-worse makes any worse metric exit 1.\n\n\
        Examples:\n  \
        lbsim compare scenarios/incidents/003-all-traffic-to-one-server.yaml scenarios/incidents/003-with-health-checks.yaml\n  \
        lbsim compare scenarios/quickstart.yaml --change balancers.edge.algorithm=round_robin\n  \
        lbsim compare a.yaml b.yaml --set requests=100000 --replications 20 --json")]
    Compare(lbsim::compare::CompareOptions),
    /// Check the simulator against queueing theory (M/M/1, E_N/M/1, M/M/c,
    /// Erlang B, Pollaczek-Khinchine, the supermarket model, Little's law).
    #[command(after_help = "Each built-in scenario runs over independent replications; a check passes when \
        the closed-form value lies inside the simulation's confidence interval (family-wise 99% by default, \
        split over all comparisons by Bonferroni). Exit status 1 when any check fails.\n\n\
        Examples:\n  lbsim verify\n  lbsim verify --only supermarket --replications 40\n  lbsim verify --json > verify.json")]
    Verify {
        /// Run only the checks whose name contains this text.
        #[arg(long)]
        only: Option<String>,
        /// Independent replications per check.
        #[arg(long, default_value_t = 20)]
        replications: usize,
        /// Requests per replication after the warm-up.
        #[arg(long, default_value_t = 200_000)]
        requests: u64,
        /// Family-wise confidence level of the whole suite.
        #[arg(long, default_value_t = 0.99)]
        confidence: f64,
        /// First seed (replication i uses seed + i).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // Diagnostics keep `file:line:col` on one line (no wrapping), so tools
    // and people can copy it.
    let _ = miette::set_hook(Box::new(|_| Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            let code = err.exit_code();
            eprintln!("{:?}", miette::Report::new(err));
            ExitCode::from(code as u8)
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Run { scenario, out, sets, seed, json, reproducible, quiet, no_fail, no_charts } => {
            let outcome =
                app::run(&RunOptions { scenario, out, sets, seed, json, reproducible, quiet, no_fail, no_charts })?;
            print!("{}", outcome.stdout);
            Ok(outcome.exit_code)
        }
        Command::Graph { scenario, out, sets, stdout } => {
            print!("{}", app::graph(&app::GraphOptions { scenario, out, sets, stdout })?);
            Ok(0)
        }
        Command::Compare(opts) => {
            let outcome = lbsim::compare::compare(&opts)?;
            print!("{}", outcome.stdout);
            Ok(outcome.exit_code)
        }
        Command::Verify { only, replications, requests, confidence, seed, json } => {
            app::verify(&lbsim::verify::Config { replications, requests, confidence, seed }, only.as_deref(), json)
        }
    }
}
