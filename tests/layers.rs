//! Modules flow one way: the model and the clock depend on nothing, the
//! snapshot only on the model, the exposition never on how data is fetched
//! or refreshed, and the HTTP layer only on the exposition, the snapshot and
//! the web configuration. Checked on the source, so a new `use` that points
//! up fails here.

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

#[test]
fn modules_only_look_down() {
    let table: [(&[&str], &[&str]); 6] = [
        // An account's data holds what its collectors read; a collector
        // reads IAM and knows nothing of accounts, snapshots or exposition.
        (&["src/model.rs"], &["collectors"]),
        (&["src/collectors"], &["aws", "time"]),
        (&["src/time.rs"], &[]),
        (&["src/snapshot.rs"], &["model"]),
        // The API counters (aws) and the source kinds (source) are values
        // the exposition shows; it never calls AWS or refreshes anything.
        (
            &["src/metrics"],
            &["model", "snapshot", "time", "aws", "source", "collectors"],
        ),
        (&["src/http.rs"], &["metrics", "snapshot", "web_config"]),
    ];
    for (paths, allowed) in table {
        let found = uses(paths);
        let above: Vec<_> = found
            .iter()
            .filter(|m| !allowed.contains(&m.as_str()))
            .collect();
        assert!(above.is_empty(), "{paths:?} uses {above:?}");
    }
}

#[test]
fn grouped_imports_are_seen() {
    let found = crate_modules("use crate::{refresh::Store, metrics::{self, x}};\nuse crate::http;");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["http", "metrics", "refresh"]
    );
}
