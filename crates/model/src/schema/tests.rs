use super::*;

/// The committed Nix files are the text the table and `defaults::NIX` generate (CI has
/// no nixpkgs: this comparison is what keeps them one).
#[test]
fn generated_nix_files_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (file, want) in [
        (GENERATED_PATH, nix_module()),
        (DEFAULTS_PATH, defaults_nix()),
        (GENERATED_DATA_PATH, nix_data()),
    ] {
        let path = root.join(file);
        if std::env::var_os("AVALANCHE_REGENERATE").is_some() {
            std::fs::write(&path, &want).expect("writing a generated file");
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "{file} differs from what crates/model/src/schema generates: run\n  {REGENERATE}\n\
             (never edit the generated file; the first differing line: {})",
            got.lines()
                .zip(want.lines())
                .find(|(a, b)| a != b)
                .map_or_else(
                    || "(one is longer)".to_owned(),
                    |(a, b)| format!("{a:?} vs {b:?}")
                )
        );
    }
}

/// `existingSecret.keys`' description names exactly the variables the decoder
/// accepts (its text is the table's; the list is the model's).
#[test]
fn existing_secret_keys_description_names_the_decoders_variables() {
    let keys = EXISTING_SECRET
        .options
        .iter()
        .find(|o| o.name == "keys")
        .expect("keys");
    let named: Vec<&str> = keys
        .description
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|w| w.len() > 3 && w.contains('_'))
        .collect();
    assert_eq!(named, crate::ExistingSecret::VARIABLES);
}

/// `defaults::NIX` names every constant of defaults.rs, each by its camelCase name.
#[test]
fn every_default_constant_is_in_the_nix_list() {
    let source = include_str!("../defaults.rs");
    let camel = |name: &str| {
        let mut out = String::new();
        for (i, part) in name.split('_').enumerate() {
            let part = part.to_ascii_lowercase();
            if i == 0 {
                out.push_str(&part);
            } else {
                let mut chars = part.chars();
                out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                out.push_str(chars.as_str());
            }
        }
        out
    };
    let consts: Vec<String> = source
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split(':').next())
        .filter(|name| *name != "NIX")
        .map(camel)
        .collect();
    let nix: Vec<String> = crate::defaults::NIX
        .iter()
        .map(|(k, _)| (*k).to_owned())
        .collect();
    assert_eq!(
        consts, nix,
        "crates/model/src/defaults.rs: every constant needs its row in `NIX`, in order"
    );
}

/// `lit` as the JSON `nix eval` prints, inside the entry `name`.
fn lit_json(lit: &Lit, name: &str) -> serde_json::Value {
    use serde_json::{Value as Json, json};
    match lit {
        Lit::Null => Json::Null,
        Lit::Bool(b) => json!(b),
        Lit::Int(i) => json!(i),
        Lit::Float(f) => json!(f),
        Lit::Str(s) => json!(s),
        Lit::List(xs) => Json::Array(xs.iter().map(|x| lit_json(x, name)).collect()),
        Lit::Strings(xs) => json!(xs),
        Lit::Attrs(xs) => Json::Object(
            xs.iter()
                .map(|(k, v)| ((*k).to_owned(), lit_json(v, name)))
                .collect(),
        ),
        Lit::Name => json!(name),
        Lit::NameAfter(prefix) => json!(format!("{prefix}{name}")),
    }
}

