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
                Some(id) if declaration_family(id).is_some() => {
                    let family = declaration_family(id).unwrap_or_default();
                    writeln!(out, "{id}\n")?;
                    writeln!(
                        out,
                        "A finding about the declarations themselves ({family}), reported by \
                         every command that reads them.\n\n\
                         It is not one of the repository rules (`avalanche-net explain` lists those): its message, the line it \
                         points at and its `help:` say what to change. Fix the declarations file \
                         (`nix/network.nix`, or the file given with `--network`), then run \
                         `avalanche-net check` again."
                    )?;
                    out.flush()?;
                    Ok(ExitCode::SUCCESS)
                }
                Some(unknown) => {
                    let guess =
                        avalanche_check::did_you_mean(unknown, rules::ALL.iter().map(|r| r.id))
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
    }
}

/// What a diagnostic id outside the `check` rules is about: the Nix reader
/// (`nix-*`), the typed model (`model-*`) or finding the file (`network-*`).
fn declaration_family(id: &str) -> Option<&'static str> {
    let ok = id.len() > 6 && id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    if !ok {
        return None;
    }
    if id.starts_with("nix-") {
        Some("reading the Nix file: syntax, evaluation, or the Nix tool")
    } else if id.starts_with("model-") {
        Some("their shape: an unknown attribute, a wrong type, a missing or invalid value")
    } else if id.starts_with("network-") {
        Some("finding the declarations file")
    } else {
        None
    }
}
