//! From a draft to the scenario's text: the sections in lbsim's order, the
//! flags (load, service times) over what the inputs gave, an overlay file
//! over that, placeholders (marked) for what nothing gave, a header that
//! says how to read the comments, and a footer that lists what was not
//! carried over. `validate` compiles the text before anything is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::doc::{self, Item, Node};
use super::tree::{self, Tree, TreeNode};
use super::{Draft, Findings, Provenance, Severity, SourceFile, entity_name};
use crate::error::Error;
use crate::scenario::ScenarioSource;

/// What the command line adds to an import.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// The scenario's `name`.
    pub(crate) name: Option<String>,
    pub(crate) duration: Option<String>,
    /// `--rate RATE` (every group) or `--rate GROUP=RATE`.
    pub(crate) rates: Vec<String>,
    pub(crate) users: Option<u64>,
    /// Every group's `timeout`.
    pub(crate) timeout: Option<String>,
    /// A distribution for every server without one (`{exponential: 20ms}`).
    pub(crate) service: Option<String>,
    pub(crate) workers: Option<u32>,
    pub(crate) overlay: Option<PathBuf>,
}

/// The written scenario and what to tell the user about it.
#[derive(Clone, Debug)]
pub(crate) struct Assembled {
    pub(crate) text: String,
    pub(crate) findings: Findings,
    /// What got a placeholder, one line each.
    pub(crate) placeholders: Vec<String>,
    pub(crate) counts: (usize, usize, usize),
}

/// The stand-ins for what no input held.
const PLACEHOLDER_RATE: &str = "10/s";
const PLACEHOLDER_SERVICE: &str = "{lognormal: {mean: 20ms, p99: 200ms}}";
const PLACEHOLDER_DURATION: &str = "10m";

pub(crate) fn assemble(draft: Draft, opts: &Options) -> Result<Assembled, Error> {
    let mut root = Item::map(None);
    let name = opts
        .name
        .clone()
        .map(|n| Item::scalar(entity_name(&n), Provenance::Flag("--name".into()).comment()))
        .unwrap_or_else(|| {
            let stem = draft.files.first().map_or("imported".to_string(), |f| {
                Path::new(f).file_stem().map_or("imported".to_string(), |s| s.to_string_lossy().into_owned())
            });
            let stem = stem.trim_end_matches(".log").trim_end_matches(".conf").to_string();
            Item::scalar(entity_name(&stem), None)
        });
    root.set("name", name);
    for (key, val) in &draft.top {
        root.set(key, val.item());
    }
    if let Some(d) = &opts.duration {
        root.set("duration", Item::scalar(d, Provenance::Flag("--duration".into()).comment()));
    }
    sections(&draft, &mut root);
    flags(&mut root, opts)?;
    if let Some(path) = &opts.overlay {
        let file = SourceFile::read(path)?;
        let docs = tree::parse_documents(&file)?;
        let Some(over) = docs.into_iter().next() else {
            return Err(Error::Usage(format!("--overlay {}: the file is empty", path.display())));
        };
        if !over.is_map() {
            return Err(file.error_at_origin(&over.at, "an overlay is a mapping, like a scenario file", None));
        }
        doc::merge(&mut root, overlay_item(&over));
    }
    let placeholders = placeholders(&mut root);
    let counts = (
        root.get("balancers").map_or(0, |b| b.keys().len()),
        root.get("servers").map_or(0, |b| b.keys().len()),
        root.get("clients").map_or(0, |b| b.keys().len()),
    );
    let mut text = doc::write(&root, &header(&draft));
    text.push_str(&footer(&draft.findings, &placeholders));
    Ok(Assembled { text, findings: draft.findings, placeholders, counts })
}

/// Compiles `text` as if it were the scenario file at `path` (so relative
/// paths in it resolve beside it).
pub(crate) fn validate(text: &str, path: &Path) -> Result<(), Error> {
    let source = ScenarioSource::from_text(path, text.to_string());
    crate::model::load_source(source, &[], None).map(|_| ())
}