/// Sets every option of `group` that `obj` leaves out to the table's default, as the
/// Nix module does (`name`: the attribute name of the entry `obj` is).
fn fill_defaults(obj: &mut serde_json::Value, group: &Group, name: &str) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    for opt in group.options {
        if let Ty::Group(g) = &opt.ty {
            let nested = map.entry(opt.name).or_insert_with(|| serde_json::json!({}));
            fill_defaults(nested, g, name);
            continue;
        }
        if !map.contains_key(opt.name) {
            match &opt.default {
                Default::Required => continue,
                Default::Is(lit) => {
                    map.insert(opt.name.to_owned(), lit_json(lit, name));
                }
                Default::Computed(_) => {
                    map.insert(opt.name.to_owned(), serde_json::Value::Null);
                }
            }
        }
        let value = &mut map[opt.name];
        match (&opt.ty, opt.ty.submodule()) {
            (Ty::AttrsOf(_), Some(g)) => {
                if let Some(entries) = value.as_object_mut() {
                    for (entry, v) in entries.iter_mut() {
                        fill_defaults(v, g, entry);
                    }
                }
            }
            (Ty::ListOf(_), Some(g)) => {
                for v in value.as_array_mut().into_iter().flatten() {
                    fill_defaults(v, g, name);
                }
            }
            (_, Some(g)) => fill_defaults(value, g, name),
            _ => {}
        }
    }
}

/// Networks that set at least one option of every group (the bundled one and the parts
/// it lacks).
fn sample_networks() -> Vec<serde_json::Value> {
    let mut sources = avalanche_diag::SourceMap::default();
    let bundled = avalanche_nix::read_source(
        std::path::Path::new("nix/network.nix"),
        include_str!("../../../../nix/network.nix"),
        &mut sources,
    )
    .expect("the bundled network reads");
    let bundled: serde_json::Value = serde_json::from_str(&bundled.to_json_string()).expect("JSON");
    let rest = serde_json::json!({
        "retired": { "vps": { "description": "VPS", "renamedTo": "box",
            "replacedBy": { "description": "a Pi" } } },
        "egress": {
            "providers": { "mullvad": { "existingSecret": { "name": "mullvad-vpn" } } },
            "proxies": { "ch": { "provider": "mullvad", "countries": ["Switzerland"],
                "existingSecret": { "name": "ch-vpn", "keys": { "WIREGUARD_PRIVATE_KEY": "k" } } } },
            "sidecars": { "torrent": { "namespace": "media", "provider": "mullvad",
                "countries": ["Sweden"], "portForwarding": true,
                "forwardedPortTo": { "app": "qbittorrent" } } },
            "clients": { "bot": { "namespace": "irc", "gateway": "home", "enforce": true,
                "allowedDestinations": [ { "namespace": "irc" }, { "cidr": "10.1.0.0/24" } ] } },
            "gateways": { "home": { "host": "routy", "listen": "10.1.0.1",
                "tunnel": { "endpoint": "exit.example.org:51820",
                    "publicKey": "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=",
                    "address": "10.99.0.2/32", "privateKeySecret": "routy-wireguard" } } }
        },
        "sops": { "recipients": { "ci": { "age": "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq", "kind": "ci" } } },
        "kubernetes": { "gitops": "flux" }
    });
    vec![bundled, rest]
}

/// The defaults the table documents (and the generated Nix module applies) are the
/// decoder's: each sample network decodes to the same `Network` with every option it
/// leaves out written as the table's default. Needs no nixpkgs (CI has none);
/// `tests/flake.rs` also evaluates the module itself where nixpkgs' lib is present.
#[test]
fn table_defaults_are_the_decoders() {
    for mut sample in sample_networks() {
        let network = match sample.get_mut("avalanche") {
            Some(a) => a.get_mut("network").expect("avalanche.network"),
            None => &mut sample,
        };
        let as_written = network.clone();
        fill_defaults(network, &NETWORK, "");
        assert_ne!(&as_written, network, "the sample leaves some option out");
        let decode = |json: &serde_json::Value| {
            let (decoded, diagnostics) = crate::decode(&avalanche_nix::Value::from_json(json));
            let errors: Vec<_> = diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| &d.message)
                .collect();
            assert!(errors.is_empty(), "{errors:#?} in {json:#}");
            decoded.expect("a network")
        };
        assert_eq!(
            decode(&as_written),
            decode(network),
            "the table's defaults differ from the decoder's"
        );
    }
}

