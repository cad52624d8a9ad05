//! Where a finding is in the user's file: the scenario location of each
//! compiled entity (a balancer's key, a server range's key, a link's
//! `between`, a timeline entry's `at`), and the [`Place`] a finding is
//! shown at (file, line, column, and the miette diagnostic with the
//! snippet), mapped through any `--set` edits as `run`'s errors are.

use serde_saphyr::Location;

use crate::error::{Error, Located};
use crate::limits::Limits;
use crate::model::network::{LinkId, NodeId, NodeKind};
use crate::model::{ServerId, World};
use crate::scenario::names;
use crate::scenario::{Scenario, ScenarioSource};

/// The scenario locations of the world's entities.
pub(crate) struct Locator<'a> {
    world: &'a World,
    scenario: &'a Scenario,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(world: &'a World, scenario: &'a Scenario) -> Locator<'a> {
        Locator { world, scenario }
    }

    pub(crate) fn scenario(&self) -> &'a Scenario {
        self.scenario
    }

    pub(crate) fn balancer(&self, b: usize) -> Option<Location> {
        self.scenario.balancers.0.get(b).map(|(k, _)| k.referenced)
    }

    pub(crate) fn client(&self, c: usize) -> Option<Location> {
        self.scenario.clients.0.get(c).map(|(k, _)| k.referenced)
    }

    /// The key of the `servers:` entry that declared server `id`.
    pub(crate) fn server(&self, id: ServerId) -> Option<Location> {
        let g = self.world.server_groups.iter().position(|g| g.contains(id))?;
        self.scenario.servers.0.get(g).map(|(k, _)| k.referenced)
    }

    /// A timeline entry's `at`.
    pub(crate) fn entry(&self, i: usize) -> Option<Location> {
        self.scenario.timeline.get(i).map(|e| e.at.referenced)
    }

    pub(crate) fn alert(&self, i: usize) -> Option<Location> {
        self.scenario.alerts.get(i).map(|a| a.name.referenced)
    }

    pub(crate) fn slo(&self, i: usize) -> Option<Location> {
        self.scenario.slos.get(i).map(|s| s.objective.referenced)
    }

    /// A network node's declaration: a client subnet's prefix, a balancer's
    /// or server's key, a router's or switch's key.
    pub(crate) fn node(&self, n: NodeId) -> Option<Location> {
        let net = self.world.network.as_ref()?;
        let spec = self.scenario.network.as_ref();
        match net.nodes.get(n as usize)?.kind {
            NodeKind::Subnet { client, subnet } => self
                .scenario
                .clients
                .0
                .get(client as usize)
                .and_then(|(_, c)| c.subnets.get(subnet as usize))
                .map(|s| s.prefix.referenced),
            NodeKind::Balancer(b) => self.balancer(b as usize),
            NodeKind::Server(id) => self.server(id),
            NodeKind::Router(r) => spec?.routers.0.get(r as usize).map(|(k, _)| k.referenced),
            NodeKind::Switch(s) => spec?.switches.0.get(s as usize).map(|(k, _)| k.referenced),
        }
    }

    /// The `links:` entry that declared link `l`: the first whose two sides
    /// name its two ends (a node, a pattern or glob matching it, or the
    /// client group of a subnet).
    pub(crate) fn link(&self, l: LinkId) -> Option<Location> {
        let net = self.world.network.as_ref()?;
        let spec = self.scenario.network.as_ref()?;
        let link = net.links.get(l as usize)?;
        let names_of = |n: NodeId| -> (String, Option<String>) {
            let node = &net.nodes[n as usize];
            let group = match node.kind {
                NodeKind::Subnet { client, .. } => Some(self.world.clients[client as usize].name.clone()),
                _ => None,
            };
            (node.name.clone(), group)
        };
        let (a, ga) = names_of(link.a);
        let (b, gb) = names_of(link.b);
        let fits = |pattern: &str, name: &str, group: &Option<String>| {
            group.as_deref() == Some(pattern)
                || names::NameIndex::new([name]).resolve(pattern, &Limits::default()).is_ok()
        };
        spec.links
            .iter()
            .find(|s| {
                let [x, y] = s.between.value.as_slice() else { return false };
                (fits(&x.value, &a, &ga) && fits(&y.value, &b, &gb))
                    || (fits(&x.value, &b, &gb) && fits(&y.value, &a, &ga))
            })
            .map(|s| s.between.referenced)
    }
}

/// Where a finding is shown: a file position (1-based line and column;
/// 0 when the finding is about the file as a whole or a `--set` argument),
/// and the span of the file's text to underline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The scenario file, as named on the command line.
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Length of the underlined text in characters (at least 1).
    pub length: usize,
    /// `file:line:col`, or `--set path=value` for a value from the command line.
    pub shown: String,
    /// Byte offset and length in the file as written, when in the file.
    pub span: Option<(usize, usize)>,
}

impl Place {
    /// The place of a scenario location, or of the file as a whole.
    pub fn of(source: &ScenarioSource, at: Option<Location>) -> Place {
        match at.filter(|l| l.line() > 0) {
            Some(loc) => match source.error_at_location(&loc, "", None) {
                Error::Located(l) => Place::of_located(source, &l),
                _ => Place::file(source),
            },
            None => Place::file(source),
        }
    }

    /// The place a located compile error names.
    pub fn of_located(source: &ScenarioSource, l: &Located) -> Place {
        let file = source.display_name();
        if !l.location.starts_with(&file) {
            // From a `--set` argument.
            return Place { line: 0, column: 0, length: 1, shown: l.location.clone(), span: None, file };
        }
        let offset = l.span.offset().min(source.original.len());
        let (line, column) = crate::scenario::source::line_col(&source.original, offset);
        let end = (offset + l.span.len()).min(source.original.len());
        let length = source.original.get(offset..end).map_or(1, |t| t.chars().count().max(1));
        Place { line, column, length, shown: l.location.clone(), span: Some((offset, end - offset)), file }
    }

    fn file(source: &ScenarioSource) -> Place {
        let file = source.display_name();
        Place { line: 0, column: 0, length: 1, shown: file.clone(), span: None, file }
    }
}
