# GENERATED from the Rust model (crates/model/src): do not edit. Rewritten by:
#   AVALANCHE_REGENERATE=1 cargo test -p avalanche-model schema
# network-options.nix's assertions read these lists: the same ones the decoder checks.
{
  # `existingSecret.keys`: the gluetun variables a credentials Secret can provide
  # (`ExistingSecret::VARIABLES`).
  credentialVariables = [ "WIREGUARD_PRIVATE_KEY" "WIREGUARD_ADDRESSES" "OPENVPN_USER" "OPENVPN_PASSWORD" "SHADOWSOCKS_PASSWORD" ];
}