/// `decodes` (the reader's keep filter) keeps every option of the table and nothing
/// beside them in a set of named things: an option added to the table is read
/// without more work.
#[test]
fn every_option_of_the_table_is_read_and_nothing_else() {
    let options = options();
    assert!(options.len() > 100, "{} options", options.len());
    for (path, opt) in &options {
        let path: Vec<&str> = path
            .split('.')
            .map(|p| if p == "<name>" { "x" } else { p })
            .collect();
        assert!(NETWORK.reads(&path), "{}", path.join("."));
        if let Ty::AttrsOf(Ty::Submodule(_)) = &opt.ty {
            let bogus = [path.as_slice(), &["x", "bogus"]].concat();
            assert!(!NETWORK.reads(&bogus), "{}", bogus.join("."));
        }
    }
    assert!(!NETWORK.reads(&["kubernetes", "flux", "sourceRef", "bogus"]));
    assert!(NETWORK.reads(&["egress", "proxies", "x", "privileged"]));
    assert!(!NETWORK.reads(&["egress", "clients", "x", "allowedDestinations", "bogus"]));
    assert!(!NETWORK.reads(&["egress", "sidecars", "x", "forwardedPortTo", "bogus"]));
}

/// Where an option sits in a sample network: attribute names, "some entry" of a set of
/// named things, "the first item" of a list.
#[derive(Clone)]
enum Step {
    Key(&'static str),
    Entry,
    Item,
}

/// Every option, including those inside a list's or a nullable submodule.
fn every_option(group: &'static Group, at: &[Step], out: &mut Vec<(Vec<Step>, &'static Opt)>) {
    for opt in group.options {
        let mut here = at.to_vec();
        here.push(Step::Key(opt.name));
        match &opt.ty {
            Ty::Group(g) => every_option(g, &here, out),
            ty => {
                out.push((here.clone(), opt));
                let step = match ty {
                    Ty::AttrsOf(_) => Some(Step::Entry),
                    Ty::ListOf(_) => Some(Step::Item),
                    _ => None,
                };
                if let Some(g) = ty.submodule() {
                    here.extend(step);
                    every_option(g, &here, out);
                }
            }
        }
    }
}

/// `value` at `steps` below `root`, made where missing.
fn set_at(root: &mut serde_json::Value, steps: &[Step], value: serde_json::Value) {
    let Some((last, parents)) = steps.split_last() else {
        return;
    };
    let mut here = root;
    for step in parents {
        here = match step {
            Step::Key(k) => here
                .as_object_mut()
                .expect("an attribute set")
                .entry(*k)
                .or_insert_with(|| serde_json::json!({})),
            Step::Entry => {
                let map = here.as_object_mut().expect("a set of named things");
                if map.is_empty() {
                    map.insert("x".to_owned(), serde_json::json!({}));
                }
                // The last: the samples' own additions, made to combine cleanly.
                map.values_mut().next_back().expect("an entry")
            }
            Step::Item => {
                if !here.is_array() {
                    *here = serde_json::json!([]);
                }
                let list = here.as_array_mut().expect("a list");
                if list.is_empty() {
                    list.push(serde_json::json!({}));
                }
                &mut list[0]
            }
        };
        if here.is_null() {
            *here = serde_json::json!({});
        }
    }
    if let Step::Key(k) = last {
        here.as_object_mut()
            .expect("an attribute set")
            .insert((*k).to_owned(), value);
    }
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Every example the table shows (and the generated module documents) is a value the
/// decoder accepts where it stands: the table's types and the decoder's parsing agree
/// on it. Set into a sample network one at a time, an example may only meet the
/// rules about how it combines with its neighbours.
/// The sample networks merged into one, and its decoding errors as `rule: message`.
fn merged_sample() -> serde_json::Value {
    let mut samples = sample_networks().into_iter();
    let mut base = samples.next().expect("the bundled network");
    let mut base = base
        .get_mut("avalanche")
        .and_then(|a| a.get_mut("network"))
        .expect("avalanche.network")
        .take();
    for rest in samples {
        merge(&mut base, rest);
    }
    base
}

fn errors(json: &serde_json::Value) -> Vec<String> {
    let (_, diagnostics) = crate::decode(&avalanche_nix::Value::from_json(json));
    diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.rule.as_str(), d.message))
        .collect()
}

