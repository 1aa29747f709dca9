//! `flake.nix`: its hosts, by the flake scanner (through the depth guard).
use super::{FileProblem, Loc, RepoFacts};
use avalanche_nix::flake::scan_flake;

impl RepoFacts {
    /// Scans `flake.nix` for hosts; its syntax errors become [`FileProblem`]s.
    pub(super) fn read_flake(&mut self, path: &str, text: &str) {
        let scan = scan_flake(text);
        for (offset, message) in &scan.errors {
            let message = if scan.too_deep {
                format!("`flake.nix` cannot be read: {message}")
            } else {
                format!("`flake.nix` has a syntax error: {message}")
            };
            self.problems.push(FileProblem {
                loc: Loc {
                    path: path.to_owned(),
                    start: *offset,
                    end: *offset,
                },
                message,
            });
        }
        self.flake = Some(scan);
    }
}
