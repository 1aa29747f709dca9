//! The rules of `check`: every finding about the repository, with its stable id,
//! severity and documentation (what `avalanche-net explain ID` prints). The
//! registry of every id (these, the reader's and the decoder's) is
//! [`crate::registry`].

pub use avalanche_diag::Rule;
/// The cross-references' ids: the model's resolver (`Network::resolve`) owns
/// them, `check` reports what it finds (see `egress.rs`).
pub use avalanche_model::rules::{
    EGRESS_DUPLICATE_NAME, EGRESS_UNKNOWN_PROVIDER, EGRESS_UNKNOWN_PROXY, EGRESS_UNKNOWN_SECRET,
    EGRESS_UPSTREAM_PROTOCOL,
};

avalanche_diag::rules! {
    RETIRED_NIXOS_CONFIG = "retired-nixos-config", Error,
        "A retired host (or one of its aliases) is still a `nixosConfigurations` entry of the flake.",
        "A host listed under `avalanche.network.retired` is gone: the flake must not build a system for it.\n\
         The scan reads `flake.nix` statically (attrsets, attr paths, `let` bindings).\n\n\
         Fix: delete the `nixosConfigurations.<name>` entry and the modules only it imports.";
    RETIRED_HOSTS_DIR = "retired-hosts-dir", Error,
        "A retired host still has a per-host directory (`hosts/<name>/`, `nixos/hosts/<name>/`, …).",
        "Per-host configuration of a retired host is dead code that can be re-imported by mistake. Host directories\n\
         are found in the common layouts — `hosts/<name>/`, `nixos/hosts/<name>/`, `machines/<name>/`,\n\
         `nixos/machines/<name>/`, `systems/<arch>/<name>/` —, in a directory the flake lists with\n\
         `builtins.readDir`, and under every directory of `repository.hostDirs`.\n\n\
         Fix: `git rm -r <dir>/<name>/`.";
    RETIRED_SOPS_ANCHOR = "retired-sops-anchor", Error,
        "`.sops.yaml` still defines an anchor or key for a retired host.",
        "`.sops.yaml` usually holds one `&host_<name>` age anchor per host. An anchor named after a retired host,\n\
         or any place its age recipient is written, means new files can still be encrypted to it.\n\n\
         Fix: remove the anchor and every `*alias` of it, then run\n\
         `avalanche-net secrets updatekeys --rotate FILE` on the files it could read.";
    RETIRED_SOPS_RULE = "retired-sops-rule", Error,
        "A `.sops.yaml` creation rule is for a retired host (its path or its recipients).",
        "A creation rule whose `path_regex` names a retired host, or whose recipients include a retired host's key,\n\
         is a leftover: either it matches nothing any more, or it keeps encrypting new files to a machine that is gone.\n\n\
         Fix: delete the rule, or remove the retired recipient from it.";
    RETIRED_RECIPIENT = "retired-recipient", Error,
        "A SOPS file is still encrypted to a retired host's age recipient.",
        "The file's metadata (`sops.age[].recipient`) lists the retired host's key: whoever has that host's private key\n\
         can still decrypt the file. Removing the recipient is not enough: the data key it could unwrap must change too.\n\n\
         Fix: remove the key from `.sops.yaml`, then `avalanche-net secrets updatekeys --rotate FILE`\n\
         (updatekeys re-wraps the data key for the new recipients; --rotate makes a new data key and re-encrypts the values).\n\
         Rotate the secrets themselves too if the host may have been compromised.";
    RETIRED_SECRETS_DIR = "retired-secrets-dir", Error,
        "Files are left under `secrets/<name>/` for a retired host.",
        "sops-nix secrets of a retired host are no longer used by any machine.\n\n\
         Fix: `git rm -r secrets/<name>/` (and revoke what they held, e.g. a Tailscale auth key).";
    RETIRED_TAILSCALE_NODE = "retired-tailscale-node", Error,
        "A retired host is still declared as a Tailscale node.",
        "`tailscale.nodes.<name>` describes the tailnet as it should be; a retired host must not be part of it.\n\n\
         Fix: delete the node declaration, and remove the machine from the tailnet admin console.";
    RETIRED_MENTION = "retired-mention", Warning,
        "A live configuration file still names a retired host: by name, alias or address.",
        "Phase 4 of the migration is \"no reference to the retired host anywhere\". History is not a leftover, and a\n\
         host name is often a common word (`storage`, `git`): a bare word is weak evidence. So a mention counts when\n\
         it names a host, in the exact case declared: an FQDN under one of the declared `domains`\n\
         (`git.home.example.org`), a `hosts/<name>` path, a Nix attribute name, a URL or ssh host (`root@storage`),\n\
         `host:port`, a DNS zone record, a configuration value that is exactly the name (`\"storage\"`,\n\
         `kubernetes.io/hostname: storage`), or one of the host's declared `addresses` (an IP left in a firewall\n\
         rule or an egress policy). Parts of other dotted names (`storage.k8s.io`, `pkgs.git`, `.git/`) are not\n\
         mentions.\n\n\
         In live configuration and code (Nix, YAML, JSON, TOML, scripts, units, …) each such line is a warning. In\n\
         prose (`.md`, `.txt`, `.rst`, `.adoc`) the file gets one note (`retired-mention-note`). A file holding\n\
         the line `avalanche-net: history` (in a comment: `# avalanche-net: history`, `<!-- avalanche-net: history -->`)\n\
         is history: its mentions are not reported. `check --mentions all` lists every mention, bare words,\n\
         other cases and history included, as notes. Binary files, SOPS files, the declarations themselves, the files\n\
         `build` generates and places already reported by another `retired-*` rule are skipped.\n\n\
         Fix: remove or update the mention. A file that must keep the history: add the marker line, or list it in\n\
         `.avalancheignore` at the repository root (gitignore syntax).";
    RETIRED_MENTION_NOTE = "retired-mention-note", Note,
        "A retired host is named in prose, in a history file, or only as a bare word: shown, not counted.",
        "Migration plans, decision records and inventories name retired hosts on purpose; a word such as `storage`\n\
         may not be the host at all. These mentions do not hold the cleanup back: a prose file gets one note (how\n\
         many lines, the first ones), and bare words or mentions in another case are summed up in one line.\n\
         `check --mentions all` lists each of them, files marked `avalanche-net: history` included.\n\n\
         Fix: nothing is required. To silence a prose file, add a line `avalanche-net: history` to it.";
    SOPS_CONFIG_INVALID = "sops-config-invalid", Error,
        "`.sops.yaml` cannot be read: invalid YAML, an unknown shape or an invalid `path_regex`.",
        "Every other SOPS rule depends on reading `.sops.yaml`; sops itself would refuse it too.\n\n\
         Fix: correct the file at the reported line.";
    SOPS_RULE_UNUSED = "sops-rule-unused", Error,
        "A creation rule is used by no SOPS file: it matches none, and no declared secret.",
        "A `creation_rules` entry is used when it is the first rule matching a file that *is* SOPS-encrypted (has\n\
         SOPS metadata) or a declared secret's file (which `secrets seal` writes). A rule whose unanchored\n\
         `path_regex` matches only plain files (a catch-all `secrets/[^/]+\\.yaml$` matching a `helm-values.yaml`)\n\
         encrypts nothing: it is stale, typically left behind by a removed host, and the mission's \"no stale\n\
         creation_rules\" makes it an error.\n\n\
         Fix: delete the rule, or correct its `path_regex` (anchor it: `^secrets/…$`).";
    SOPS_RULE_SHADOWED = "sops-rule-shadowed", Error,
        "A creation rule is shadowed by earlier rules for every SOPS file it matches.",
        "sops uses the first matching rule. When every SOPS file (or declared secret) a rule matches is matched by an\n\
         earlier rule first, the rule never applies and its recipients are not the ones files get: it is stale.\n\n\
         Fix: move the rule before the broader one, narrow the earlier `path_regex`, or delete it.";
    SOPS_KEY_GROUPS = "sops-key-groups", Error,
        "A creation rule has several key groups (Shamir secret sharing).",
        "With several `key_groups`, the data key is split: decrypting needs a key from enough groups. A single host\n\
         (sops-nix) or KSOPS with one age key can then not decrypt, and `avalanche-net secrets` does not write such files.\n\n\
         Fix: use one key group, or a plain `age:` list.";
    SOPS_FILE_UNMATCHED = "sops-file-unmatched", Error,
        "A SOPS file matches no creation rule.",
        "Without a rule, `sops updatekeys` cannot know the file's recipients and removing a host from `.sops.yaml`\n\
         silently skips the file.\n\n\
         Fix: add a creation rule whose `path_regex` matches the file.";
    SOPS_RECIPIENTS_DIFFER = "sops-recipients-differ", Error,
        "A SOPS file's recipients differ from those of the creation rule that matches it.",
        "`.sops.yaml` was changed (a host added or removed) but the file was not re-keyed: either a new host cannot\n\
         decrypt it, or an old key still can.\n\n\
         Fix: `avalanche-net secrets updatekeys FILE` (add `--rotate` when a recipient was removed).";
    SECRET_FILE_DIRECTORY = "secret-file-directory", Error,
        "A declared secret's `file` is a directory of the repository.",
        "`secrets.<name>.file` names the one SOPS file `avalanche-net secrets seal` writes (and KSOPS or sops-nix\n\
         reads). When that path is a directory, sealing fails and every consumer of the secret is left without it.\n\n\
         Fix: name a file inside it, e.g. `file = \"<dir>/<name>.sops.yaml\";`.";
    SOPS_RECIPIENT_UNKNOWN = "sops-recipient-unknown", Warning,
        "An age recipient in `.sops.yaml` or a SOPS file belongs to nothing declared.",
        "Every key that can decrypt the repository's secrets should have an owner: a host of the flake (an anchor\n\
         named after it, such as `&host_hawk` or `&hawk`), a declared `sops.recipients.<name> = { age = \"age1…\";\n\
         kind = \"admin\" | \"ci\" | \"host\"; }`, or a retired host (`retired.<name>.ageRecipients`, reported by the\n\
         `retired-*` rules). A key nobody can name is often a machine long gone that can still read every secret\n\
         encrypted to it. Reported once per key, where `.sops.yaml` writes it (else in the first SOPS file).\n\n\
         Fix: declare whose key it is; if nobody knows, remove it from `.sops.yaml` and run\n\
         `avalanche-net secrets updatekeys --rotate FILE` on the files it can read, then rotate their contents.";
    SOPS_RECIPIENT_HOST_GONE = "sops-recipient-host-gone", Error,
        "A `.sops.yaml` anchor is named after a host that no longer exists in the repository.",
        "An anchor such as `&host_oldbox` names a machine, but `oldbox` has no host directory and no\n\
         `nixosConfigurations` entry any more: the machine is gone and its key can still decrypt every file it was a\n\
         recipient of. (Checked only when the repository's hosts are known: host directories, or a flake whose hosts\n\
         the scan can list.)\n\n\
         Fix: declare it retired with its key (`retired.<name>.ageRecipients`), remove the anchor and every alias of\n\
         it, run `avalanche-net secrets updatekeys --rotate FILE`, and rotate the secrets it could read — a new data\n\
         key does not undo what the old host may have copied.";
    SOPS_DEMO_KEY = "sops-demo-key", Warning,
        "A creation rule still encrypts to the public demo key.",
        "The demo age key of avalanche-net is published in its repository (`tests/keys/demo.agekey`): anyone can\n\
         decrypt files encrypted to it. It is fine for the bundled example, never for real secrets.\n\n\
         Fix: replace it by your own host and admin keys, then `avalanche-net secrets updatekeys --rotate FILE`.";
    TAILSCALE_EXIT_NODE_FORBIDDEN = "tailscale-exit-node-forbidden", Error,
        "A node is an exit node (its role, or `advertiseExitNode = true`) while `tailscale.exitNodes = \"forbidden\"`.",
        "Tailscale does remote access only; VPN egress is gluetun's job. An exit node would route a device's whole\n\
         traffic through the tailnet.\n\n\
         Fix: give the node another role or drop `advertiseExitNode`, or set `tailscale.exitNodes = \"allowed\"` on\n\
         purpose.";
    TAILSCALE_OPERATOR_FORBIDDEN = "tailscale-operator-forbidden", Error,
        "Part of the Tailscale Kubernetes operator is under the Kubernetes tree while it is forbidden.",
        "With `tailscale.kubernetesOperator = \"forbidden\"`, nothing under the Kubernetes directory may install the\n\
         operator: its CRDs (`*.tailscale.com`), its Deployment or image (`tailscale/k8s-operator`), its Helm chart,\n\
         or its resources (`ProxyClass`, `Connector`, `ProxyGroup`, `Recorder`, `DNSConfig`).\n\n\
         Fix: delete the manifests (and the Argo CD Application that deploys them).";
    TAILSCALE_ROUTER_NO_ROUTES = "tailscale-router-no-routes", Error,
        "A subnet router advertises no routes.",
        "A `subnet-router` node exists to advertise `advertiseRoutes`; without any it is a plain node with IP\n\
         forwarding turned on.\n\n\
         Fix: add the LAN it routes (`advertiseRoutes = [ \"<network address>/<prefix length>\" ];`) or change the\n\
         role.";
    TAILSCALE_ROUTE_HOST_BITS = "tailscale-route-host-bits", Error,
        "An advertised route has host bits set.",
        "`tailscale set --advertise-routes` rejects non-canonical prefixes: an address with bits set past the prefix\n\
         length (a `.5` in a `/24`) instead of the network address.\n\n\
         Fix: write the network address (the finding names it).";
    TAILSCALE_ROUTE_CGNAT = "tailscale-route-cgnat", Error,
        "An advertised route overlaps Tailscale's own 100.64.0.0/10 or fd7a:115c:a1e0::/48.",
        "Tailscale assigns node addresses from the CGNAT range 100.64.0.0/10 and from fd7a:115c:a1e0::/48; a route\n\
         inside them would hijack tailnet addresses.\n\n\
         Fix: advertise the LAN's real prefix.";
    TAILSCALE_ROUTE_OVERLAP = "tailscale-route-overlap", Warning,
        "Two different advertised routes overlap, or one node lists a route twice.",
        "The same prefix on several subnet routers is Tailscale's high-availability setup (one router is primary,\n\
         the other takes over) and is not reported. Different prefixes that overlap (a `/16` on one router and a\n\
         `/24` inside it on another) make the path to an address depend on Tailscale picking the most specific route;\n\
         that is usually a leftover. It is an error when one of them reaches into Tailscale's own ranges.\n\n\
         Fix: advertise one of the two prefixes; for failover, advertise the very same prefix on both routers.";
    TAILSCALE_NODE_NO_HOST = "tailscale-node-no-host", Error,
        "A managed Tailscale node has no NixOS host in the flake.",
        "Every role but `device` is configured by the NixOS module on a host of this flake: the node must be a\n\
         `nixosConfigurations.<name>` entry or have a host directory (`hosts/<name>/`, `nixos/hosts/<name>/`, …).\n\
         When the flake's hosts cannot be listed statically the rule is off (`flake-hosts-unknown` says so).\n\n\
         Fix: add the host, correct the node's name, or use `role = \"device\"` for machines not managed here.";
    TAILSCALE_TAG_UNDECLARED = "tailscale-tag-undeclared", Error,
        "A node uses a tag that the Tailscale policy file does not declare in `tagOwners`.",
        "`tailscale up --advertise-tags` fails for a tag without an owner in the tailnet policy. Checked against the\n\
         committed `tailscale/policy.hujson` when it exists.\n\n\
         Fix: declare the tag in `tagOwners` (regenerate the policy), or correct its spelling.";
    EGRESS_SHARED_KEY = "egress-shared-key", Warning,
        "Two running gluetuns would use the same WireGuard private key.",
        "Every proxy (each of its replicas), every sidecar and every `protocol = \"sidecar\"` client runs its own\n\
         gluetun. Their credentials are the instance's `credentials` secret, else its provider's. Two WireGuard\n\
         tunnels with one private key are one peer for the VPN server: it sends everything to whichever spoke last,\n\
         so the other tunnel's connections break, and providers may block a key used from several places.\n\n\
         Fix: create one WireGuard configuration (key) per instance at the provider, declare a secret for each, and\n\
         name it in `egress.proxies.<name>.credentials` / `egress.sidecars.<name>.credentials`; keep `replicas = 1`\n\
         on WireGuard proxies (declare a second proxy with its own key for redundancy).";
    EGRESS_PORT_FORWARDING_PROVIDER = "egress-port-forwarding-provider", Error,
        "A sidecar asks for port forwarding on a provider gluetun does not forward ports for.",
        "gluetun forwards ports only for some providers (ProtonVPN, Private Internet Access, PrivateVPN, Perfect\n\
         Privacy: `internal/configuration/settings/portforward.go`); with any other, `VPN_PORT_FORWARDING=on` makes\n\
         it refuse its settings and exit at start. `PORT_FORWARD_ONLY` is written only for the providers with such\n\
         servers (ProtonVPN, Private Internet Access).\n\n\
         Fix: set `portForwarding = false;` on the sidecar, or move it to a provider that forwards ports.";
    EGRESS_NO_PROXY_FENCE = "egress-no-proxy-fence", Warning,
        "An enforced client's `NO_PROXY` sends traffic direct that its egress fence may drop.",
        "An enforced HTTP client may reach its proxy, DNS and its `allowedDestinations`, and its generated\n\
         `NO_PROXY` is exactly that: loopback, each `cidr` destination, and the names of the Services a pod\n\
         destination declares in `services` (`<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<clusterDomain>`,\n\
         `<svc>` from its own namespace). Every other name goes to the proxy, which fails visibly. Two cases\n\
         send direct what the fence drops, silently:\n\
         - a `cidr` destination inside `podCIDR` or `serviceCIDR`: that address is a pod or a Service, which a\n\
           NetworkPolicy `ipBlock` does not reliably select (Service addresses are translated before the policy\n\
           applies);\n\
         - a hand-written `NO_PROXY`/`no_proxy` in the client's workload manifest covering `.svc`, the cluster\n\
           domain, the cluster's CIDRs, `*`, or names and addresses outside the declared destinations (`NO_PROXY`\n\
           matches suffixes: `.svc` is every Service). The generated Component overrides it on the container named\n\
           like the Deployment, but it still holds in other containers and wherever the Component is not wired.\n\n\
         Fix: allow the pods by `namespace` (and `podLabels`, `ports`: the pods' own ports, `services`: the\n\
         Services the app calls by name) instead of a CIDR; remove the hand-written `NO_PROXY`, or write the\n\
         generated value the message gives.";
    EGRESS_SECRET_KEY_MISSING = "egress-secret-key-missing", Error,
        "A credentials secret does not declare a key the generated gluetun reads.",
        "Each gluetun reads its WireGuard key and addresses (or OpenVPN user and password) from its credentials\n\
         Secret, and each proxy its Shadowsocks password, by `secretKeyRef`. A key the Secret lacks keeps the pod in\n\
         `CreateContainerConfigError`, and `avalanche-net secrets seal` writes only the declared `keys`. The sealed\n\
         SOPS file is read too (key names are plaintext in SOPS files; nothing is decrypted): a file sealed before a\n\
         key was declared, or by hand, lacks it.\n\n\
         Fix: add the key to `secrets.<name>.keys`, then `avalanche-net secrets seal <name>`.";
    SECRET_FILE_MISSING = "secret-file-missing", Error,
        "The SOPS file of a secret that a gluetun or a gateway reads does not exist.",
        "The generated manifests read the secret from its file (KSOPS, Flux or sops-nix decrypt it where it is\n\
         deployed). Without the file the failure happens there, far from the cause; `check` reports it before, and\n\
         `build` into the repository waits for it. `diff` and `build --out DIR` still show what would be generated.\n\
         Adopting the tool: `init`, `check`, `diff`, then `secrets seal`, then `build`. Sealing needs only the public\n\
         keys of the `.sops.yaml` recipients, not a key that can decrypt.\n\n\
         Fix: `avalanche-net secrets seal <name>` writes the file (or correct `secrets.<name>.file`; or, when the\n\
         cluster already has the Secret, declare `existingSecret` instead of `credentials`).";
    SECRET_FILE_UNSEALED = "secret-file-unsealed", Error,
        "The file of a secret that a gluetun or a gateway reads exists but is not SOPS-encrypted.",
        "The file has no `sops` metadata: its values are in the clear, in the repository, and KSOPS, Flux or sops-nix\n\
         cannot decrypt it where it is deployed. `secrets seal` refuses to overwrite a file it cannot decrypt.\n\n\
         Fix: move the file out of the repository, run `avalanche-net secrets seal <name>` (values from the\n\
         environment or a prompt), and rotate the values if the plaintext was ever committed or pushed.";
    EGRESS_SECRET_NO_RULE = "egress-secret-no-rule", Error,
        "A declared secret's file matches no `.sops.yaml` creation rule.",
        "`avalanche-net secrets seal` encrypts to the recipients of the first matching rule; without one it cannot\n\
         know who may read the file.\n\n\
         Fix: add a creation rule whose `path_regex` matches the file.";
    EGRESS_SECRET_NO_KSOPS = "egress-secret-no-ksops", Error,
        "A SOPS-sealed Kubernetes secret is declared, but `kubernetes.secrets = \"none\"` says the cluster has no KSOPS.",
        "With `kubernetes.secrets = \"none\"` no SOPS file and no KSOPS generator is rendered: a secret of\n\
         `format = \"kubernetes\"` would never become a Secret, and the gluetun reading it would not start.\n\n\
         Fix: reference the Secret the cluster already has (made by ExternalSecrets, sealed-secrets or by hand)\n\
         with `existingSecret = { name = \"<Secret>\"; keys = { WIREGUARD_PRIVATE_KEY = \"<key>\"; … }; };` on the\n\
         provider, proxy or sidecar, and delete the declared secret; or set `kubernetes.secrets = \"ksops\";`\n\
         when the sealed file is decrypted after all: by KSOPS under Argo CD (or when you apply the tree with\n\
         `gitops = \"none\"`), by Flux's own SOPS decryption under Flux.";
    EGRESS_EXISTING_SECRET_KEYS = "egress-existing-secret-keys", Error,
        "An `existingSecret` made in the repository lacks a key gluetun reads from it.",
        "When the repository has the manifest making an `existingSecret` (a `Secret`, an `ExternalSecret`'s\n\
         `spec.data[].secretKey`, a `SealedSecret`'s `encryptedData`) in the gluetun's namespace, every key the\n\
         generated container reads must be in it: `WIREGUARD_PRIVATE_KEY` and `WIREGUARD_ADDRESSES` (OpenVPN:\n\
         `OPENVPN_USER`, `OPENVPN_PASSWORD`), and `SHADOWSOCKS_PASSWORD` for a shared proxy, each under the key\n\
         `keys` maps it to (its own name by default). A missing key stops the pod at start\n\
         (`CreateContainerConfigError`). Secrets made outside the repository (`dataFrom`, templates) are not judged.\n\n\
         Fix: map each variable to the Secret's key, `keys = { WIREGUARD_PRIVATE_KEY = \"wg-key\"; };`, or add the\n\
         key to the manifest.";
    EGRESS_CLIENT_NOT_ADMITTED = "egress-client-not-admitted", Error,
        "The committed ingress NetworkPolicy of `vpn-proxy` would not admit a client.",
        "The proxies are not an open proxy for the cluster: their ingress policy admits only the declared clients'\n\
         namespaces and pods. The committed policy does not admit this client's namespace and pod labels, so its\n\
         traffic would be dropped (typically the declarations changed and `build` was not run).\n\n\
         Fix: `avalanche-net build`, and commit the result.";
    EGRESS_EXISTING_GLUETUN = "egress-existing-gluetun", Error,
        "An app whose gluetun `build` generates already runs a hand-written gluetun.",
        "A sidecar (or a `protocol = \"sidecar\"` client) gets its gluetun from the generated `vpn-egress` component, as\n\
         the first init container. The component's first patch deletes a container named `gluetun` (from\n\
         `containers` or `initContainers`), so a hand-written sidecar of that name is replaced: a warning, to delete\n\
         the dead YAML (its volumes and env too). A container running a gluetun image under another name is not\n\
         removed and would be a second gluetun in the pod's network namespace: both set routes, ip rules and\n\
         firewall rules, and the pod loses its network or its kill switch. That is an error.\n\n\
         Fix: delete the hand-written gluetun from the Deployment (the declaration replaces it), or name it\n\
         `gluetun` until you do.";
    EGRESS_COMPONENT_MISSING = "egress-component-missing", Error,
        "An app's kustomization does not list its generated `vpn-egress` component.",
        "A client's (or sidecar's) egress is a kustomize Component generated at\n\
         `<app dir>/vpn-egress/` (the app dir per `kubernetes.layout.apps`; `<kubernetes.dir>/base/apps/<namespace>/<name>` by default); the app's own hand-written\n\
         `kustomization.yaml` next to it must list it under `components:`, or the patch and the NetworkPolicy are\n\
         never applied.\n\n\
         `build` adds the entry itself (a one-line edit of the kustomization, in the same all-or-nothing write as\n\
         the component), so before the first build this is not a finding: the component and its wiring arrive\n\
         together. It is one once the component exists unwired (`build --no-wire`, or an edit undone), or when the\n\
         kustomization's shape does not allow a safe edit (then the message shows the lines to add).\n\n\
         Fix: add `- vpn-egress` under the app kustomization's `components:` (or run `avalanche-net build`).";
    GATEWAY_NO_HOST = "gateway-no-host", Error,
        "An egress gateway runs on a host the flake does not have.",
        "`egress.gateways.<name>.host` is the NixOS host that applies the gateway (WireGuard, the proxy, the kill\n\
         switch) through `nixosModules.egressGateway`: it must be a `nixosConfigurations.<host>` entry (or have a\n\
         `hosts/<host>/` directory when the flake computes its hosts).\n\n\
         Fix: add the host to the flake, or correct `host`.";
    GATEWAY_HOST_SHARED = "gateway-host-shared", Error,
        "Two egress gateways run on one host.",
        "A host runs at most one gateway: its proxies (microsocks, tinyproxy) run as one dedicated user, and the\n\
         gateway's nftables table marks that user's packets for its own tunnel and drops the rest (the kill\n\
         switch). A second gateway's table does the same for its tunnel, so each would send the other's traffic\n\
         into the wrong tunnel or drop it. `nixosModules.egressGateway` refuses it too.\n\n\
         Fix: run the second gateway on another host, or keep one (its clients name it with `proxy`).";
    GATEWAY_KEY_SECRET = "gateway-key-secret", Error,
        "An egress gateway's tunnel key secret is not declared, or is not a plain secret for sops-nix.",
        "The gateway's host reads its WireGuard private key with sops-nix from the declared secret\n\
         `tunnel.privateKeySecret` (its first key); sops-nix reads a plain YAML map, not a Kubernetes Secret.\n\n\
         Fix: declare `secrets.<name> = { format = \"plain\"; file = \"secrets/<host>/wireguard.yaml\";\n\
         keys = [ \"privateKey\" ]; };`, then `avalanche-net secrets seal <name>`.";
    GATEWAY_MODULE_MISSING = "gateway-module-missing", Warning,
        "An egress gateway's host does not import `nixosModules.egressGateway`.",
        "The gateway runs only on a host that imports `nixosModules.egressGateway` (the WireGuard tunnel, the\n\
         proxy, the kill switch); without it nothing listens, and every client is refused.\n\n\
         `check` reads the host's own Nix statically: its expression in `flake.nix` (`routy = mkHost \"routy\" { … };`),\n\
         the files that expression imports by path, and its host directory (`hosts/<host>/`, `nixos/hosts/<host>/`,\n\
         …). A use of `egressGateway` there (`inputs.avalanche-net.nixosModules.egressGateway`, or a setting under\n\
         `avalanche.egressGateway`) means imported. A use in a shared place — a helper such as `mkHost`, a module\n\
         list every host shares, a common module, a directory that is no host of the flake — cannot be told apart\n\
         from an import by every host: then there is no finding. It is reported when the module is used nowhere,\n\
         or only by other hosts. A warning, not an error: a module of another flake input may import it unseen.\n\
         When the flake computes its hosts and the host has no directory, its Nix is not known: no finding.\n\n\
         Fix: add the module to the host's `modules` in `flake.nix`, or to `imports` in its host directory (the help\n\
         gives the exact line, in the way the flake names its inputs).";
    GATEWAY_LISTEN_NOT_HOST_ADDRESS = "gateway-listen-not-host-address", Error,
        "An egress gateway's `listen` address is not one of its host's addresses.",
        "The proxy binds only `listen`. On a host without that address it cannot start, and every client is refused.\n\
         `check` reads the addresses the host's own Nix writes literally (its host directory, its expression in\n\
         `flake.nix`, the files that imports): `networking.interfaces.<if>.ipv4.addresses` / `ipv6.addresses`,\n\
         systemd-networkd's `systemd.network.networks.<n>.address`, `.addresses` (`Address`) and\n\
         `.networkConfig.Address`, `networking.wireguard.interfaces.<if>.ips` and `wg-quick`'s `address`. It judges\n\
         only when it found addresses and every address setting is a literal (or a `let`-bound one): a computed\n\
         address, or the listen address written as a string anywhere in the host's Nix, means no finding. An\n\
         interface on DHCP is named in a note: a proxy bound to a leased address breaks when the lease changes.\n\n\
         Fix: correct `listen` (the help names the host's address on the same network), or give the host the address.";
    GATEWAY_KEY_NOT_FOR_HOST = "gateway-key-not-for-host", Error,
        "An egress gateway's tunnel key is sealed, but not for its host.",
        "The host decrypts the WireGuard private key with sops-nix, with its own age key. The sealed file's recipients\n\
         (`sops.age[].recipient`, read from its metadata, never decrypted) must include the host's. The host's\n\
         recipient is known from a `.sops.yaml` anchor named after it alone (`&routy`, `&host_routy`,\n\
         `&server-routy`, often made with `ssh-to-age` from its SSH host key) or a declared\n\
         `sops.recipients.<host>` of `kind = \"host\"`; when neither exists there is no finding. A missing or\n\
         unsealed file is `secret-file-missing`/`secret-file-unsealed`; a file whose creation rule lists the host\n\
         but that was sealed before is `sops-recipients-differ`, which then notes what it means for the gateway.\n\n\
         Fix: add the host's anchor to the creation rule that applies to the file (the finding names its line), then\n\
         `avalanche-net secrets updatekeys <file>` (re-wraps the same data key for the new recipients).";
    GATEWAY_PODS_NOT_ADMITTED = "gateway-pods-not-admitted", Warning,
        "An egress gateway's `allowedClients` does not cover the cluster's pod network.",
        "The gateway admits only `allowedClients` to its proxy port (the rest get a TCP reset). Pods reach it from\n\
         their own addresses unless the cluster masquerades traffic to the LAN (then from the nodes' addresses,\n\
         which must be listed instead).\n\n\
         Fix: add `kubernetes.podCIDR` (or the nodes' networks) to `allowedClients`, or leave it unset: the\n\
         default is the pod network and `kubernetes.nodeCIDRs`.";
    EGRESS_CLIENT_PROTOCOL = "egress-client-protocol", Error,
        "A client's `protocol` is not one its app speaks (`speaks`): the proxy cannot carry its traffic.",
        "`egress.clients.<name>.speaks` lists the proxy protocols the app itself can use. `protocol = \"http\"` sets\n\
         `HTTP_PROXY`/`HTTPS_PROXY`, which only an app speaking HTTP CONNECT follows; `\"shadowsocks\"` needs an app\n\
         speaking Shadowsocks. gluetun v3.41 has no SOCKS5 server, so a SOCKS5-only or raw-TCP app is not served by\n\
         the shared proxies at all.\n\n\
         Fix: pick a protocol the app speaks, or `protocol = \"sidecar\"` (its own gluetun, transparent to the app).";
    EGRESS_APP_UNREACHABLE = "egress-app-unreachable", Error,
        "The generated egress Component of an app with a flat manifest is listed by nothing that applies the app.",
        "`kubernetes.layout.apps` says where each app's manifests are. A directory per app (the default\n\
         `base/apps/{namespace}/{app}`) has a kustomization that lists the generated `vpn-egress` Component\n\
         (`egress-component-missing`). A flat manifest (`apps/{app}.yaml`, kubenix's `.k8s/{app}.yaml`) has none:\n\
         its Component is generated where `kubernetes.layout.egress` says (`vpn-egress/{app}` under\n\
         `kubernetes.dir` by default) and must be listed by what applies the file: the `components:` of each\n\
         hand-written kustomization listing it, or, when a Flux Kustomization applies its directory without a\n\
         kustomization (Flux generates one), that Flux Kustomization's `spec.components` (relative to its\n\
         `spec.path`). `build` adds the entry itself, in the same all-or-nothing write as the Component.\n\n\
         It is a finding when the entry cannot be added (nothing lists or applies the file, as with an Argo CD\n\
         Application on a plain directory; a file `build` will not edit safely; a Component inside a directory\n\
         Flux applies whole, which Flux's generated kustomization would take for a resource and fail on), or\n\
         when the Component exists unwired. The help gives the exact lines to write.";
    FLUX_DECRYPTION_MISSING = "flux-decryption-missing", Error,
        "A Flux Kustomization applies SOPS-encrypted Secrets but does not decrypt them (`spec.decryption`).",
        "With `kubernetes.gitops = \"flux\"` the SOPS-encrypted Secrets are listed as plain resources (of the\n\
         proxies' tree, of each sidecar's `vpn-egress` component) and kustomize-controller decrypts them, but only in\n\
         a Flux `Kustomization` whose `spec.decryption` says how. The generated one does; a hand-written one that\n\
         applies an app with a sidecar (or any SOPS file) must too, or Flux applies the Secret with its `ENC[…]`\n\
         values and gluetun cannot connect. Each Flux Kustomization is judged on what it builds itself, not on the\n\
         paths of the Flux Kustomizations it applies.\n\n\
         Fix: add `decryption: { provider: sops, secretRef: { name: <the age key Secret> } }` to its `spec`\n\
         (`kubernetes.flux.decryptionSecret`, default `sops-age`).";
    FLUX_REGISTER_AMBIGUOUS = "flux-register-ambiguous", Warning,
        "Several Flux bootstraps (`flux-system` Kustomizations): `build` cannot tell where to register the proxies.",
        "The generated Flux `Kustomization` is written where the bootstrap `flux-system` Kustomization applies the\n\
         cluster's Kustomizations (`clusters/<name>`). A repository bootstrapping several clusters has one per\n\
         cluster, and which one runs the proxies is a decision.\n\n\
         Fix: declare `kubernetes.flux.registerIn = \"clusters/<name>\";`.";
    ARGOCD_APP_UNREACHABLE = "argocd-app-unreachable", Error,
        "The generated Argo CD Application is not listed by the kustomization that registers the repository's apps.",
        "`build` writes the `vpn-proxy` Application next to the repository's app-of-apps kustomization (the one\n\
         listing `*-app.yaml` files, or `kubernetes.argocd.registerIn`) and adds it to its `resources:`. Built with\n\
         `--no-wire`, or when that kustomization cannot be edited safely, nothing deploys the Application: Argo CD\n\
         never sees the proxies. A warning when several kustomizations list `*-app.yaml` files (declare\n\
         `kubernetes.argocd.registerIn`). A repository with no app-of-apps at all applies its Applications by\n\
         hand: nothing to report here, but `status` does not count the proxies as deployed. (With\n\
         `kubernetes.gitops = \"flux\"` it is `flux-kustomization-unreachable`.)\n\n\
         Fix: add the reported line under `resources:` (or run `avalanche-net build`, which adds it).";
    FLUX_KUSTOMIZATION_UNREACHABLE = "flux-kustomization-unreachable", Error,
        "The generated Flux Kustomization is not listed by the kustomization of the directory Flux registers it in.",
        "With `kubernetes.gitops = \"flux\"`, `build` writes the Flux `Kustomization` `vpn-proxy.yaml` in\n\
         `kubernetes.flux.registerIn` (or the directory the bootstrap `flux-system` Kustomization applies). A directory\n\
         Flux applies without a kustomization registers it by holding it; one with a `kustomization.yaml` must list\n\
         it. Built with `--no-wire`, or when that kustomization cannot be edited safely, nothing applies it: Flux\n\
         never sees the proxies.\n\n\
         Fix: add the reported line under `resources:` (or run `avalanche-net build`, which adds it).";
    KUSTOMIZE_PATH_MISSING = "kustomize-path-missing", Error,
        "A kustomization lists a path that does not exist.",
        "Every path a hand-written `kustomization.yaml` names — `resources`, `components`, `patches[].path`,\n\
         `patchesStrategicMerge`, `generators`, `transformers` — must be a tracked file or directory (or one `build`\n\
         generates). A missing one makes `kubectl kustomize` fail, and with it the Argo CD Application that syncs\n\
         the directory: typically a file was deleted (say, on `check`'s own advice) and the line listing it was not.\n\
         So must each entry of a Flux Kustomization's `spec.components` (relative to its `spec.path`): one left\n\
         behind when `kubernetes.layout.egress` moved a flat app's Component fails the whole Flux Kustomization.\n\
         Remote bases (`https://…`, `github.com/…?ref=…`) are not checked.\n\n\
         Fix: delete the reported line, or restore the file.";
    KUSTOMIZE_DEAD_MANIFEST = "kustomize-dead-manifest", Warning,
        "A Kubernetes manifest sits in a kustomization's directory, but no kustomization lists it.",
        "A manifest (a YAML document with `apiVersion` and `kind`) next to a `kustomization.yaml` that neither it nor\n\
         any other kustomization lists is never applied. It is dead code that misleads readers, and that takes effect\n\
         the day someone lists it again. SOPS files and generator inputs named in the kustomization are not reported.\n\n\
         Fix: `git rm` the file if it is obsolete, or add it to the kustomization's `resources:`.";
    NETWORKPOLICY_DEAD_WIDENS = "networkpolicy-dead-widens", Error,
        "A NetworkPolicy no kustomization lists selects the pods of an enforced egress client.",
        "NetworkPolicies are additive: a policy that selects a client's pods and allows egress widens the fence the\n\
         generated policy puts around them (the proxy as their only way out). Dead today, it takes effect the day it\n\
         is listed in a kustomization again.\n\n\
         Fix: `git rm` the file (no kustomization lists it, so no other line needs editing).";
    NETWORKPOLICY_SELECTS_NOTHING = "networkpolicy-selects-nothing", Warning,
        "A NetworkPolicy a kustomization applies selects no pod of its namespace.",
        "Its `podSelector.matchLabels` matches none of the pod templates of its namespace, so it fences nothing —\n\
         typically left behind when the app's labels changed, and the pods it was written for are not covered.\n\
         It is judged only where every pod of the namespace is visible in the repository: the namespace holds\n\
         Deployments, StatefulSets and DaemonSets (whose pod labels are read) and kinds known to make no pod; no\n\
         Job, CronJob, bare Pod, custom resource (an operator may make pods) or Ingress (cert-manager's solver\n\
         pods); no kustomization over it changes what it includes (components, patches, generators,\n\
         transformers, `commonLabels`/`labels`, Helm charts, remote bases); no Helm chart, Flux object or Argo CD\n\
         Application other than one of a kustomization here that sets its namespace names it; `build` generates\n\
         nothing there (the proxies', sidecars' and clients' namespaces); and no workload anywhere leaves its\n\
         namespace unwritten. An empty selector (every pod) and `matchExpressions` are not judged, and a\n\
         workload of the namespace must sit in the policy's directory.\n\n\
         Fix: make the selector match the pods' labels, or delete the file and its kustomization line (the help\n\
         names it).";
    EGRESS_UNDECLARED = "egress-undeclared", Warning,
        "A hand-written workload runs its own gluetun, or uses a declared proxy, without being declared.",
        "A Deployment (StatefulSet, DaemonSet) with a gluetun container that is not an `egress.sidecars` entry, or\n\
         with `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` pointing at a declared proxy (`vpn-proxy-<name>`) without\n\
         being an `egress.clients` entry, escapes what the declarations give: one WireGuard key per gluetun, the\n\
         proxies' ingress policy (which will not admit it), the enforced fence and the monitoring.\n\n\
         Fix: declare it as a sidecar or a client, remove the hand-written container or variables, and `build`.";
    TAILSCALE_HOST_CONTRADICTS_ROLE = "tailscale-host-contradicts-role", Error,
        "A managed host's own Tailscale settings contradict its declared role.",
        "Each managed node's host directory (`nixos/hosts/<name>/`, …, or the one setting\n\
         `avalanche.tailscale.nodeName`) is read for `services.tailscale.useRoutingFeatures` and the flags of\n\
         `extraUpFlags`, `extraSetFlags` and `tailscale up|set` lines: `--accept-routes`, `--advertise-routes`,\n\
         `--advertise-exit-node`, `--advertise-tags`. A value that contradicts the declaration — a workstation that\n\
         runs `tailscale set --accept-routes=false`, a subnet router with `useRoutingFeatures = \"client\"` — means\n\
         the tailnet does not work as declared. A setting that gives more than the declaration needs is reported\n\
         too, because it opens what nothing uses: `\"server\"` turns on IP forwarding, so it is wrong on a node that\n\
         routes nothing; `\"client\"` sets `networking.firewall.checkReversePath = \"loose\"`, so it is wrong on a\n\
         node that accepts no subnet routes while exit nodes are forbidden (nixpkgs' tailscale module; `\"both\"` does\n\
         both, so `\"both\"` on a subnet router that accepts no routes is reported). The NixOS module's assertions\n\
         only check that what the role needs is there (`\"both\"` satisfies a subnet router there).\n\n\
         Fix: remove the host's own setting (the module sets what the declaration says), or change the declaration\n\
         (`acceptRoutes = true;` for a router that also uses the other nodes' routes).";
    FLAKE_HOSTS_UNKNOWN = "flake-hosts-unknown", Warning,
        "The flake's NixOS hosts cannot be listed statically: the rules that need them are partly off.",
        "`check` reads `flake.nix` without evaluating it. It follows attrsets, attr paths, `let … in`, `with …;`,\n\
         `inherit`, `//`, flake-parts' `flake.nixosConfigurations`, helper calls whose first argument is the host\n\
         name (`mkHost \"name\" { … }`), `genAttrs` over a literal list, `listToAttrs` over a literal list and\n\
         `mapAttrs f (builtins.readDir ./hosts)` (then the directory's subdirectories are the hosts). Anything else\n\
         (an `import`, `mapAttrs` over a set from another file, a flake-parts or import-tree flake that never names\n\
         `nixosConfigurations` in `flake.nix`) is handed to real Nix when it is installed: `nix eval --json\n\
         .#nixosConfigurations --apply builtins.attrNames` in the repository (a git work tree), offline, with\n\
         `--no-write-lock-file`, no import-from-derivation, no build, stdin closed, a reduced environment, and\n\
         stopped after `--nix-timeout` seconds (default 30); its answer is the host list\n\
         (`flake-hosts-evaluated` says so). When Nix is absent, fails or times out, or with `--eval static` (which\n\
         never runs Nix), the host list is unknown — never empty: `retired-nixos-config` only sees the hosts the\n\
         scan found, and `tailscale-node-no-host` is off. The finding points at the expression the scan could not\n\
         follow, and gives Nix's one-line reason.\n\n\
         Fix: write the host names literally (an attrset, or `genAttrs [ \"a\" \"b\" ]`), keep one directory per\n\
         host in a layout `check` knows (`hosts/`, `nixos/hosts/`, `machines/`, or `repository.hostDirs`), or let\n\
         Nix list them (`nix` installed, a `flake.lock` whose inputs are already in the store).";
    FLAKE_HOSTS_EVALUATED = "flake-hosts-evaluated", Note,
        "The flake's NixOS hosts were listed by real Nix, because the static scan could not.",
        "When `flake.nix` computes its hosts in a way the static scan cannot follow (see `flake-hosts-unknown`),\n\
         `check` runs `nix eval --json .#nixosConfigurations --apply builtins.attrNames` in the repository, the\n\
         way a cautious operator would on a flake nobody vetted: only in a git work tree (Nix copies its tracked\n\
         files into the store, a plain directory's every file), `--no-write-lock-file`, `--offline`, no\n\
         import-from-derivation, `--max-jobs 0`, `restrict-eval`, the flake's `nixConfig` and the flake registry\n\
         ignored, the experimental features enabled by flag, stdin closed, the environment reduced to PATH, HOME,\n\
         the XDG and NIX_* store variables and the locale (no tokens, no SOPS keys, no NIX_CONFIG), and the whole\n\
         process group killed after `--nix-timeout` seconds. The names it prints are the host list the rules use;\n\
         a host only Nix listed is reported at the expression the scan could not follow. `--eval static` never\n\
         runs Nix.\n\n\
         Nothing to fix: the note says where the host list came from.";
    REPO_FILE_INVALID = "repo-file-invalid", Warning,
        "A repository file that `check` reads could not be parsed; its checks are incomplete.",
        "`flake.nix` with a syntax error, YAML under the Kubernetes directory that does not parse (files under a\n\
         Helm chart's `templates/`, next to its `Chart.yaml`, are Go templates and are not read), or a\n\
         `tailscale/policy.hujson` that is not HuJSON. The rules that need the file are skipped for it.\n\n\
         Fix: correct the file at the reported line.";
}

/// The repository rule with id `id` ([`crate::registry::find`] knows every id).
pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use avalanche_diag::Severity;

    #[test]
    fn ids_are_unique_kebab_case_and_documented() {
        let mut ids: Vec<_> = ALL.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for rule in ALL {
            assert!(
                rule.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                rule.id
            );
            assert!(
                !rule.summary.is_empty() && !rule.explanation.is_empty(),
                "{}",
                rule.id
            );
        }
        assert_eq!(RETIRED_RECIPIENT.severity, Severity::Error);
        assert!(ALL.iter().all(|r| !r.could_not_run));
    }
}
