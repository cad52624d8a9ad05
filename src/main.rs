//! The `lbsim` binary: parses arguments, hands each subcommand to its file
//! in the commands layer (`lbsim::commands`), maps errors to exit codes (0 success, 1 a declared SLO failed, 2 usage or scenario
//! error, 3 internal or output error).

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use lbsim::commands;
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
        lbsim run scenarios/quickstart.yaml --set clients.browsers.load=1.1x --seed 7 --out /tmp/q\n  \
        lbsim run scenarios/quickstart.yaml --json | jq .latency_ms\n  \
        lbsim run scenarios/quickstart.yaml --replications 10 --down 1\n\n\
        Reports go to output/<scenario name>/ unless --out is given: report.html (self-contained, for reviews), \
        report.md (a predicted postmortem), summary.json, timeseries.csv, servers.csv, events.csv, and charts as SVG \
        and PNG (traffic-share, latency, errors, users, utilisation, queue, latency-spectrum; --no-charts skips them).\n\
        With --replications N (N >= 2) every headline metric and SLO is also given over all N replications, with \
        a confidence interval, in the terminal, summary.json (`replications`), report.html and report.md.\n\
        Exit status 1 when a declared SLO fails (with replications: unless every SLO holds with the stated \
        confidence), unless --no-fail.\n\
        Before simulating, run applies `lbsim check`'s rules: an error in the standing configuration stops it \
        (exit status 2, nothing written; --no-check simulates it anyway), warnings, the timeline's findings and \
        load above capacity are printed on stderr and the run goes on. --junit FILE writes the SLO verdicts as JUnit XML.")]
    Run(commands::run::RunOptions),
    /// Draw the topology: clients, balancers, servers, routers, switches,
    /// links and routing next hops, as Graphviz DOT (and SVG with `dot`).
    #[command(after_help = "Writes topology.dot to output/<scenario name>/ (or --out), and topology.svg when \
        Graphviz's `dot` is installed. Links are solid (latency, loss, VLAN, DOWN in red), routing-table next \
        hops dashed and labelled with their prefix, blackhole and reject entries listed on their node.\n\n\
        Examples:\n  lbsim graph scenarios/incidents/000-routing-tables.yaml\n  \
        lbsim graph scenarios/quickstart.yaml --stdout | dot -Tpng > quickstart.png")]
    Graph(commands::graph::GraphOptions),
    /// Compare a baseline scenario with a changed one over N replications
    /// with common random numbers.
    #[command(after_help = "Runs both sides over the same replications (replication i of both uses seed + i, so \
        the same users send the same requests at the same times) and reports each headline metric's difference \
        with a paired confidence interval and whether it is significant. Writes compare.csv, compare.md (a \
        Markdown table for a pull-request comment), compare.json and charts overlaying the first replication \
        of both to output/compare/<baseline>--<the change>/ (or --out).\n\n\
        A change counts as better or worse when it is significant and at least --min-effect percent of the \
        baseline; smaller significant changes are negligible. --fail-on-worse makes any worse metric exit 1.\n\n\
        Examples:\n  \
        lbsim compare scenarios/incidents/003-all-traffic-to-one-server.yaml scenarios/incidents/003-with-health-checks.yaml\n  \
        lbsim compare scenarios/quickstart.yaml --change balancers.edge.algorithm=round_robin\n  \
        lbsim compare scenarios/capacity.yaml --change servers.app.count=22 --label-base '24 servers' --label-changed '22 servers'\n  \
        lbsim compare scenarios/quickstart.yaml --change clients.browsers.load=1.1x --set duration=2m --replications 20 --json\n\n\
        The sides are labelled by --label-base and --label-changed (default: the baseline's name, and the --change \
        paths and values or the changed file's name). --junit FILE writes one JUnit test case per metric, failed \
        when it is worse.")]
    Compare(commands::compare::CompareOptions),
    /// Run a grid of configurations, each over N replications with common
    /// random numbers: curves with confidence bands, knees, SLO verdicts.
    #[command(
        after_help = "Each --vary names a settable path (as --set does) and its values: a list (a,b,c), a range \
        with a step in the path's units (2000/s..8000/s/500/s, 16..40, 1s..5s/500ms, 10%..50%/10%) or a geometric \
        range (100/s..6400/s*2). Several --vary make a grid (the first varies slowest). Replication i of every point \
        uses seed + i. Writes sweep.csv (tidy: one row per point and metric), sweep.json, a chart per metric \
        against the first axis (CI band, SLO threshold, knee) and report.html to output/sweep/<scenario name>/ \
        (or --out).\n\n\
        --shard I/N runs only every N-th work item (point x replication) into DIR/shard-I-of-N/; `lbsim merge` \
        joins the shards into the same files, byte for byte. --shard auto reads Slurm's SLURM_ARRAY_TASK_ID and \
        SLURM_ARRAY_TASK_COUNT; --shard auto/N reads Kubernetes' JOB_COMPLETION_INDEX.\n\n\
        Examples:\n  \
        lbsim sweep scenarios/quickstart.yaml --vary clients.browsers.rate=300/s..900/s/100/s\n  \
        lbsim sweep scenarios/capacity.yaml --vary servers.app.count=16..28/2 --vary clients.api.rate=3000/s,4000/s\n  \
        lbsim sweep scenarios/quickstart.yaml --vary clients.browsers.rate=300/s..900/s/100/s --shard 0/4 --out /shared/q"
    )]
    Sweep(commands::sweep::SweepOptions),
    /// Join the shards of a sweep run with --shard into the sweep's outputs.
    #[command(after_help = "Checks that the shards are of one sweep (same scenario, --vary, --set, replications, \
        seed, confidence, lbsim version) and together hold every work item exactly once, then writes what the \
        sweep run on one machine writes, byte for byte.\n\n\
        Example:\n  lbsim merge /shared/q/shard-*-of-4 --out /shared/q")]
    Merge(commands::merge::MergeOptions),
    /// Find the largest load, or the smallest fleet, at which every SLO holds.
    #[command(after_help = "Bisects a settable numeric path (a rate, a server count, workers, ...) between --between \
        LO..HI, or from the scenario's value outwards by doubling, with replications at each probe; a probe passes \
        when every SLO holds with the stated confidence, and an inconclusive one gets more replications, up to \
        --max-replications. --down K makes the answer hold with the K largest servers of each group out. Prints the \
        probes, writes capacity.json, capacity.csv and the capacity-probes chart (.svg, .png; one a SLO, capacity-probes-<i>, \
        when the SLOs are in different units) to output/capacity/<scenario>/ \
        (or --out). Exit status 1 when no value in the interval meets the SLOs.\n\n\
        Examples:\n  \
        lbsim capacity scenarios/capacity.yaml --find min servers.app.count --between 8..40 --down 1\n  \
        lbsim capacity scenarios/capacity.yaml --find max clients.api.rate --between 1000/s..8000/s")]
    Capacity(commands::capacity::CapacityOptions),
    /// Check the simulator against queueing theory (M/M/1, E_N/M/1, M/M/c,
    /// Erlang B, Pollaczek-Khinchine, the supermarket model, Little's law).
    #[command(after_help = "Each built-in scenario runs over independent replications; a check passes when \
        the closed-form value lies inside the simulation's confidence interval (family-wise 99% by default, \
        split over all comparisons by Bonferroni). Exit status 1 when any check fails.\n\n\
        Examples:\n  lbsim verify\n  lbsim verify --only supermarket --replications 40\n  lbsim verify --json > verify.json")]
    Verify(commands::verify::VerifyOptions),
    /// Write a scenario from production: NGINX, HAProxy, Envoy or Kubernetes
    /// configuration, a routing table, or access logs, with each value's
    /// source (file:line) in a comment.
    #[command(after_help = "Everything the input holds that lbsim does not model is a warning with its place \
        (an error with --strict); malformed input is an error with file:line:col and exit status 2, and nothing is \
        written. What configurations do not hold (load, service times) comes from an access log (--access-log, \
        --format), from --rate, --service, --workers, --timeout, --users, or an --overlay file merged over the \
        import; anything still missing gets a marked PLACEHOLDER so the scenario runs. The scenario is compiled \
        before it is written. The mapping, directive by directive, is in docs/import.md.\n\n\
        Examples:\n  \
        lbsim import nginx scenarios/import/shop-nginx.conf --out shop.yaml\n  \
        lbsim import nginx scenarios/import/shop-nginx.conf --rate 800/s --service '{lognormal: {mean: 30ms, p99: 200ms}}' --out shop.yaml\n  \
        lbsim import nginx scenarios/import/shop-nginx.conf --overlay scenarios/import/shop.overlay.yaml --strict --out shop.yaml\n  \
        lbsim import nginx scenarios/import/shop-nginx.conf --access-log scenarios/import/shop-access.log.gz --format '$remote_addr [$time_local] \"$request\" $status $request_time $upstream_addr $upstream_response_time' --workers 1 --out shop.yaml\n  \
        lbsim import access-log scenarios/import/shop-access.log.gz --format '$remote_addr [$time_local] \"$request\" $status $request_time $upstream_addr $upstream_response_time' --replay --out peak.yaml")]
    Import(commands::import::ImportOptions),
    /// Check a scenario for misconfigurations without simulating it: the
    /// standing configuration and every timeline change, by a catalogue of
    /// rules with stable IDs.
    #[command(after_help = "Builds the whole model as `run` does, then runs every rule (lbsim check --list-rules): \
        balancers with one backend or a dominant weight, backends that are down, routes that send a client subnet \
        somewhere that does not reach its balancer (wrong destination, blackhole, reject, loop, missing return \
        route), switch ports on the wrong VLAN, single points of failure, load above capacity (also with the \
        largest server out), balancers without health checks whose servers can fail, retries without a budget, \
        timeouts below the service's p99, alerts that cannot fire and SLOs no alert watches. Every timeline change \
        is checked against the state it applies to; one the scenario's validation would block is a note.\n\n\
        --against BASELINE reports what SCENARIO introduces: client subnet -> service pairs that change outcome, \
        balancers whose capacity drops, and findings the baseline does not have.\n\n\
        Exit status: 0 clean (warnings and notes allowed), 1 an error was found (or a warning, with --deny \
        warnings), 2 the scenario cannot be read.\n\n\
        Examples:\n  \
        lbsim check scenarios/quickstart.yaml\n  \
        lbsim check scenarios/incidents/003-all-traffic-to-one-server.yaml\n  \
        lbsim check scenarios/incidents/004-wrong-route-on-web-01.yaml --against scenarios/incidents/004-with-route-audit.yaml\n  \
        lbsim check scenarios/capacity.yaml --format sarif > lbsim.sarif\n  \
        lbsim check scenarios/quickstart.yaml --deny warnings --junit check.xml\n  \
        lbsim check --list-rules")]
    Check(commands::check::CheckOptions),
    /// List what a scenario can name: algorithms, distributions, metrics, or
    /// `lbsim check`'s rules, one line each.
    #[command(
        after_help = "Examples:\n  lbsim list algorithms\n  lbsim list distributions\n  lbsim list metrics\n  lbsim list rules"
    )]
    List(commands::list::ListOptions),
    /// Print the JSON Schema of the scenario format, with every field's doc
    /// and default, for editors (the YAML language server).
    #[command(after_help = "Save it and name it on a scenario's first line, and the YAML language server \
        (VS Code's YAML extension, Neovim, Helix, ...) completes fields, shows their docs and flags mistakes:\n\n  \
        lbsim schema > lbsim-scenario.schema.json\n  \
        # yaml-language-server: $schema=lbsim-scenario.schema.json\n\n\
        Example:\n  lbsim schema > lbsim-scenario.schema.json")]
    Schema,
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        lbsim completions bash > ~/.local/share/bash-completion/completions/lbsim\n  \
        lbsim completions zsh > ~/.zfunc/_lbsim\n  \
        lbsim completions fish > ~/.config/fish/completions/lbsim.fish")]
    Completions(commands::completions::CompletionsOptions),
    /// Print the man page (roff), or write one per command with --out DIR.
    #[command(after_help = "Examples:\n  lbsim man | man -l -\n  lbsim man --out /usr/local/share/man/man1")]
    Man(commands::completions::ManOptions),
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
    match &cli.command {
        Command::Run(opts) => commands::run::execute(opts),
        Command::Graph(opts) => commands::graph::execute(opts),
        Command::Compare(opts) => commands::compare::execute(opts),
        Command::Sweep(opts) => commands::sweep::execute(opts),
        Command::Merge(opts) => commands::merge::execute(opts),
        Command::Capacity(opts) => commands::capacity::execute(opts),
        Command::Verify(opts) => commands::verify::execute(opts),
        Command::Import(opts) => commands::import::execute(opts),
        Command::Check(opts) => commands::check::execute(opts),
        Command::List(opts) => commands::list::execute(opts),
        Command::Schema => commands::schema::execute(),
        Command::Completions(opts) => commands::completions::execute(opts, Cli::command()),
        Command::Man(opts) => commands::completions::man(opts, Cli::command()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use lbsim::report::files::{self, Command as Writer};

    use super::Cli;

    #[test]
    fn each_command_help_names_the_files_it_writes() {
        let mut cli = Cli::command();
        for f in files::ALL {
            let name = match f.command {
                Writer::Run => "run",
                Writer::Compare => "compare",
                Writer::Sweep => "sweep",
                Writer::Capacity => "capacity",
                Writer::Graph => "graph",
            };
            let help = cli.find_subcommand_mut(name).map(|c| c.render_long_help().to_string()).unwrap_or_default();
            assert!(help.contains(f.name), "`lbsim {name} --help` does not name {} ({})", f.name, f.holds);
        }
    }
}
