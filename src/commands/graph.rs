//! `lbsim graph`: the topology as Graphviz DOT (`report::graph`), written
//! to `topology.dot` and rendered to `topology.svg` when `dot` is
//! installed. Part of the commands layer.

use std::path::{Path, PathBuf};

use crate::cli;
use crate::error::Error;
use crate::report::files::{TOPOLOGY_DOT, TOPOLOGY_SVG};
use crate::report::{self, OutputDir};

/// Options of `lbsim graph`, parsed straight from its command line.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct GraphOptions {
    /// Scenario file (YAML or JSON).
    pub scenario: PathBuf,
    /// Directory for topology.dot and topology.svg [default: output/<scenario name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override a value in the file (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Print the DOT to stdout instead of writing files.
    #[arg(long)]
    pub stdout: bool,
}

/// `lbsim graph` from the command line.
pub fn execute(opts: &GraphOptions) -> Result<i32, Error> {
    print!("{}", graph(opts)?);
    Ok(0)
}

/// `lbsim graph`: writes `topology.dot` (and `topology.svg` when Graphviz's
/// `dot` is installed), or prints the DOT with `--stdout`. Returns the text
/// for stdout.
pub fn graph(opts: &GraphOptions) -> Result<String, Error> {
    let (world, _) = cli::load(&opts.scenario, &opts.sets, None)?;
    let text = report::graph::dot(&world);
    if opts.stdout {
        return Ok(text);
    }
    let out_dir =
        opts.out.clone().unwrap_or_else(|| Path::new("output").join(crate::cli::variant_name(&world.name, &opts.sets)));
    let out = OutputDir::create(&out_dir)?;
    let dot_path = out.write(TOPOLOGY_DOT.name, text.as_bytes())?;
    let mut lines = vec![format!("wrote {}", dot_path.display())];
    match render_svg(&out, &out.written_path(TOPOLOGY_DOT.name)) {
        Ok(Some(svg)) => lines.push(format!("wrote {}", svg.display())),
        Ok(None) => lines.push(format!(
            "Graphviz `dot` not found: install it (e.g. `apt install graphviz`) for {}",
            TOPOLOGY_SVG.name
        )),
        Err(e) => return Err(e),
    }
    Ok(lines.join("\n") + "\n")
}

/// Runs `dot -Tsvg`, atomically; `None` when Graphviz is not installed.
fn render_svg(out: &OutputDir, dot_path: &Path) -> Result<Option<PathBuf>, Error> {
    let svg = TOPOLOGY_SVG.name;
    let tmp = out.temp_path(svg);
    let status = std::process::Command::new("dot").arg("-Tsvg").arg(dot_path).arg("-o").arg(&tmp).status();
    match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::output(out.final_path(svg), e)),
        Ok(s) if s.success() => out.commit(svg).map(Some),
        Ok(s) => {
            out.discard(svg);
            Err(Error::Internal(format!("`dot -Tsvg` failed ({s}) on {}", dot_path.display())))
        }
    }
}