fn sections(draft: &Draft, root: &mut Item) {
    let clients = root.child("clients");
    for c in &draft.clients {
        let mut group = Item::map(c.from.comment());
        match c.targets.as_slice() {
            [(t, _)] => group.set("target", Item::scalar(t, None)),
            many => {
                group.set(
                    "target",
                    Item {
                        node: Node::Seq(many.iter().map(|(t, _)| Item::scalar(t, None)).collect(), true),
                        comment: None,
                    },
                );
                let weights = group.child("target_weights");
                for (t, w) in many {
                    if let Some(w) = w {
                        weights.set(t, w.item());
                    }
                }
            }
        }
        if let Node::Map(entries, _) = &c.fields.node {
            for (k, v) in entries {
                group.set(k, v.clone());
            }
        }
        clients.set(&c.name, group);
    }
    let balancers = root.child("balancers");
    for b in &draft.balancers {
        let mut lb = Item::map(b.from.comment());
        let head = ["algorithm", "choices", "vnodes", "max_conn"];
        for k in head {
            if let Some(v) = b.fields.get(k) {
                lb.set(k, v.clone());
            }
        }
        lb.set(
            "backends",
            Item::seq(b.backends.iter().map(|be| Item::scalar(&be.server, be.from.comment())).collect(), None),
        );
        let mut weights = Item::map(None);
        for be in &b.backends {
            match (&be.out, &be.weight) {
                (Some(out), _) => weights.set(&be.server, Item::scalar("0", out.comment())),
                (None, Some(w)) => weights.set(&be.server, w.item()),
                _ => {}
            }
        }
        if !weights.keys().is_empty() {
            lb.set("weights", weights);
        }
        let backups: Vec<Item> = b
            .backends
            .iter()
            .filter_map(|be| be.backup.as_ref().map(|f| Item::scalar(&be.server, f.comment())))
            .collect();
        if !backups.is_empty() {
            lb.set("backup", Item::seq(backups, None));
        }
        if let Node::Map(entries, _) = &b.fields.node {
            for (k, v) in entries.iter().filter(|(k, _)| !head.contains(&k.as_str())) {
                lb.set(k, v.clone());
            }
        }
        balancers.set(&b.name, lb);
    }
    let servers = root.child("servers");
    for s in &draft.servers {
        let mut item = s.fields.clone();
        item.comment = s.from.comment();
        servers.set(&s.name, item);
    }
    if let Some(net) = &draft.network {
        root.set("network", net.clone());
    }
}

/// `--rate`, `--users`, `--timeout`, `--service`, `--workers`.
fn flags(root: &mut Item, opts: &Options) -> Result<(), Error> {
    let group_names = root.get("clients").map(Item::keys).unwrap_or_default();
    for r in &opts.rates {
        let (group, rate) = match r.split_once('=') {
            Some((g, rate)) => (Some(g.trim()), rate.trim()),
            None => (None, r.trim()),
        };
        crate::units::parse_rate(rate).map_err(|e| Error::Usage(format!("--rate {r}: {e}")))?;
        let targets: Vec<String> = match group {
            Some(g) if group_names.iter().any(|n| n == g) => vec![g.to_string()],
            Some(g) => {
                return Err(Error::Usage(format!(
                    "--rate {r}: the import has no client group `{g}`; it has {}",
                    if group_names.is_empty() { "none".to_string() } else { group_names.join(", ") }
                )));
            }
            None => group_names.clone(),
        };
        for g in targets {
            let group = root.child("clients").child(&g);
            for k in ["profile", "replay", "closed_loop"] {
                group.remove(k);
            }
            group.set("rate", Item::scalar(rate, Provenance::Flag("--rate".into()).comment()));
        }
    }
    for g in &group_names {
        let group = root.child("clients").child(g);
        if let Some(u) = opts.users {
            group.set("users", Item::scalar(u.to_string(), Provenance::Flag("--users".into()).comment()));
        }
        if let Some(t) = &opts.timeout {
            crate::units::parse_duration(t).map_err(|e| Error::Usage(format!("--timeout {t}: {e}")))?;
            group.set("timeout", Item::scalar(t, Provenance::Flag("--timeout".into()).comment()));
        }
    }
    let server_names = root.get("servers").map(Item::keys).unwrap_or_default();
    for s in &server_names {
        let server = root.child("servers").child(s);
        if let Some(w) = opts.workers {
            server.set("workers", Item::scalar(w.to_string(), Provenance::Flag("--workers".into()).comment()));
        }
        if let Some(dist) = &opts.service
            && server.get("service").is_none()
        {
            server.set(
                "service",
                Item { node: Node::Raw(dist.clone()), comment: Provenance::Flag("--service".into()).comment() },
            );
        }
    }
    Ok(())
}

