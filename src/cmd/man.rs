//! `man`: the man page (roff), generated from clap, on stdout.
//!
//! One page: the top-level command, then a section per subcommand with its
//! options and examples, so `man -l` shows everything `--help` would.
use crate::cli::Cli;
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    let page = render()?;
    std::io::stdout().lock().write_all(&page)?;
    Ok(ExitCode::SUCCESS)
}

/// The roff text of the page.
fn render() -> anyhow::Result<Vec<u8>> {
    let command = Cli::command();
    let mut page = Vec::new();
    let mut top = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut top)?;
    for line in String::from_utf8(top)?.lines() {
        // clap_mangen calls the after-help text "EXTRA": ours is examples.
        writeln!(
            page,
            "{}",
            if line == ".SH EXTRA" {
                ".SH EXAMPLES"
            } else {
                line
            }
        )?;
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("avalanche-net {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
        // One section per command; clap_mangen's own section headings become subsections.
        let mut section = Vec::new();
        man.render_description_section(&mut section)?;
        man.render_synopsis_section(&mut section)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut section)?;
        }
        if sub.get_after_help().is_some() {
            man.render_extra_section(&mut section)?;
        }
        writeln!(page, ".SH \"COMMAND: {}\"", name.to_uppercase())?;
        for line in String::from_utf8(section)?.lines() {
            match line.strip_prefix(".SH ") {
                Some("EXTRA") => writeln!(page, ".SS EXAMPLES")?,
                Some(heading) => writeln!(page, ".SS {heading}")?,
                None => writeln!(page, "{line}")?,
            }
        }
    }
    Ok(page)
}
