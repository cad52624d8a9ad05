//! `lbsim import KIND FILE...`: a scenario from production's own
//! configuration (and traffic), commented with where each value came from,
//! checked by compiling it before anything is written.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::error::Error;
use crate::import::accesslog::{LogOptions, SideFiles};
use crate::import::{self, Draft, Options, Severity};
use crate::report::output::write_file;

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
    /// Access logs alone (give --format): a client group's rate or replay, its users, the upstreams' service times.
    AccessLog,
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
    /// Traffic from an access log (repeatable; gzip read as such): each
    /// client group's rate (or --replay), users, and its servers' service
    /// times. With the kind `access-log`, the FILEs are the logs.
    #[arg(long = "access-log", value_name = "FILE")]
    pub access_logs: Vec<PathBuf>,
    /// The access log's format: nginx (NGINX's combined), haproxy (option
    /// httplog), alb, or an NGINX log_format template such as
    /// '$remote_addr [$time_local] "$request" $status $request_time $upstream_addr $upstream_response_time'.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// The rate profile's step.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub interval: String,
    /// The log field that names a user (default: the client address), e.g. http_x_user_id.
    #[arg(long, value_name = "FIELD")]
    pub users_from: Option<String>,
    /// Write the log's arrivals as a trace beside the scenario and make the
    /// client group replay it (`replay:`), instead of a rate profile.
    #[arg(long)]
    pub replay: bool,
    /// access-log: the balancer's name (default lb).
    #[arg(long, value_name = "NAME")]
    pub balancer: Option<String>,
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
    let logs = log_options(opts)?;
    let mut staging = match &opts.out {
        Some(out) => Some(Staging::create(out)?),
        None if logs.is_some() => {
            return Err(Error::Usage(
                "an access log's service times and traces are written beside the scenario: give --out FILE".into(),
            ));
        }
        None => None,
    };
    let mut side = staging.as_mut().map(|s| &mut s.side);
    let mut draft: Draft = match opts.kind {
        ImportKind::Nginx => import::nginx::import(&opts.files)?,
        ImportKind::Haproxy => import::haproxy::import(&opts.files)?,
        ImportKind::Envoy => import::envoy::import(&opts.files)?,
        ImportKind::Kubernetes => import::kubernetes::import(&opts.files)?,
        ImportKind::Routes => import::iproute::import(&opts.files, opts.router.as_deref())?,
        ImportKind::AccessLog => {
            let logs = logs.as_ref().expect("checked by log_options");
            import::accesslog::standalone(logs, side.as_deref_mut())?
        }
    };
    if opts.kind != ImportKind::AccessLog
        && let Some(logs) = &logs
    {
        import::accesslog::apply(&mut draft, logs, side)?;
    }
    let assembled = import::assemble(draft, &opts.assemble_options())?;
    for f in &assembled.findings.list {
        eprintln!("warning: {f}");
    }
    for n in &assembled.findings.notes {
        eprintln!("note: {n}");
    }
    let unsupported = assembled.findings.unsupported_count();
    if opts.strict && unsupported > 0 {
        return Err(Error::Usage(format!(
            "--strict: the input holds {unsupported} thing{} lbsim does not model (listed above); nothing written",
            if unsupported == 1 { "" } else { "s" }
        )));
    }
    let written = match staging {
        None => {
            let here = std::env::current_dir().unwrap_or_default().join("imported.yaml");
            import::validate(&assembled.text, &here)?;
            print!("{}", assembled.text);
            None
        }
        Some(staging) => Some(staging.commit(&assembled.text)?),
    };
    let (b, s, c) = assembled.counts;
    let approximated = assembled.findings.list.iter().filter(|f| f.severity == Severity::Approximated).count();
    eprintln!(
        "{} {b} balancer{}, {s} server{}, {c} client group{}; {unsupported} unsupported, {approximated} approximated{}",
        written.as_ref().map_or("Imported".to_string(), |(p, _)| format!("Wrote {}:", p.display())),
        plural(b),
        plural(s),
        plural(c),
        if assembled.findings.list.is_empty() { "" } else { " (listed at the end of the scenario)" },
    );
    if let Some((_, side_files)) = &written
        && !side_files.is_empty()
    {
        eprintln!("Beside it: {}", side_files.join(", "));
    }
    for p in &assembled.placeholders {
        eprintln!("placeholder: {p}");
    }
    if let Some((p, _)) = written {
        eprintln!("Run it: lbsim run {}", p.display());
    }
    Ok(0)
}

/// The access-log options, when there are logs to read.
fn log_options(opts: &ImportOptions) -> Result<Option<LogOptions>, Error> {
    let files = if opts.kind == ImportKind::AccessLog {
        if !opts.access_logs.is_empty() {
            return Err(Error::Usage(
                "import access-log: the FILEs are the logs; --access-log is for configuration kinds".into(),
            ));
        }
        opts.files.clone()
    } else {
        opts.access_logs.clone()
    };
    if files.is_empty() {
        if opts.replay || opts.format.is_some() || opts.users_from.is_some() {
            return Err(Error::Usage(
                "--replay, --format and --users-from read an access log: give --access-log FILE".into(),
            ));
        }
        return Ok(None);
    }
    let Some(format) = opts.format.clone() else {
        return Err(Error::Usage(
            "which format is the access log in? --format nginx|haproxy|alb, or your NGINX log_format, e.g. \
             --format '$remote_addr [$time_local] \"$request\" $status $request_time $upstream_addr $upstream_response_time'"
                .into(),
        ));
    };
    Ok(Some(LogOptions {
        files,
        format,
        interval: opts.interval.clone(),
        users_from: opts.users_from.clone(),
        replay: opts.replay,
        balancer: opts.balancer.clone(),
    }))
}

/// Files written beside the scenario wait in a hidden directory next to
/// it until the scenario has compiled against them; then they move into
/// place and the scenario is written. On any error the directory goes.
struct Staging {
    dir: PathBuf,
    out: PathBuf,
    side: SideFiles,
}

impl Staging {
    fn create(out: &Path) -> Result<Staging, Error> {
        let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        let name =
            out.file_name().ok_or_else(|| Error::Usage(format!("--out {}: expected a file name", out.display())))?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::output(&dir, e))?;
        let stage = dir.join(format!(".lbsim-import-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&stage);
        std::fs::create_dir(&stage).map_err(|e| Error::output(&stage, e))?;
        let stem = Path::new(name).file_stem().map_or("scenario".to_string(), |s| s.to_string_lossy().into_owned());
        Ok(Staging {
            dir: dir.clone(),
            out: out.to_path_buf(),
            side: SideFiles { dir: stage, stem, written: Vec::new() },
        })
    }

    /// Checks the scenario against the staged files, then puts them all in
    /// place; returns the scenario's path and the files beside it.
    fn commit(self, text: &str) -> Result<(PathBuf, Vec<String>), Error> {
        let name = self.out.file_name().expect("checked in create").to_string_lossy().into_owned();
        import::validate(text, &self.side.dir.join(&name))?;
        for f in &self.side.written {
            let to = self.dir.join(f);
            std::fs::rename(self.side.dir.join(f), &to).map_err(|e| Error::output(&to, e))?;
        }
        write_file(&self.out, text.as_bytes())?;
        Ok((self.out.clone(), self.side.written.clone()))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.side.dir);
    }
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
