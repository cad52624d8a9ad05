//! Stage: model. Compiles a client group's `replay:`: the trace is read
//! through once (every line checked, requests and distinct users counted)
//! so a mistake in it is reported here, with its line, before the run.

use std::path::Path;
use std::sync::Arc;

use crate::scenario::Spanned;
use miette::{NamedSource, SourceSpan};

use crate::error::{Error, Located, short_label};
use crate::model::{Ctx, Load, Replay};
use crate::scenario::{ClientSpec, ReplaySpec};

/// The replay load of group `key`; the fields a replay replaces (rate,
/// profile, closed loop, users) must be absent.
pub(super) fn compile_replay(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &ClientSpec,
    replay: &Spanned<ReplaySpec>,
    base_dir: &Path,
) -> Result<Load, Error> {
    let clash = [
        ("rate", spec.rate.is_some()),
        ("profile", !spec.profile.is_empty()),
        ("profile_repeat", spec.profile_repeat.is_some()),
        ("closed_loop", spec.closed_loop.is_some()),
        ("users", spec.users.is_some()),
        ("user_popularity", spec.user_popularity != crate::scenario::Popularity::Uniform),
        ("arrival", spec.arrival != crate::scenario::ArrivalKind::Poisson),
    ];
    if let Some((field, _)) = clash.iter().find(|(_, set)| *set) {
        return Err(cx.err(
            replay,
            format!("client group `{}` replays a trace and also sets `{field}`", key.value),
            Some("a trace gives the arrivals and the users: remove the other, or the replay".into()),
        ));
    }
    let path = base_dir.join(&replay.value.file);
    let info = crate::trace::scan(&path).map_err(|e| {
        if e.line == 0 {
            return cx.err(replay, format!("`{}`: {}", replay.value.file, e.message), None);
        }
        let shown = path.display().to_string();
        let col = e.col.min(e.text.len() + 1).max(1);
        Located {
            label: short_label(&e.message),
            location: format!("{shown}:{}:{col}", e.line),
            message: e.message,
            src: NamedSource::new(shown, e.text.clone()),
            span: SourceSpan::new((col - 1).into(), e.text.len().saturating_sub(col - 1).max(1)),
            help: None,
        }
        .into()
    })?;
    if info.requests == 0 {
        return Err(cx.err(replay, format!("the trace `{}` has no requests", replay.value.file), None));
    }
    Ok(Load::Replay(Arc::new(Replay {
        path,
        speed: replay.value.speed.as_ref().map_or(1.0, |s| s.value.0),
        scale: replay.value.scale.as_ref().map_or(1.0, |s| s.value.0),
        info,
    })))
}
