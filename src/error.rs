//! Errors and their exit codes.
//!
//! Every mistake in a scenario becomes a [`Located`] diagnostic that names the
//! file, line and column and says what was expected (rendered by miette with a
//! snippet); the binary maps each error kind to its documented exit status.

use std::path::PathBuf;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

/// A problem at one place in the user's input (a scenario file, a CSV it
/// names, or a `--set` argument).
#[derive(Debug, Error, Diagnostic)]
#[error("{location}: {message}")]
pub struct Located {
    /// What is wrong and what is expected.
    pub message: String,
    /// `file:line:col`, or `--set path=value` for an override.
    pub location: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

/// Everything that can stop lbsim.
#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    /// Bad input at a known place: exit status 2.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Located(Box<Located>),

    /// Bad usage or input without a place (missing file, malformed `--set`): exit status 2.
    #[error("{0}")]
    Usage(String),

    /// The scenario file (or a file it names) could not be read: exit status 2.
    #[error("cannot read {}: {reason}", path.display())]
    Input {
        path: PathBuf,
        /// The OS's reason, printed once in the message (not again as a
        /// source, which miette would print on a line of its own).
        reason: std::io::Error,
    },

    /// A report could not be written: exit status 3.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A bug in lbsim: exit status 3.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit status this error maps to (see the README).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Located(_) | Error::Usage(_) | Error::Input { .. } => 2,
            Error::Output { .. } | Error::Internal(_) => 3,
        }
    }

    pub fn output(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Output { path: path.into(), source }
    }

    /// A mistake in a command-line argument: `flag value`, with the span
    /// `at` (byte offsets in `value`) underlined; exit status 2.
    pub fn argument(
        flag: &str,
        value: &str,
        at: std::ops::Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Error {
        let text = format!("{flag} {value}");
        let offset = flag.len() + 1;
        let start = offset + at.start.min(value.len());
        let len = at.end.min(value.len()).saturating_sub(at.start).max(1).min(text.len().saturating_sub(start).max(1));
        let message = message.into();
        Located {
            label: short_label(&message),
            message,
            location: text.clone(),
            src: NamedSource::new("command line", text),
            span: SourceSpan::new(start.into(), len),
            help,
        }
        .into()
    }
}

impl From<Located> for Error {
    fn from(l: Located) -> Error {
        Error::Located(Box::new(l))
    }
}

/// The first clause of a message, used as the label under the snippet.
pub fn short_label(message: &str) -> String {
    // A clause ends at `. ` or `; ` (not at the dots of `clients.web.rate`).
    let end = [". ", "; "].iter().filter_map(|sep| message.find(sep)).min().unwrap_or(message.len());
    let first = message[..end].trim_end_matches('.');
    if first.len() > 60 { "here".to_string() } else { first.to_string() }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