/// An overlay file's tree as items, each value commented with its place.
fn overlay_item(t: &Tree) -> Item {
    let comment = Some(format!("overlay {}", t.at.short()));
    match &t.node {
        TreeNode::Scalar { text, quoted } => {
            let plain = doc::quote(text);
            let node = if *quoted && !plain.starts_with('"') {
                Node::Raw(format!("\"{text}\""))
            } else {
                Node::Scalar(text.clone())
            };
            Item { node, comment }
        }
        TreeNode::Null => Item { node: Node::Raw("null".into()), comment },
        TreeNode::Map { entries, flow } => Item {
            node: Node::Map(entries.iter().map(|(k, _, v)| (k.clone(), overlay_item(v))).collect(), *flow),
            comment: if *flow { comment } else { None },
        },
        TreeNode::Seq { items, flow } => Item {
            node: Node::Seq(items.iter().map(overlay_item).collect(), *flow),
            comment: if *flow { comment } else { None },
        },
    }
}

/// Fills what no input, flag or overlay gave; returns what it filled.
fn placeholders(root: &mut Item) -> Vec<String> {
    let mut filled = Vec::new();
    if root.get("duration").is_none() && root.get("requests").is_none() {
        root.insert_after(
            "name",
            "duration",
            Item::scalar(
                PLACEHOLDER_DURATION,
                Provenance::Default("lbsim import's default (--duration)".into()).comment(),
            ),
        );
    }
    let needs_skeleton = root.get("balancers").is_none_or(|b| b.keys().is_empty());
    if needs_skeleton {
        let p = |what: &str| Provenance::Placeholder(what.to_string()).comment();
        let lb = root.child("balancers").child("lb");
        lb.comment = p("the input has no balancer: a stand-in so the scenario runs (--overlay your own)");
        lb.set("backends", Item::seq(vec![Item::scalar("app", None)], None));
        let app = root.child("servers").child("app");
        app.comment = p("a stand-in server");
        let clients = root.child("clients");
        if clients.keys().is_empty() {
            let c = clients.child("clients");
            c.comment = p("a stand-in client group");
            c.set("target", Item::scalar("lb", None));
        }
        filled.push("a stand-in balancer `lb`, server `app` and client group (the input has none)".to_string());
    }
    let mut no_load = Vec::new();
    for g in root.get("clients").map(Item::keys).unwrap_or_default() {
        let group = root.child("clients").child(&g);
        if ["rate", "profile", "closed_loop", "replay"].iter().all(|k| group.get(k).is_none()) {
            group.set(
                "rate",
                Item::scalar(
                    PLACEHOLDER_RATE,
                    Provenance::Placeholder("no load in the input (--rate, --access-log or --overlay)".into())
                        .comment(),
                ),
            );
            no_load.push(g);
        }
    }
    if !no_load.is_empty() {
        filled.push(format!(
            "rate {PLACEHOLDER_RATE} for client group{} {}",
            plural(no_load.len()),
            no_load.join(", ")
        ));
    }
    let mut no_service = Vec::new();
    for s in root.get("servers").map(Item::keys).unwrap_or_default() {
        let server = root.child("servers").child(&s);
        if server.get("service").is_none() {
            server.set(
                "service",
                Item {
                    node: Node::Raw(PLACEHOLDER_SERVICE.into()),
                    comment: Provenance::Placeholder(
                        "no service time in the input (--service, --access-log or --overlay)".into(),
                    )
                    .comment(),
                },
            );
            no_service.push(s);
        }
    }
    if !no_service.is_empty() {
        let shown = if no_service.len() > 6 { format!("{} servers", no_service.len()) } else { no_service.join(", ") };
        filled.push(format!("service time {PLACEHOLDER_SERVICE} for {shown}"));
    }
    filled
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn header(draft: &Draft) -> Vec<String> {
    let mut files = draft.files.clone();
    files.dedup();
    let shown = if files.len() > 4 {
        format!("{} and {} more", files[..3].join(", "), files.len() - 3)
    } else {
        files.join(", ")
    };
    vec![
        format!("Imported by `lbsim import {}` from {shown}.", draft.kind),
        "Each value's comment says where it came from: file:line of the input, a".to_string(),
        "default of the input's format, a flag, an access-log measurement, an".to_string(),
        "overlay, or PLACEHOLDER (nothing held it: replace it, or pass a flag).".to_string(),
        "What the input holds that lbsim does not model is listed at the end.".to_string(),
    ]
}

fn footer(findings: &Findings, placeholders: &[String]) -> String {
    let mut out = String::new();
    if !placeholders.is_empty() {
        out.push_str("#\n# Placeholders (replace them, or import with --rate, --service, --access-log, --overlay):\n");
        for p in placeholders {
            out.push_str(&format!("#   {p}\n"));
        }
    }
    let mut list: Vec<&super::Finding> = findings.list.iter().collect();
    list.sort_by_key(|f| (f.severity != Severity::Unsupported, f.at.file.clone(), f.at.line, f.at.col));
    if !list.is_empty() {
        out.push_str("#\n# Not carried over exactly (`lbsim import --strict` refuses the unsupported):\n");
        for f in list {
            out.push_str(&format!("#   {f}\n"));
        }
    }
    for n in &findings.notes {
        out.push_str(&format!("#\n# Note: {n}\n"));
    }
    if !findings.ignored.is_empty() {
        let mut by_name: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (name, at) in &findings.ignored {
            by_name.entry(name).or_default().push(at.short());
        }
        out.push_str("#\n# Ignored, no bearing on what lbsim simulates (TLS, logging, headers, ...):\n");
        for (name, places) in by_name {
            let shown = if places.len() > 4 {
                format!("{}, and {} more", places[..3].join(", "), places.len() - 3)
            } else {
                places.join(", ")
            };
            out.push_str(&format!("#   {name} ({shown})\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{BackendDraft, BalancerDraft, ClientDraft, ServerDraft, Val};

    fn draft() -> Draft {
        let mut d = Draft::new("nginx");
        d.files.push("conf/nginx.conf".into());
        let f = SourceFile::new("nginx.conf", "upstream app {\n server a;\n}\n".into());
        let mut b = BalancerDraft::new("app", Provenance::at(&f.origin(0), "upstream app"));
        b.set("algorithm", Val::new("least_connections", Provenance::at(&f.origin(0), "least_conn")));
        b.backends.push(BackendDraft {
            server: "a".into(),
            from: Provenance::at(&f.origin(16), "server a"),
            weight: Some(Val::new("5", Provenance::at(&f.origin(16), "weight=5"))),
            backup: None,
            out: None,
        });
        d.balancers.push(b);
        d.servers.push(ServerDraft::new("a", Provenance::Nothing));
        d.clients.push(ClientDraft::new("app", "app", Provenance::Nothing));
        d.findings.unsupported(&f.origin(16), "sticky cookie", "no persistence");
        d.findings.ignore("gzip", &f.origin(0));
        d
    }

    #[test]
    fn a_draft_becomes_a_scenario_that_compiles_with_placeholders_marked() {
        let a = assemble(draft(), &Options::default()).unwrap();
        assert!(a.text.contains("    algorithm: least_connections  # nginx.conf:1 least_conn\n"), "{}", a.text);
        assert!(a.text.contains("    weights:\n      a: 5  # nginx.conf:2 weight=5\n"), "{}", a.text);
        assert!(a.text.contains("rate: 10/s  # PLACEHOLDER"), "{}", a.text);
        assert!(a.text.contains("#   unsupported: `sticky cookie` at nginx.conf:2:2 (no persistence)"), "{}", a.text);
        assert!(a.text.contains("#   gzip (nginx.conf:1)"), "{}", a.text);
        assert_eq!(a.placeholders.len(), 2, "{:?}", a.placeholders);
        validate(&a.text, Path::new("/tmp/x.yaml")).unwrap();
    }

    #[test]
    fn flags_and_an_overlay_replace_placeholders() {
        let dir = std::env::temp_dir().join(format!("lbsim-assemble-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let overlay = dir.join("load.yaml");
        std::fs::write(&overlay, "clients:\n  app: {rate: 250/s, timeout: 2s}\nservers:\n  a:\n    workers: 8\n")
            .unwrap();
        let opts = Options {
            service: Some("{exponential: 5ms}".into()),
            rates: vec!["app=100/s".into()],
            overlay: Some(overlay),
            ..Options::default()
        };
        let a = assemble(draft(), &opts).unwrap();
        assert!(a.placeholders.is_empty(), "{:?}", a.placeholders);
        assert!(a.text.contains("    service: {exponential: 5ms}  # from --service\n"), "{}", a.text);
        assert!(
            a.text.contains("rate: 250/s, timeout: 2s}  # overlay load.yaml:2") || a.text.contains("rate: 250/s"),
            "{}",
            a.text
        );
        assert!(a.text.contains("workers: 8  # overlay load.yaml:5"), "{}", a.text);
        validate(&a.text, &dir.join("s.yaml")).unwrap();
        let bad = Options { rates: vec!["nope=1/s".into()], ..Options::default() };
        assert_eq!(
            assemble(draft(), &bad).unwrap_err().to_string(),
            "--rate nope=1/s: the import has no client group `nope`; it has app"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
