//! `avalanche-net explain RULE`: the documentation of any diagnostic id (the
//! registry: `avalanche_check::registry`).
use crate::cli::ExplainArgs;
use avalanche_check::registry;
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if let Some(rule) = args.rule.as_deref().and_then(registry::find) {
        writeln!(out, "{} ({})\n", rule.id, rule.severity.as_str())?;
        writeln!(out, "{}\n", rule.summary)?;
        writeln!(out, "{}", rule.explanation)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = registry::all().map(|r| r.id.len()).max().unwrap_or(0);
    let mut listing = String::new();
    for (i, (stage, rules)) in registry::GROUPS.iter().enumerate() {
        // The repository rules first, under the heading they always had.
        if i > 0 {
            listing.push_str(&format!("\nThe ids of {stage}:\n"));
        }
        for r in *rules {
            listing.push_str(&format!(
                "  {:width$}  {:7}  {}\n",
                r.id,
                r.severity.as_str(),
                r.summary
            ));
        }
    }
    match &args.rule {
        Some(unknown) => {
            let guess = avalanche_check::did_you_mean(unknown, registry::all().map(|r| r.id))
                .map(|id| format!(" (did you mean `{id}`?)"))
                .unwrap_or_default();
            eprintln!("error: no rule `{unknown}`{guess}; the rules are:\n{listing}");
            Ok(ExitCode::from(2))
        }
        None => {
            write!(out, "The rules of `avalanche-net check`:\n{listing}")?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
