//! `graph`: the network as a picture, Mermaid or Graphviz DOT, on stdout.
use crate::cli::{GraphArgs, GraphFormat};
use crate::context::Context;
use std::io::Write;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: GraphArgs) -> anyhow::Result<ExitCode> {
    let Some(network) = crate::pipeline::network_or_print(ctx) else {
        return Ok(ExitCode::from(2));
    };
    let text = match args.format {
        GraphFormat::Mermaid => avalanche_render::graph::mermaid(&network),
        GraphFormat::Dot => avalanche_render::graph::dot(&network),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
