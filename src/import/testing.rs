//! What the importers' unit tests share: input files written for the
//! purpose, and looking values up in a draft.

use std::path::PathBuf;

use super::doc::Item;
use super::{BalancerDraft, Draft};

/// Writes `text` to `file` in a scratch directory of its own for `kind`
/// and `case`, and returns its path.
pub(crate) fn write(kind: &str, case: &str, file: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lbsim-{kind}-{}-{case}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    p
}

/// The balancer named `name`.
pub(crate) fn balancer<'a>(d: &'a Draft, name: &str) -> &'a BalancerDraft {
    d.balancers.iter().find(|b| b.name == name).unwrap_or_else(|| panic!("no balancer {name}"))
}

/// The scalar at `path` below `item`.
pub(crate) fn text<'a>(item: &'a Item, path: &[&str]) -> Option<&'a str> {
    let mut it = item;
    for k in path {
        it = it.get(k)?;
    }
    it.text()
}
