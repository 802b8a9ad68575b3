//! `zczk graph [FILE|-]`: the service graph of a tree as Graphviz DOT, or drawn as SVG.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::style::StyleAttr;
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;
use zczk_core::connection::Access;
use zczk_core::export::{self, ExportOptions};
use zczk_core::graph::ServiceGraph;

use super::text_io::write_stdout;
use super::validate::parse_file;
use super::zk::{with_client, ZkArgs};
use super::CliError;
use crate::connect::Client;

/// The size of the services' names in the picture.
const FONT_SIZE: usize = 14;

/// The whole live tree (ephemeral nodes left out: registrations are not part of the graph).
fn live_tree(zk: &ZkArgs) -> Result<zczk_core::tree::Node, CliError> {
    with_client(zk, Access::Read, |client| async move { read_tree(&client).await })
}

/// The whole tree of `client`, ephemeral nodes left out (the graph of the live tree).
pub(super) async fn read_tree(client: &Client) -> Result<zczk_core::tree::Node, CliError> {
    let options = ExportOptions::default();
    let snapshot = export::read(&*client.store(), "/", &options, None).await?;
    Ok(export::to_tree(&snapshot, &options))
}

/// Print the service graph of tree text (or of the live tree) as Graphviz DOT, or draw it.
///
/// A node with a child `providers` is a service; a node link at or below a service to `.../providers` is an edge from that
/// service to the linked one (the nearest enclosing service owns the link; relative targets
/// are resolved against the node holding the link). DOT has one edge a line, sorted, as
/// upstream prints it; `--format svg` lays the graph out and draws it (no Graphviz needed).
///
/// Examples: `zczk graph services.zk --format svg -o services.svg`, `zczk graph --zk zk1:2181/app`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tree file, or `-` for stdin. Without it, the live tree at `--zk` is read.
    pub file: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// DOT text, or an SVG picture of the laid-out graph.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// What `zczk graph` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT text.
    Dot,
    /// An SVG picture.
    Svg,
}

/// Runs `zczk graph`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let root = match &args.file {
        Some(file) => match parse_file(file)? {
            Ok((root, _)) => root,
            Err(code) => return Ok(code),
        },
        None => live_tree(&args.zk)?,
    };
    let graph = ServiceGraph::of(&root);
    let text = match args.format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Svg => svg_of(&graph),
    };
    match &args.output {
        Some(file) => std::fs::write(file, text).map_err(CliError::io(file))?,
        None => write_stdout(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The graph laid out top to bottom (dependents above what they use) and drawn as SVG: a box
/// per service, an arrow per edge.
pub(super) fn svg_of(graph: &ServiceGraph) -> String {
    let mut svg = SVGWriter::new();
    let nodes = graph.nodes();
    if nodes.is_empty() {
        // The layout needs at least one node; nothing to draw is an empty picture.
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\"></svg>\n".to_string();
    }
    let mut picture = VisualGraph::new(Orientation::TopToBottom);
    let handles: BTreeMap<&str, _> = nodes
        .into_iter()
        .map(|path| {
            let shape = ShapeKind::new_box(path);
            let size = get_shape_size(Orientation::TopToBottom, &shape, FONT_SIZE, false);
            let element = Element::create(shape, StyleAttr::simple(), Orientation::TopToBottom, size);
            (path, picture.add_node(element))
        })
        .collect();
    for (from, to) in &graph.edges {
        picture.add_edge(Arrow::simple(""), handles[from.as_str()], handles[to.as_str()]);
    }
    picture.do_it(false, false, false, &mut svg);
    let mut text = svg.finalize();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}
