//! Files written by the real sops (Go) decrypt with this crate, MAC included;
//! and what this crate writes decrypts again, byte-stable when unchanged.
use avalanche_sops::{Format, Identities, Value, crypt, keys};

fn fixture(name: &str) -> String {
    let p = format!(
        "{}/../../tests/fixtures/sops-vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

#[test]
fn sops_371_x25519_nested_list() {
    let mut ids = Identities::empty();
    ids.add_keys_text(&fixture("age-test-key.txt"), false, "test key")
        .unwrap();
    let d = crypt::decrypt(&fixture("nested-list.sops.yaml"), Format::Yaml, &ids).unwrap();
    let expected = Value::Map(vec![
        ("test_key".into(), s("test_value")),
        ("a_list".into(), Value::Seq(vec![s("e1"), s("e3")])),
        (
            "nested".into(),
            Value::Map(vec![(
                "test".into(),
                Value::Map(vec![("file".into(), s("another value"))]),
            )]),
        ),
    ]);
    assert_eq!(d.plain, expected);
    assert_eq!(d.metadata.version, "3.7.1");
}

#[test]
fn sops_3133_ssh_ed25519_recipient() {
    let mut ids = Identities::empty();
    ids.add_ssh_key(fixture("ssh-ed25519-test-key").as_bytes(), "ssh test key")
        .unwrap();
    let d = crypt::decrypt(&fixture("ssh-recipient.sops.yaml"), Format::Yaml, &ids).unwrap();
    assert_eq!(
        d.plain,
        Value::Map(vec![("test_key".into(), s("test_value"))])
    );
}

#[test]
fn wrong_key_and_tampering_are_errors() {
    let mut wrong = Identities::empty();
    wrong
        .add_ssh_key(fixture("ssh-ed25519-test-key").as_bytes(), "ssh test key")
        .unwrap();
    let e = crypt::decrypt(&fixture("nested-list.sops.yaml"), Format::Yaml, &wrong).unwrap_err();
    assert!(matches!(e, avalanche_sops::Error::NoIdentity { .. }), "{e}");

    let mut ids = Identities::empty();
    ids.add_keys_text(&fixture("age-test-key.txt"), false, "test key")
        .unwrap();
    let text = fixture("nested-list.sops.yaml");
    let tampered = text.replace("data:2mP+IAdczoEr0g==", "data:2mP+IAdczoEr0w==");
    let e = crypt::decrypt(&tampered, Format::Yaml, &ids).unwrap_err();
    assert!(matches!(e, avalanche_sops::Error::Tampered { .. }), "{e}");
    let mac_tampered = text.replace(
        "mac: ENC[AES256_GCM,data:WQjp",
        "mac: ENC[AES256_GCM,data:WQjq",
    );
    let e = crypt::decrypt(&mac_tampered, Format::Yaml, &ids).unwrap_err();
    assert!(matches!(e, avalanche_sops::Error::MacMismatch), "{e}");
    // Swapping two list items keeps every value authentic but breaks the MAC.
    let swapped = text
        .replace("data:oOQ=,iv:5P+1UQyIYOW8xXgsvTXC17msGcA6IGB3N8n+pstfqjo=,tag:ox4rgjbb8c0vYZ2XmwRgpg==", "@@")
        .replace(
            "data:mYU=,iv:LbGS8DjM6Vnr2nU7QokzQlg0gL+XMWhqbN+ypP7ZIZo=,tag:CFrhnZv6lYGJOVso+2YBFg==",
            "data:oOQ=,iv:5P+1UQyIYOW8xXgsvTXC17msGcA6IGB3N8n+pstfqjo=,tag:ox4rgjbb8c0vYZ2XmwRgpg==",
        )
        .replace("@@", "data:mYU=,iv:LbGS8DjM6Vnr2nU7QokzQlg0gL+XMWhqbN+ypP7ZIZo=,tag:CFrhnZv6lYGJOVso+2YBFg==");
    let e = crypt::decrypt(&swapped, Format::Yaml, &ids).unwrap_err();
    assert!(matches!(e, avalanche_sops::Error::MacMismatch), "{e}");
}

#[test]
fn encrypt_then_decrypt_yaml_and_json_with_stable_ivs() {
    let mut ids = Identities::empty();
    ids.add_keys_text(&fixture("age-test-key.txt"), false, "test key")
        .unwrap();
    let recipient = keys::recipients_of_keys_text(&fixture("age-test-key.txt"))
        .unwrap()
        .remove(0);
    let plain = Value::Map(vec![
        ("apiVersion".into(), s("v1")),
        ("metadata".into(), Value::Map(vec![("name".into(), s("x"))])),
        (
            "stringData".into(),
            Value::Map(vec![
                ("A".into(), s("alpha")),
                ("EMPTY".into(), s("")),
                ("N".into(), Value::Int(42)),
                ("F".into(), Value::Float(1.5)),
                ("B".into(), Value::Bool(true)),
                ("L".into(), Value::Seq(vec![s("x"), Value::Null])),
            ]),
        ),
    ]);
    for format in [Format::Yaml, Format::Json] {
        let key = avalanche_sops::DataKey::generate();
        let opts = crypt::EncryptOptions {
            rule: avalanche_sops::CryptRule::kubernetes(),
            mac_only_encrypted: false,
            lastmodified: "2026-01-02T03:04:05Z".into(),
            version: crypt::SOPS_VERSION.into(),
        };
        let stanza = keys::wrap(&key, &recipient).unwrap();
        let doc = crypt::encrypt(&plain, &key, vec![stanza.clone()], &opts, None).unwrap();
        let text = avalanche_sops::tree::emit(&doc, format);
        assert!(!text.contains("alpha"), "{text}");
        assert!(
            text.contains("EMPTY: \"\"") || text.contains("\"EMPTY\": \"\""),
            "{text}"
        );
        let d = crypt::decrypt(&text, format, &ids).unwrap();
        assert_eq!(d.plain, plain);
        // Re-encrypting with the stash gives the same value ciphertexts.
        let again =
            crypt::encrypt(&d.plain, &d.data_key, vec![stanza], &opts, Some(&d.stash)).unwrap();
        let values = |v: &Value| v.get("stringData").cloned();
        assert_eq!(values(&again), values(&doc));
    }
}

#[test]
fn mac_only_encrypted_covers_only_encrypted_values() {
    let mut ids = Identities::empty();
    ids.add_keys_text(&fixture("age-test-key.txt"), false, "test key")
        .unwrap();
    let recipient = keys::recipients_of_keys_text(&fixture("age-test-key.txt"))
        .unwrap()
        .remove(0);
    let plain = Value::Map(vec![
        ("name".into(), s("clear")),
        ("data".into(), Value::Map(vec![("k".into(), s("v"))])),
    ]);
    let key = avalanche_sops::DataKey::generate();
    let rule = avalanche_sops::CryptRule::kubernetes();
    let opts = crypt::EncryptOptions {
        rule: rule.clone(),
        mac_only_encrypted: true,
        lastmodified: "2026-01-02T03:04:05Z".into(),
        version: crypt::SOPS_VERSION.into(),
    };
    let doc = crypt::encrypt(
        &plain,
        &key,
        vec![keys::wrap(&key, &recipient).unwrap()],
        &opts,
        None,
    )
    .unwrap();
    let text = avalanche_sops::tree::emit_yaml(&doc);
    assert!(text.contains("    mac_only_encrypted: true\n"), "{text}");
    // An unencrypted value may change without breaking the MAC…
    let edited = text.replace("name: clear", "name: changed");
    assert!(crypt::decrypt(&edited, Format::Yaml, &ids).is_ok());
    // …and the MAC differs from the one over all values (sops' initialization bytes).
    assert_ne!(
        crypt::compute_mac(&plain, &rule, true).unwrap(),
        crypt::compute_mac(&plain, &rule, false).unwrap()
    );
    // Without mac_only_encrypted the same edit is caught.
    let opts = crypt::EncryptOptions {
        mac_only_encrypted: false,
        ..opts
    };
    let doc = crypt::encrypt(
        &plain,
        &key,
        vec![keys::wrap(&key, &recipient).unwrap()],
        &opts,
        None,
    )
    .unwrap();
    let edited = avalanche_sops::tree::emit_yaml(&doc).replace("name: clear", "name: changed");
    assert!(matches!(
        crypt::decrypt(&edited, Format::Yaml, &ids),
        Err(avalanche_sops::Error::MacMismatch)
    ));
}
