//! `lbsim completions SHELL` and `lbsim man`: shell completion scripts
//! (clap_complete) and the man page (clap_mangen), both generated from the
//! command-line definition in `main.rs`, so they never fall behind it.

use std::io::Write;

use crate::error::Error;

/// Options of `lbsim completions`.
#[derive(Clone, Debug, clap::Args)]
pub struct CompletionsOptions {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script for `opts.shell` of command line `cmd`.
pub fn execute(opts: &CompletionsOptions, mut cmd: clap::Command) -> Result<i32, Error> {
    let mut out = Vec::new();
    clap_complete::generate(opts.shell, &mut cmd, "lbsim", &mut out);
    write_stdout(&out)
}

/// Options of `lbsim man`.
#[derive(Clone, Debug, clap::Args)]
pub struct ManOptions {
    /// Write one page per command (lbsim.1, lbsim-run.1, ...) into DIR
    /// instead of printing lbsim.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

fn page(cmd: &clap::Command, title: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(title)
        .render(&mut out)
        .map_err(|e| Error::Internal(format!("cannot render the man page: {e}")))?;
    Ok(out)
}

/// `lbsim man`: the man page of command line `cmd` (roff), or with `--out`
/// a page per command, written atomically.
pub fn man(opts: &ManOptions, cmd: clap::Command) -> Result<i32, Error> {
    let mut cmd = cmd;
    cmd.build();
    let Some(dir) = &opts.out else { return write_stdout(&page(&cmd, "lbsim")?) };
    let out = crate::report::output::OutputDir::create(dir)?;
    let mut written = vec![out.write("lbsim.1", &page(&cmd, "lbsim")?)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("lbsim-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("lbsim {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"));
        written.push(out.write(&format!("{name}.1"), &page(&sub, &name)?)?);
    }
    for p in written {
        println!("{}", p.display());
    }
    Ok(0)
}

fn write_stdout(bytes: &[u8]) -> Result<i32, Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(0),
        // A closed pipe (`| head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::output("stdout", e)),
    }
}
