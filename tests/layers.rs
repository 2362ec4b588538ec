//! Modules flow one way, from plain data at the bottom to HTTP on top
//! ([`LAYERS`]); the exposition framework names no collector, and every
//! collector is registered in one place. Checked on the source, so a new
//! `use` that points up fails here.

use std::collections::BTreeSet;
use std::path::Path;

/// The top-level modules named in `crate::...` paths of `text`, grouped
/// imports (`crate::{a, b::c}`) included.
fn crate_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        found.insert(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

fn uses(paths: &[&str]) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = BTreeSet::new();
    for path in paths {
        let full = root.join(path);
        let files: Vec<_> = if full.is_dir() {
            std::fs::read_dir(&full)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect()
        } else {
            vec![full]
        };
        for file in files {
            found.extend(crate_modules(&std::fs::read_to_string(&file).unwrap()));
        }
    }
    found
}

/// Each module (a file, or a folder taken whole) and the modules it may
/// import, from the bottom up: every entry may import only entries above
/// it in this table, so an import that points up (or a cycle) fails.
const LAYERS: &[(&str, &[&str])] = &[
    // Plain data and process plumbing: nothing of the crate.
    ("src/model.rs", &[]),
    ("src/time.rs", &[]),
    ("src/aws.rs", &[]),
    ("src/permit.rs", &[]),
    ("src/web_config.rs", &[]),
    // The exposition framework: rows, families, text and bytes; it names
    // no source, collector or snapshot.
    ("src/exposition", &["model"]),
    // Sources read an account's users and keys.
    ("src/report", &["aws", "model", "permit", "time"]),
    ("src/source", &["aws", "model", "permit", "report"]),
    ("src/assume_role.rs", &["aws"]),
    // The report's families, and the collectors: each one module that
    // calls IAM, holds its data and renders its families.
    ("src/credentials", &["exposition", "model"]),
    ("src/collectors", &["aws", "exposition", "model", "time"]),
    // What is published, and who is refreshed.
    ("src/snapshot.rs", &["collectors", "model"]),
    (
        "src/accounts.rs",
        &[
            "assume_role",
            "aws",
            "collectors",
            "model",
            "report",
            "source",
        ],
    ),
    (
        "src/refresh.rs",
        &[
            "accounts",
            "aws",
            "collectors",
            "model",
            "permit",
            "snapshot",
            "source",
            "time",
        ],
    ),
    // What /metrics serves for a snapshot, and the HTTP server on top.
    (
        "src/metrics",
        &[
            "aws",
            "collectors",
            "credentials",
            "exposition",
            "model",
            "snapshot",
            "source",
            "time",
        ],
    ),
    (
        "src/http.rs",
        &["exposition", "metrics", "snapshot", "web_config"],
    ),
];

fn module_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap();
    file.strip_suffix(".rs").unwrap_or(file)
}

#[test]
fn modules_only_look_down() {
    for (at, (path, allowed)) in LAYERS.iter().enumerate() {
        let below: Vec<&str> = LAYERS[..at].iter().map(|(p, _)| module_name(p)).collect();
        for module in *allowed {
            assert!(
                below.contains(module),
                "{path} may import {module}, which is not below it in LAYERS"
            );
        }
        let found = uses(&[path]);
        let above: Vec<_> = found
            .iter()
            .filter(|m| m.as_str() != module_name(path) && !allowed.contains(&m.as_str()))
            .collect();
        assert!(above.is_empty(), "{path} uses {above:?}");
    }
}

/// The framework renders whatever tables it is given: no file of it names a
/// collector module or a source.
#[test]
fn the_exposition_framework_names_no_collector() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let collectors: Vec<String> = std::fs::read_dir(root.join("src/collectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_stem().is_some_and(|s| s != "mod"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(collectors.len() >= 7, "{collectors:?}");
    for entry in std::fs::read_dir(root.join("src/exposition")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for name in &collectors {
            assert!(
                !text.contains(name.as_str()),
                "{} names {name}",
                path.display()
            );
        }
    }
}

/// A collector is registered in one place: one line of the `collectors!`
/// invocation, and no other file of the crate declares its module.
#[test]
fn every_collector_module_is_registered_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let registry = std::fs::read_to_string(root.join("src/collectors/mod.rs")).unwrap();
    let invocation = &registry[registry.find("collectors! {").expect("the registry")..];
    let invocation = &invocation[..invocation.find('}').unwrap()];
    for entry in std::fs::read_dir(root.join("src/collectors")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "mod" {
            continue;
        }
        let lines = invocation
            .lines()
            .filter(|l| l.trim_end_matches(',').ends_with(&format!("=> {name}")))
            .count();
        assert_eq!(lines, 1, "{name} is registered {lines} times");
    }
}

#[test]
fn grouped_imports_are_seen() {
    let found =
        crate_modules("use crate::{snapshot::Store, metrics::{self, x}};\nuse crate::http;");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["http", "metrics", "snapshot"]
    );
}
