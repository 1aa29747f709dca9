//! The network as a picture: Mermaid and Graphviz DOT. TODO(issue 7).
use avalanche_model::Network;

/// Mermaid flowchart of the egress paths (client → proxy → country → provider),
/// sidecars and fences; embedded in the vpn-proxy README.
pub fn mermaid(network: &Network) -> String {
    let _ = network;
    String::from("flowchart LR\n")
}

/// Graphviz DOT of the whole network.
pub fn dot(network: &Network) -> String {
    let _ = network;
    String::from("digraph avalanche {\n}\n")
}
