//! Finding the line and column of a field path in a scenario's text, so
//! that problems found after parsing still point into the file.
//!
//! The text is read a second time into a tree of spanned nodes. JSON is
//! valid YAML, so the same reader serves both formats.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based `(line, column)`.
type Position = (u64, u64);

/// A YAML/JSON node with the positions of its children.
enum Node {
    /// Keyed for lookup: a scenario may have many problems in one large map.
    /// Each value with its key's position.
    Map(BTreeMap<String, (Option<Position>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

/// A map key of any scalar type, kept as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some(key) = map.next_key::<Spanned<Key>>()? {
                    let at = position_of(key.referenced);
                    entries.insert(key.value.0, (at, map.next_value()?));
                }
                Ok(Node::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
        }
        d.deserialize_any(V)
    }
}

/// Positions of field paths in one document.
pub struct Locator {
    root: Option<Spanned<Node>>,
}

impl Locator {
    pub fn new(text: &str) -> Locator {
        Locator {
            root: serde_saphyr::from_str::<Spanned<Node>>(text).ok(),
        }
    }

    /// The 1-based `(line, column)` of the deepest node on `path` that
    /// exists (e.g. `pools.web.count`, `traffic.classes[1].cpu`).
    pub fn locate(&self, path: &str) -> Option<(u64, u64)> {
        self.find(path, false)
    }

    /// As [`Locator::locate`], but where the path ends at a key, the
    /// key's position rather than its value's (a field that should not be there).
    pub fn locate_key(&self, path: &str) -> Option<(u64, u64)> {
        self.find(path, true)
    }

    fn find(&self, path: &str, key: bool) -> Option<(u64, u64)> {
        let mut node = self.root.as_ref()?;
        let mut best = position(node);
        // The position of the key the last step found, if it was a key.
        let mut key_at = None;
        let mut rest = path;
        while !rest.is_empty() {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            key_at = None;
            let next = if let Some(after) = rest.strip_prefix('[') {
                let close = after.find(']')?;
                let index: usize = after[..close].parse().ok()?;
                rest = &after[close + 1..];
                match &node.value {
                    Node::Seq(items) => items.get(index),
                    _ => None,
                }
            } else {
                match &node.value {
                    // The longest key that the path continues with: keys may contain dots.
                    Node::Map(entries) => {
                        let ends = rest.match_indices(['.', '[']).map(|(i, _)| i).chain([rest.len()]);
                        let ends: Vec<usize> = ends.collect();
                        ends.into_iter().rev().find_map(|end| {
                            let (at, child) = entries.get(&rest[..end])?;
                            rest = &rest[end..];
                            key_at = *at;
                            Some(child)
                        })
                    }
                    _ => None,
                }
            };
            match next {
                Some(child) => {
                    node = child;
                    best = position(node).or(best);
                }
                None => return best,
            }
        }
        if key { key_at.or(best) } else { best }
    }
}

fn position(node: &Spanned<Node>) -> Option<(u64, u64)> {
    position_of(node.referenced)
}

fn position_of(loc: serde_saphyr::Location) -> Option<(u64, u64)> {
    (loc.line() > 0).then(|| (loc.line(), loc.column()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_fields_and_items() {
        let text =
            "name: x\npools:\n  web:\n    count: 3\ntraffic:\n  classes:\n    - name: a\n    - name: b\n      cpu: 1\n";
        let l = Locator::new(text);
        assert_eq!(l.locate("pools.web.count"), Some((4, 12)));
        assert_eq!(l.locate("traffic.classes[1].cpu"), Some((9, 12)));
        // A missing leaf falls back to its deepest existing parent.
        assert_eq!(l.locate("pools.web.workers"), l.locate("pools.web"));
    }

    #[test]
    fn a_key_is_found_where_it_is_written() {
        let text = "pools:\n  web:\n    count: 3\n    cuont: 4\n";
        let l = Locator::new(text);
        assert_eq!(l.locate_key("pools.web.cuont"), Some((4, 5)));
        assert_eq!(l.locate("pools.web.cuont"), Some((4, 12)));
        // A path that goes on past what exists: the deepest node found.
        assert_eq!(l.locate_key("pools.web.cuont.x"), Some((4, 12)));
    }

    #[test]
    fn reads_json_and_dotted_keys() {
        let text = "{\n  \"instance_types\": {\"c9.big\": {\"vcpu\": 0}}\n}";
        let l = Locator::new(text);
        assert_eq!(l.locate("instance_types.c9.big.vcpu").map(|p| p.0), Some(2));
    }
}
