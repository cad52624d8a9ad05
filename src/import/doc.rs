//! The scenario an import writes, as an ordered YAML tree whose values each
//! carry a comment (where the value came from), and its writer.
//!
//! The writer emits block style with one value per line, so that every
//! value can say on its own line which file and line of the input it came
//! from; short records (a route, a profile step) are written as flow
//! mappings on one line.

/// One value and the comment written beside it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Item {
    pub(crate) node: Node,
    pub(crate) comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// A scalar, written plain when YAML allows, quoted otherwise.
    Scalar(String),
    /// Text written as is (a flow mapping given on the command line).
    Raw(String),
    /// Keys in order; `flow` writes it on one line as `{k: v, ...}`.
    Map(Vec<(String, Item)>, bool),
    Seq(Vec<Item>, bool),
}

impl Item {
    pub(crate) fn scalar(text: impl Into<String>, comment: Option<String>) -> Item {
        Item { node: Node::Scalar(text.into()), comment }
    }

    pub(crate) fn map(comment: Option<String>) -> Item {
        Item { node: Node::Map(Vec::new(), false), comment }
    }

    pub(crate) fn flow_map(entries: Vec<(String, Item)>, comment: Option<String>) -> Item {
        Item { node: Node::Map(entries, true), comment }
    }

    pub(crate) fn seq(items: Vec<Item>, comment: Option<String>) -> Item {
        Item { node: Node::Seq(items, false), comment }
    }

