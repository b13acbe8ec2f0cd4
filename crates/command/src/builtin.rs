//! The built-in scenarios, `clhooks simulate NAME`: the repository's `examples/scenarios/`
//! and the payload they name, compiled in so that both command lines (the npm package's
//! included) run them without the repository. The files here are copies, since a crate is
//! packed from its own folder only; a test keeps them byte for byte the same as the originals.

/// A built-in scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// Its name, as `simulate` takes it.
    pub name: &'static str,
    /// The scenario's JSON, as in `examples/scenarios/NAME.json`.
    pub text: &'static str,
}

/// Every built-in scenario, by name.
pub const SCENARIOS: [Builtin; 2] = [
    Builtin { name: "demo-live", text: include_str!("builtin/demo-live.json") },
    Builtin { name: "three-webhooks", text: include_str!("builtin/three-webhooks.json") },
];

/// The payload files the built-in scenarios name, by file name.
pub const PAYLOADS: [(&str, &str); 1] =
    [("orders-place-payload.json", include_str!("builtin/orders-place-payload.json"))];

/// The built-in scenario of a name.
#[must_use]
pub fn scenario(name: &str) -> Option<&'static Builtin> {
    SCENARIOS.iter().find(|b| b.name == name)
}

/// The built-in scenarios' names, as a list to read: `demo-live, three-webhooks`.
#[must_use]
pub fn names() -> String {
    SCENARIOS.map(|b| b.name).join(", ")
}

/// The built-in payload a scenario's `payload_file` names, by its file name (the part after the
/// last `/` or `\`): a built-in's references resolve here, wherever its copy sits.
#[must_use]
pub fn payload(reference: &str) -> Option<&'static str> {
    let name = reference.rsplit(['/', '\\']).next().unwrap_or(reference);
    PAYLOADS.iter().find(|(file, _)| *file == name).map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The repository's originals, when this runs in the repository (a packed crate has none).
    fn original(path: &str) -> Option<String> {
        std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).ok()
    }

    #[test]
    fn the_builtins_are_the_repository_examples() {
        for builtin in SCENARIOS {
            if let Some(text) = original(&format!("examples/scenarios/{}.json", builtin.name)) {
                assert_eq!(builtin.text, text, "crates/command/src/builtin/{}.json differs", builtin.name);
            }
        }
        for (name, text) in PAYLOADS {
            if let Some(original) = original(&format!("tests/vectors/{name}")) {
                assert_eq!(text, original, "crates/command/src/builtin/{name} differs");
            }
        }
        let listed: Vec<String> =
            std::fs::read_dir(format!("{}/../../examples/scenarios", env!("CARGO_MANIFEST_DIR")))
                .map(|dir| dir.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
                .unwrap_or_default();
        for file in listed {
            let name = file.trim_end_matches(".json");
            assert!(scenario(name).is_some(), "examples/scenarios/{file} is not built in");
        }
    }

    #[test]
    fn builtin_payloads_resolve_by_file_name() {
        assert!(payload("../../tests/vectors/orders-place-payload.json").is_some());
        assert!(payload("../payloads/orders-place-payload.json").is_some());
        assert!(payload("orders-place-payload.json").is_some());
        assert!(payload("..\\x\\orders-place-payload.json").is_some());
        assert!(payload("other.json").is_none());
        for builtin in SCENARIOS {
            let value: serde_json::Value = serde_json::from_str(builtin.text).unwrap();
            for event in value["events"].as_array().unwrap() {
                if let Some(file) = event.get("payload_file").and_then(serde_json::Value::as_str) {
                    assert!(payload(file).is_some(), "{}: {file}", builtin.name);
                }
            }
        }
        assert_eq!(names(), "demo-live, three-webhooks");
        assert!(scenario("demo-live").is_some() && scenario("demo").is_none());
    }
}
