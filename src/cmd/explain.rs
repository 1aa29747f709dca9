//! `avalanche-net explain RULE`: the documentation of a `check` rule.
use crate::cli::ExplainArgs;
use avalanche_check::rules;
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match args.rule.as_deref().and_then(rules::find) {
        Some(rule) => {
            writeln!(out, "{} ({})\n", rule.id, rule.severity.as_str())?;
            writeln!(out, "{}\n", rule.summary)?;
            writeln!(out, "{}", rule.explanation)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let width = rules::ALL.iter().map(|r| r.id.len()).max().unwrap_or(0);
            let listing: String = rules::ALL
                .iter()
                .map(|r| {
                    format!(
                        "  {:width$}  {:7}  {}\n",
                        r.id,
                        r.severity.as_str(),
                        r.summary
                    )
                })
                .collect();
            match &args.rule {
                Some(unknown) => {
                    eprintln!("error: no rule `{unknown}`; the rules are:\n{listing}");
                    Ok(ExitCode::from(2))
                }
                None => {
                    write!(out, "The rules of `avalanche-net check`:\n{listing}")?;
                    out.flush()?;
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}
