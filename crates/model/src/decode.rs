//! Decoding a [`Value`] into a [`Network`]. TODO(issue 2).
use crate::Network;
use avalanche_diag::Diagnostic;
use avalanche_nix::Value;

/// Decodes the evaluated declarations: either the module (`{ avalanche.network = …; }`)
/// or the `avalanche.network` value itself (what `nix eval .#…network` prints).
/// Returns the network and every diagnostic; the network is `None` when any is an error.
pub fn decode(value: &Value) -> (Option<Network>, Vec<Diagnostic>) {
    let _ = value;
    (Some(Network::default()), Vec::new())
}