    /// The value at `key` of a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Item> {
        match &self.node {
            Node::Map(entries, _) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Item> {
        match &mut self.node {
            Node::Map(entries, _) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` of a mapping, replacing a value it had (in place) or
    /// appending it.
    pub(crate) fn set(&mut self, key: &str, value: Item) {
        if let Node::Map(entries, _) = &mut self.node {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }

    /// Sets `key` right after `after` (or first when `after` is absent).
    pub(crate) fn insert_after(&mut self, after: &str, key: &str, value: Item) {
        if let Node::Map(entries, _) = &mut self.node {
            entries.retain(|(k, _)| k != key);
            let at = entries.iter().position(|(k, _)| k == after).map_or(0, |i| i + 1);
            entries.insert(at, (key.to_string(), value));
        }
    }

    /// The mapping at `key`, created empty when absent.
    pub(crate) fn child(&mut self, key: &str) -> &mut Item {
        if self.get(key).is_none() {
            self.set(key, Item::map(None));
        }
        self.get_mut(key).expect("just set")
    }

    /// Removes `key` from a mapping.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Item> {
        if let Node::Map(entries, _) = &mut self.node {
            let i = entries.iter().position(|(k, _)| k == key)?;
            return Some(entries.remove(i).1);
        }
        None
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        match &self.node {
            Node::Map(entries, _) => entries.iter().map(|(k, _)| k.clone()).collect(),
            _ => Vec::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.node {
            Node::Scalar(s) | Node::Raw(s) => Some(s),
            _ => None,
        }
    }
}

/// Whether two trees hold the same values, comments aside.
pub(crate) fn same_values(a: &Item, b: &Item) -> bool {
    match (&a.node, &b.node) {
        (Node::Scalar(x), Node::Scalar(y)) | (Node::Raw(x), Node::Raw(y)) => x == y,
        (Node::Map(x, _), Node::Map(y, _)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, vx), (ky, vy))| kx == ky && same_values(vx, vy))
        }
        (Node::Seq(x, _), Node::Seq(y, _)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_values(p, q)),
        _ => false,
    }
}

/// Fields whose value is one of several forms (`{exponential: ..}` or
/// `{lognormal: ..}`): an overlay replaces them whole.
const WHOLE: [&str; 4] = ["service", "think_time", "latency", "budget"];

/// Merges `over` into `base`: mappings key by key (recursively), anything
/// else, and the fields in [`WHOLE`], replaced. A replaced value takes the
/// overlay's comment.
pub(crate) fn merge(base: &mut Item, over: Item) {
    match (&mut base.node, over.node) {
        (Node::Map(entries, _), Node::Map(over_entries, _)) => {
            for (key, value) in over_entries {
                match entries.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, existing)) if WHOLE.contains(&key.as_str()) => *existing = value,
                    Some((_, existing)) => merge(existing, value),
                    None => entries.push((key, value)),
                }
            }
            if over.comment.is_some() && base.comment.is_none() {
                base.comment = over.comment;
            }
        }
        (_, node) => {
            base.node = node;
            base.comment = over.comment;
        }
    }
}

/// Writes `root` (a mapping) as YAML, after `header` comment lines.
pub(crate) fn write(root: &Item, header: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Node::Map(entries, _) = &root.node {
        write_entries(&mut out, entries, 0);
    }
    out
}

fn write_entries(out: &mut String, entries: &[(String, Item)], indent: usize) {
    for (key, item) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&quote(key));
        out.push(':');
        write_value(out, item, indent);
    }
}

/// Writes what follows `key:` or `- `: inline when it fits on the line,
/// otherwise a comment and the children on the next lines.
fn write_value(out: &mut String, item: &Item, indent: usize) {
    match &item.node {
        Node::Map(entries, false) if !entries.is_empty() => {
            comment(out, item);
            write_entries(out, entries, indent + 2);
        }
        Node::Seq(items, false) if !items.is_empty() => {
            comment(out, item);
            for it in items {
                out.push_str(&" ".repeat(indent + 2));
                out.push('-');
                match &it.node {
                    Node::Map(entries, false) if !entries.is_empty() => {
                        comment(out, it);
                        write_entries(out, entries, indent + 4);
                    }
                    _ => write_value(out, it, indent + 2),
                }
            }
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(&item.node));
            comment(out, item);
        }
    }
}

fn comment(out: &mut String, item: &Item) {
    if let Some(c) = &item.comment {
        out.push_str("  # ");
        out.push_str(&c.replace('\n', " "));
    }
    out.push('\n');
}

/// A node on one line.
fn inline(node: &Node) -> String {
    match node {
        Node::Scalar(s) => quote(s),
        Node::Raw(s) => s.clone(),
        Node::Map(entries, _) => {
            let parts: Vec<String> =
                entries.iter().map(|(k, v)| format!("{}: {}", quote(k), inline(&v.node))).collect();
            format!("{{{}}}", parts.join(", "))
        }
        Node::Seq(items, _) => {
            let parts: Vec<String> = items.iter().map(|v| inline(&v.node)).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// `text` as a YAML scalar: plain when that reads back as the same string
/// (or the number or boolean it spells), double-quoted otherwise.
pub(crate) fn quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./%+-:@".contains(c);
    let plain = !text.is_empty()
        && text.chars().all(safe)
        && !text.starts_with(['-', '%', '@', ':', '.'])
        && !text.ends_with(':')
        && !text.contains(": ")
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | "true" | "false"
        );
    let negative_number = text.starts_with('-') && text[1..].parse::<f64>().is_ok();
    if plain || negative_number || matches!(text, "true" | "false") {
        return text.to_string();
    }
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    for c in text.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn writes_block_yaml_with_a_comment_per_value() {
        let mut root = Item::map(None);
        root.set("name", Item::scalar("shop", None));
        let lb = root.child("balancers").child("backend");
        lb.comment = c("nginx.conf:3 upstream backend");
        lb.set("algorithm", Item::scalar("least_connections", c("nginx.conf:4 least_conn")));
        lb.set(
            "backends",
            Item::seq(vec![Item::scalar("web-1", c("nginx.conf:5")), Item::scalar("web-{2..3}", None)], None),
        );
        lb.set(
            "routes",
            Item::seq(
                vec![Item::flow_map(
                    vec![("prefix".into(), Item::scalar("0.0.0.0/0", None)), ("via".into(), Item::scalar("gw", None))],
                    c("r.json:2"),
                )],
                None,
            ),
        );
        let text = write(&root, &["imported".to_string()]);
        assert_eq!(
            text,
            "# imported\nname: shop\nbalancers:\n  backend:  # nginx.conf:3 upstream backend\n    algorithm: \
             least_connections  # nginx.conf:4 least_conn\n    backends:\n      - web-1  # nginx.conf:5\n      - \
             \"web-{2..3}\"\n    routes:\n      - {prefix: 0.0.0.0/0, via: gw}  # r.json:2\n"
        );
        // And it reads back as YAML with the same values.
        let docs =
            crate::import::tree::parse_documents(&crate::import::SourceFile::new("o.yaml", text.clone())).unwrap();
        let b = docs[0].path(&["balancers", "backend", "backends"]).unwrap();
        assert_eq!(b.items()[1].text(), Some("web-{2..3}"));
    }

    #[test]
    fn quoting_keeps_strings_strings() {
        assert_eq!(quote("10s"), "10s");
        assert_eq!(quote("100/s"), "100/s");
        assert_eq!(quote("50%"), "50%");
        assert_eq!(quote("yes"), "\"yes\"");
        assert_eq!(quote("14:00"), "14:00");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("%x"), "\"%x\"");
        assert_eq!(quote("-3"), "-3");
        assert_eq!(quote("say \"hi\""), "\"say \\\"hi\\\"\"");
    }

    #[test]
    fn merge_goes_key_by_key_and_replaces_the_rest() {
        let mut base = Item::map(None);
        base.child("servers").child("a").set("workers", Item::scalar("1", c("x:1")));
        base.child("servers").child("a").set("service", Item::scalar("s", None));
        let mut over = Item::map(None);
        over.child("servers").child("a").set("workers", Item::scalar("8", c("load.yaml:3")));
        over.child("servers").child("b").set("workers", Item::scalar("2", None));
        merge(&mut base, over);
        let a = base.get("servers").unwrap().get("a").unwrap();
        assert_eq!(a.get("workers").unwrap(), &Item::scalar("8", c("load.yaml:3")));
        assert_eq!(a.get("service").unwrap().text(), Some("s"));
        assert_eq!(base.get("servers").unwrap().keys(), ["a", "b"]);
    }
}
