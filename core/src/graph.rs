//! The service graph of a tree, and its Graphviz DOT form.
//!
//! A node with a child named `providers` is a **service**. Every node link at or below a
//! service whose target (resolved against the node holding the link) ends in `/providers` is
//! an edge from the service to the target without `/providers`; when services nest, the
//! nearest enclosing one owns the link. So with
//!
//! ```text
//! /web
//!   db -> /db/providers
//!   /providers
//! /db
//!   /providers
//! ```
//!
//! the graph is `/web -> /db`, printed one edge a line, as upstream does:
//!
//! ```
//! let text = "/web\n  db -> /db/providers\n  /providers\n/db\n  /providers\n";
//! let root = zczk_core::tree::parse(text).unwrap();
//! assert_eq!(zczk_core::graph::dot_of(&root), "digraph g {\n  \"/web\" -> \"/db\";\n}\n");
//! ```

use std::collections::BTreeSet;

use crate::path;
use crate::tree::Node;

/// The name of the child that makes a node a service.
pub const PROVIDERS: &str = "providers";

/// Services and the dependencies between them, in sorted (stable) order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceGraph {
    /// The paths of the services.
    pub services: BTreeSet<String>,
    /// Edges `(from, to)`: the service holding the link, and the linked service's path.
    pub edges: BTreeSet<(String, String)>,
}

impl ServiceGraph {
    /// The service graph of a tree whose root stands for `/` (as [`parse`](crate::tree::parse)
    /// returns it). A link whose target cannot be resolved (it goes above `/`) is no edge.
    pub fn of(root: &Node) -> ServiceGraph {
        let mut graph = ServiceGraph::default();
        // (path, node, nearest enclosing service); an explicit stack, as trees can be deep.
        let mut stack: Vec<(String, &Node, Option<String>)> = vec![("/".to_string(), root, None)];
        while let Some((node_path, node, enclosing)) = stack.pop() {
            let service = if node.children.contains_key(PROVIDERS) {
                graph.services.insert(node_path.clone());
                Some(node_path.clone())
            } else {
                enclosing
            };
            if let Some(service) = &service {
                for target in node.links.values() {
                    if let Some(to) = provided_service(&node_path, target) {
                        graph.edges.insert((service.clone(), to));
                    }
                }
            }
            for (name, child) in &node.children {
                stack.push((path::child(&node_path, name), child, service.clone()));
            }
        }
        graph
    }

    /// The graph in Graphviz DOT as upstream prints it: `digraph g {`, then one edge a line
    /// (`  "/a" -> "/b";`, sorted), then `}`.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph g {\n");
        for (from, to) in &self.edges {
            out.push_str("  ");
            push_quoted(&mut out, from);
            out.push_str(" -> ");
            push_quoted(&mut out, to);
            out.push_str(";\n");
        }
        out.push_str("}\n");
        out
    }

    /// The nodes to draw: the services and every path an edge reaches, sorted.
    pub fn nodes(&self) -> BTreeSet<&str> {
        let ends = self.edges.iter().flat_map(|(from, to)| [from.as_str(), to.as_str()]);
        self.services.iter().map(String::as_str).chain(ends).collect()
    }
}

/// The service a link target names: the resolved target without its last `/providers`
/// segment, when it has one.
fn provided_service(holder: &str, target: &str) -> Option<String> {
    let resolved = path::join(holder, target).ok()?;
    match path::split(&resolved)? {
        (service, PROVIDERS) => Some(service.to_string()),
        _ => None,
    }
}

/// A DOT string literal: in double quotes, with `"` and `\` escaped.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The DOT text of the service graph of a tree (see [`ServiceGraph`]).
pub fn dot_of(root: &Node) -> String {
    ServiceGraph::of(root).to_dot()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse;

    fn graph(text: &str) -> ServiceGraph {
        ServiceGraph::of(&parse(text).unwrap_or_else(|e| panic!("{e}")))
    }

    fn edges(text: &str) -> Vec<(String, String)> {
        graph(text).edges.into_iter().collect()
    }

    fn edge(from: &str, to: &str) -> (String, String) {
        (from.to_string(), to.to_string())
    }

    #[test]
    fn services_are_nodes_with_providers() {
        let g = graph("/a\n  /providers\n/b\n  /c\n    /providers\n/providers\n");
        assert_eq!(g.services.into_iter().collect::<Vec<_>>(), ["/", "/a", "/b/c"]);
    }

    #[test]
    fn absolute_link_to_providers_is_an_edge() {
        let text = "/web\n  db -> /db/providers\n  other -> /db\n  /providers\n/db\n  /providers\n";
        assert_eq!(edges(text), [edge("/web", "/db")]);
        assert_eq!(dot_of(&parse(text).unwrap()), "digraph g {\n  \"/web\" -> \"/db\";\n}\n");
    }

    #[test]
    fn links_below_a_service_belong_to_the_nearest_service() {
        let text = "\
/web
  /providers
  /config
    db -> /db/providers
  /worker
    /providers
    /deep
      cache -> /cache/providers
/db
  /providers
/cache
  /providers
";
        assert_eq!(edges(text), [edge("/web", "/db"), edge("/web/worker", "/cache")]);
    }

    #[test]
    fn links_outside_any_service_are_no_edges() {
        assert_eq!(edges("/tools\n  db -> /db/providers\n/db\n  /providers\n"), []);
    }

    #[test]
    fn relative_targets_resolve_against_the_node_holding_the_link() {
        let text = "\
/app
  /web
    /providers
    /cfg
      db -> ../../db/providers
      self -> providers
  /db
    /providers
";
        assert_eq!(edges(text), [edge("/app/web", "/app/db"), edge("/app/web", "/app/web/cfg")]);
    }

    #[test]
    fn targets_are_normalized_and_bad_ones_skipped() {
        let text = "/a\n  x -> /b/./c/../providers\n  y -> ../../../providers\n  /providers\n";
        assert_eq!(edges(text), [edge("/a", "/b")]);
    }

    #[test]
    fn edges_are_sorted_and_unique() {
        let text = "\
/z
  a -> /b/providers
  b -> /a/providers
  c -> /b/providers
  /providers
/a
  z -> /z/providers
  /providers
";
        let dot = dot_of(&parse(text).unwrap());
        assert_eq!(dot, "digraph g {\n  \"/a\" -> \"/z\";\n  \"/z\" -> \"/a\";\n  \"/z\" -> \"/b\";\n}\n");
    }

    #[test]
    fn empty_graph() {
        assert_eq!(dot_of(&Node::default()), "digraph g {\n}\n");
    }

    #[test]
    fn quotes_in_names_are_escaped() {
        let text = "/a\"b\n  x -> /c\\d/providers\n  /providers\n";
        assert_eq!(dot_of(&parse(text).unwrap()), "digraph g {\n  \"/a\\\"b\" -> \"/c\\\\d\";\n}\n");
    }
}
