//! `lbsim import KIND FILE...`: a scenario from production's own
//! configuration (and traffic), commented with where each value came from,
//! checked by compiling it before anything is written.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::error::Error;
use crate::import::{self, Draft, Options, Severity};
use crate::report::output::OutputDir;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    /// NGINX configuration: `upstream` blocks, `*_pass`, `*_next_upstream*`, `*_timeout`.
    Nginx,
    /// HAProxy configuration: `backend`/`listen` sections, `balance`, servers, `retries`, `timeout`.
    Haproxy,
    /// Envoy clusters (bootstrap `static_resources`, or an admin `/config_dump?include_eds`) and their routes.
    Envoy,
    /// Kubernetes Services with their EndpointSlices (or Endpoints, or Deployment replicas), Ingresses and HTTPRoutes.
    Kubernetes,
    /// A Linux routing table (`ip -j route`) as a router's table.
    Routes,
}

#[derive(Args, Debug)]
pub struct ImportOptions {
    /// What the files are.
    #[arg(value_enum)]
    pub kind: ImportKind,
    /// The input files (an NGINX main file and its includes are read together).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write the scenario here (atomically; nothing is written on an error).
    /// Without it the scenario goes to stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A YAML file merged over the import (mappings key by key, anything
    /// else replaced): load, service times, SLOs, a timeline...
    #[arg(long, value_name = "FILE")]
    pub overlay: Option<PathBuf>,
    /// Refuse (exit 2, nothing written) when the input holds anything lbsim
    /// does not model.
    #[arg(long)]
    pub strict: bool,
    /// The scenario's name (default: the first file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Simulated time (default 10m, or the access log's span).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Open-loop rate of every client group, or of one: `--rate 800/s`,
    /// `--rate backend=800/s` (repeatable).
    #[arg(long = "rate", value_name = "[GROUP=]RATE")]
    pub rates: Vec<String>,
    /// Users behind each client group.
    #[arg(long, value_name = "N")]
    pub users: Option<u64>,
    /// Every client group's overall deadline (`timeout`).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Service-time distribution of every server without one, as YAML:
    /// `--service "{lognormal: {mean: 30ms, p99: 200ms}}"`.
    #[arg(long, value_name = "DIST")]
    pub service: Option<String>,
    /// Workers of every server.
    #[arg(long, value_name = "N")]
    pub workers: Option<u32>,
    /// routes: the router's name (default: the file's name).
    #[arg(long, value_name = "NAME")]
    pub router: Option<String>,
}

impl ImportOptions {
    fn assemble_options(&self) -> Options {
        Options {
            name: self.name.clone(),
            duration: self.duration.clone(),
            rates: self.rates.clone(),
            users: self.users,
            timeout: self.timeout.clone(),
            service: self.service.clone(),
            workers: self.workers,
            overlay: self.overlay.clone(),
        }
    }
}

pub fn execute(opts: &ImportOptions) -> Result<i32, Error> {
    if let Some(s) = &opts.service {
        check_service(s)?;
    }
    let draft: Draft = match opts.kind {
        ImportKind::Nginx => import::nginx::import(&opts.files)?,
        ImportKind::Haproxy => import::haproxy::import(&opts.files)?,
        ImportKind::Envoy => import::envoy::import(&opts.files)?,
        ImportKind::Kubernetes => import::kubernetes::import(&opts.files)?,
        ImportKind::Routes => import::iproute::import(&opts.files, opts.router.as_deref())?,
    };
    let assembled = import::assemble(draft, &opts.assemble_options())?;
    for f in &assembled.findings.list {
        eprintln!("warning: {f}");
    }
    let unsupported = assembled.findings.unsupported_count();
    if opts.strict && unsupported > 0 {
        return Err(Error::Usage(format!(
            "--strict: the input holds {unsupported} thing{} lbsim does not model (listed above); nothing written",
            if unsupported == 1 { "" } else { "s" }
        )));
    }
    let written = match &opts.out {
        None => {
            let here = std::env::current_dir().unwrap_or_default().join("imported.yaml");
            import::validate(&assembled.text, &here)?;
            print!("{}", assembled.text);
            None
        }
        Some(path) => {
            write_scenario(path, &assembled.text)?;
            Some(path.clone())
        }
    };
    let (b, s, c) = assembled.counts;
    let approximated = assembled.findings.list.iter().filter(|f| f.severity == Severity::Approximated).count();
    eprintln!(
        "{} {b} balancer{}, {s} server{}, {c} client group{}; {unsupported} unsupported, {approximated} approximated{}",
        written.as_ref().map_or("Imported".to_string(), |p| format!("Wrote {}:", p.display())),
        plural(b),
        plural(s),
        plural(c),
        if assembled.findings.list.is_empty() { "" } else { " (listed at the end of the scenario)" },
    );
    for p in &assembled.placeholders {
        eprintln!("placeholder: {p}");
    }
    if let Some(p) = written {
        eprintln!("Run it: lbsim run {}", p.display());
    }
    Ok(0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `--service` must be a distribution lbsim reads.
fn check_service(text: &str) -> Result<(), Error> {
    let opts = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options::<crate::dist::DistSpec>(text, opts).map(|_| ()).map_err(|e| {
        Error::Usage(format!(
            "--service {text}: not a distribution ({e}); for example \"{{lognormal: {{mean: 30ms, p99: 200ms}}}}\""
        ))
    })
}

/// Checks the scenario by compiling it where it will live, then writes it
/// atomically.
fn write_scenario(path: &Path, text: &str) -> Result<(), Error> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::Usage(format!("--out {}: expected a file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    import::validate(text, path)?;
    let out = OutputDir::create(dir)?;
    out.write(&name, text.as_bytes())?;
    Ok(())
}