#[test]
fn every_example_decodes() {
    let base = merged_sample();
    assert_eq!(errors(&base), Vec::<String>::new(), "the sample itself");
    // How one attribute combines with the others, not what it holds.
    let combining = [
        "model-client-upstream",
        "model-conflict",
        "model-destination",
        "model-forwarded-port",
        "model-missing",
    ];
    let mut options = Vec::new();
    every_option(&NETWORK, &[], &mut options);
    let mut checked = 0;
    for (steps, opt) in options {
        let Some(example) = opt.example else { continue };
        let mut sources = avalanche_diag::SourceMap::default();
        let value = avalanche_nix::read_source(
            std::path::Path::new("example.nix"),
            &format!("{{ v = {example}; }}"),
            &mut sources,
        )
        .unwrap_or_else(|_| panic!("the example of `{}` is not Nix: {example}", opt.name));
        let value: serde_json::Value = serde_json::from_str(&value.to_json_string()).expect("JSON");
        let mut sample = base.clone();
        set_at(&mut sample, &steps, value["v"].clone());
        let wrong: Vec<String> = errors(&sample)
            .into_iter()
            .filter(|e| !combining.iter().any(|r| e.starts_with(r)))
            // kubeadm's DNS address, like the example of `serviceCIDR` it lies in.
            .filter(|e| !(opt.name == "dnsServiceIP" && e.starts_with("model-address")))
            .collect();
        assert!(
            wrong.is_empty(),
            "the example of `{}` ({example}) is refused: {wrong:#?}",
            opt.name
        );
        checked += 1;
    }
    assert!(checked > 100, "{checked} examples");
}

/// A value of another type than the table says, for each option.
fn wrong_value(ty: &Ty) -> serde_json::Value {
    use serde_json::json;
    match ty {
        Ty::NullOr(t) => wrong_value(t),
        Ty::Bool => json!("yes"),
        Ty::Number | Ty::Port | Ty::U16 | Ty::U32 => json!("many"),
        Ty::ListOf(_) | Ty::OneOrListOf(_) | Ty::AttrsOf(_) | Ty::Submodule(_) | Ty::Group(_) => {
            json!(7)
        }
        _ => json!(true),
    }
}

/// The decoder refuses, at the option, a value of another type than the table (and so
/// the generated module) declares: the two type every option alike.
#[test]
fn every_option_refuses_another_type() {
    let base = merged_sample();
    let mut options = Vec::new();
    every_option(&NETWORK, &[], &mut options);
    let mut not_refused = Vec::new();
    for (steps, opt) in options {
        let mut sample = base.clone();
        set_at(&mut sample, &steps, wrong_value(&opt.ty));
        let errors = errors(&sample);
        let wrong_type = errors
            .iter()
            .filter_map(|e| e.strip_prefix("model-type: wrong type for `"))
            .filter_map(|e| e.strip_suffix('`'))
            .any(|path| path == opt.name || path.ends_with(&format!(".{}", opt.name)));
        // A conflict with a neighbour is reported before either value is read.
        let conflict = errors.iter().any(|e| {
            e.contains(&format!("both `{}`", opt.name))
                || e.contains(&format!("and `{}`", opt.name))
        });
        let refused = wrong_type || conflict;
        if !refused {
            not_refused.push(format!(
                "`{}` = {}: {errors:?}",
                opt.name,
                wrong_value(&opt.ty)
            ));
        }
    }
    assert!(not_refused.is_empty(), "{not_refused:#?}");
}
