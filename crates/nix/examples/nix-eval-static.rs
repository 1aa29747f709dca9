//! Evaluates a Nix file with the static reader and prints the JSON, like
//! `avalanche-net eval --eval static FILE` (handy when working on this crate alone).
use avalanche_diag::{RenderOptions, SourceMap};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: nix-eval-static FILE");
        return ExitCode::from(2);
    };
    let mut sources = SourceMap::default();
    match avalanche_nix::read_file(std::path::Path::new(&path), &mut sources) {
        Ok(v) => {
            println!("{}", v.to_json_string());
            ExitCode::SUCCESS
        }
        Err(d) => {
            eprint!(
                "{}",
                avalanche_diag::render_human(&d, &sources, RenderOptions::default())
            );
            ExitCode::from(2)
        }
    }
}
