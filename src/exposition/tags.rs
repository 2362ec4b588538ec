//! Tags of AWS objects as Prometheus labels, as kube-state-metrics turns
//! Kubernetes labels into `label_*` labels of one info series per object.
//!
//! An operator chooses the tag keys (`--metrics.user-tags=team,owner`, or
//! `*` for every tag); each becomes the label `tag_<key>`, its characters
//! outside `[a-zA-Z0-9_]` replaced by `_` and then in snake case
//! (`CostCenter` and `cost-center` are both `tag_cost_center`). Keys that
//! end up with one name are told apart as kube-state-metrics does: in the
//! keys' sorted order, each gets the suffix `_conflict1`, `_conflict2`, ...,
//! skipping a suffixed name another key already has.
//!
//! With a list of keys, the names are resolved once, from the list: every
//! object gets every chosen label, empty where it has no such tag, so a
//! `group_left` join keeps the object's alerts and a label's name does not
//! depend on which of the colliding tags an object has. With `*`, each
//! object's own tags are named, collisions included, as kube-state-metrics
//! does for `*`.

use std::collections::{BTreeMap, HashMap};

/// The prefix of every tag label.
pub const PREFIX: &str = "tag";

/// Which tags of one kind of object become labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TagSelection {
    /// None: no tag series at all (the default).
    #[default]
    None,
    /// These keys, each with its label name, in label order.
    Keys(Vec<(String, String)>),
    /// Every tag an object has.
    All,
}

/// A tag list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagSelectionError {
    #[error("`*` (every tag) cannot be combined with tag keys")]
    WildcardWithKeys,
    #[error("tag key {0:?} is given twice")]
    Duplicate(String),
}

impl TagSelection {
    /// Parses a comma-separated list of tag keys (blanks around a key are
    /// dropped, as are empty entries), or `*` alone.
    pub fn parse(list: &str) -> Result<Self, TagSelectionError> {
        let keys: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Ok(Self::None);
        }
        if keys.contains(&"*") {
            return match keys.len() {
                1 => Ok(Self::All),
                _ => Err(TagSelectionError::WildcardWithKeys),
            };
        }
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        if let Some(twice) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(TagSelectionError::Duplicate(twice[0].to_owned()));
        }
        let named = label_names(sorted.iter().copied());
        Ok(Self::Keys(
            sorted
                .into_iter()
                .zip(named)
                .map(|(k, n)| (k.to_owned(), n))
                .collect(),
        ))
    }

    pub fn is_none(&self) -> bool {
        *self == Self::None
    }

    /// The labels of an object with `tags` (key, value): `None` when no tag
    /// is chosen (no series); otherwise `(label name, value)` in label order.
    pub fn labels<'t>(
        &self,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Option<Vec<(String, String)>> {
        match self {
            Self::None => None,
            Self::Keys(keys) => {
                let tags: HashMap<&str, &str> = tags.into_iter().collect();
                Some(
                    keys.iter()
                        .map(|(key, name)| {
                            (
                                name.clone(),
                                tags.get(key.as_str()).unwrap_or(&"").to_string(),
                            )
                        })
                        .collect(),
                )
            }
            Self::All => {
                // Sorted by key, as kube-state-metrics does; a key given
                // twice keeps its last value.
                let tags: BTreeMap<&str, &str> = tags.into_iter().collect();
                let names = label_names(tags.keys().copied());
                Some(
                    names
                        .into_iter()
                        .zip(tags.into_values())
                        .map(|(n, v)| (n, v.to_owned()))
                        .collect(),
                )
            }
        }
    }
}

/// The label names of `keys` (sorted, distinct), collisions resolved.
fn label_names<'k>(keys: impl Iterator<Item = &'k str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    // Emitted name -> its index in `names`; and per base name, the last
    // conflict suffix handed out.
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut conflicts: HashMap<String, usize> = HashMap::new();
    for key in keys {
        let base = label_name(key);
        let name = if let Some(count) = conflicts.get_mut(&base) {
            // Collided before: the unsuffixed name is free no more.
            next_free(&base, count, &used)
        } else if let Some(&first) = used.get(&base) {
            // First collision: the name given already becomes _conflict1.
            let mut count = 0;
            let renamed = next_free(&base, &mut count, &used);
            used.remove(&base);
            used.insert(renamed.clone(), first);
            names[first] = renamed;
            let name = next_free(&base, &mut count, &used);
            conflicts.insert(base, count);
            name
        } else {
            base
        };
        used.insert(name.clone(), names.len());
        names.push(name);
    }
    names
}

fn next_free(base: &str, count: &mut usize, used: &HashMap<String, usize>) -> String {
    loop {
        *count += 1;
        let candidate = format!("{base}_conflict{count}");
        if !used.contains_key(&candidate) {
            return candidate;
        }
    }
}

/// `tag_` and the key, invalid characters as `_`, in snake case.
pub fn label_name(key: &str) -> String {
    let sanitized: Vec<char> = key
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c,
            false => '_',
        })
        .collect();
    let mut out = String::with_capacity(PREFIX.len() + 1 + sanitized.len() + 4);
    out.push_str(PREFIX);
    out.push('_');
    for (i, &c) in sanitized.iter().enumerate() {
        // kube-state-metrics' toSnakeCase: `_` between a lower-case letter
        // or digit and the upper-case letter after it.
        if c.is_ascii_uppercase()
            && i > 0
            && (sanitized[i - 1].is_ascii_lowercase() || sanitized[i - 1].is_ascii_digit())
        {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &str) -> Vec<(String, String)> {
        match TagSelection::parse(list).unwrap() {
            TagSelection::Keys(keys) => keys,
            other => panic!("{other:?}"),
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn invalid_characters_become_underscores_and_names_snake_case() {
        assert_eq!(label_name("team"), "tag_team");
        assert_eq!(label_name("cost-center"), "tag_cost_center");
        assert_eq!(label_name("CostCenter"), "tag_cost_center");
        assert_eq!(
            label_name("aws:cloudformation:stack-name"),
            "tag_aws_cloudformation_stack_name"
        );
        assert_eq!(label_name("owner.email@"), "tag_owner_email_");
        assert_eq!(label_name("Team2Owner"), "tag_team2_owner");
        assert_eq!(label_name("équipe"), "tag__quipe");
    }

    #[test]
    fn keys_that_sanitize_alike_get_conflict_suffixes_in_sorted_order() {
        assert_eq!(
            names("cost-center,team,CostCenter"),
            pairs(&[
                ("CostCenter", "tag_cost_center_conflict1"),
                ("cost-center", "tag_cost_center_conflict2"),
                ("team", "tag_team"),
            ])
        );
        // A third key of the same name takes the next suffix.
        assert_eq!(
            names("a.b,a-b,a_b")
                .into_iter()
                .map(|(_, n)| n)
                .collect::<Vec<_>>(),
            [
                "tag_a_b_conflict1",
                "tag_a_b_conflict2",
                "tag_a_b_conflict3"
            ]
        );
    }

    #[test]
    fn a_suffix_skips_a_name_another_key_already_has() {
        // `A_conflict1` is the name the first collision would hand out.
        assert_eq!(
            names("a,A_conflict1,A"),
            pairs(&[
                ("A", "tag_a_conflict2"),
                ("A_conflict1", "tag_a_conflict1"),
                ("a", "tag_a_conflict3"),
            ])
        );
    }

    #[test]
    fn chosen_tags_an_object_lacks_are_empty_labels() {
        let selection = TagSelection::parse(" team , owner,").unwrap();
        assert_eq!(
            selection.labels([("team", "payments"), ("env", "prod")]),
            Some(pairs(&[("tag_owner", ""), ("tag_team", "payments")]))
        );
        assert_eq!(
            selection.labels([]),
            Some(pairs(&[("tag_owner", ""), ("tag_team", "")]))
        );
        assert_eq!(TagSelection::None.labels([("team", "x")]), None);
    }

    #[test]
    fn every_tag_is_named_per_object_with_its_collisions() {
        let all = TagSelection::parse("*").unwrap();
        assert_eq!(
            all.labels([("team", "a"), ("Team", "b"), ("env", "prod")]),
            Some(pairs(&[
                ("tag_team_conflict1", "b"),
                ("tag_env", "prod"),
                ("tag_team_conflict2", "a"),
            ]))
        );
        assert_eq!(all.labels([]), Some(vec![]));
    }

    #[test]
    fn bad_lists_are_refused_and_an_empty_one_chooses_nothing() {
        assert_eq!(TagSelection::parse(""), Ok(TagSelection::None));
        assert_eq!(TagSelection::parse(" , "), Ok(TagSelection::None));
        assert_eq!(
            TagSelection::parse("*,team"),
            Err(TagSelectionError::WildcardWithKeys)
        );
        assert_eq!(
            TagSelection::parse("team,team"),
            Err(TagSelectionError::Duplicate("team".into()))
        );
    }
}
