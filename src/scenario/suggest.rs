//! "Did you mean": the names a misspelled one was probably meant to be.
//!
//! Names are compared by optimal-string-alignment distance (edits, and
//! swaps of neighbours) on their lower-case letters and digits, so that
//! `leastconn`, `least-connections` and `least_connections` are near each
//! other; a name that is the start of another (`leastconn`) is nearest.

/// Edits between `a` and `b` (insertions, deletions, substitutions and
/// swaps of two neighbours).
fn distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[n][m]
}

fn letters(name: &str) -> Vec<char> {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// How far `candidate` is from `wanted`: 0 when they differ only in case
/// and punctuation or `wanted` is how `candidate` starts, else the edits.
fn score(wanted: &[char], candidate: &str) -> usize {
    let c = letters(candidate);
    if wanted.len() >= 3 && c.starts_with(wanted) {
        return 0;
    }
    distance(wanted, &c)
}

/// The name in `candidates` `wanted` was most likely meant to be: the
/// nearest, if within a third of its length (at least 1, at most 3 edits).
pub fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = letters(wanted);
    let limit = (w.len() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .map(|c| (score(&w, c), c))
        .filter(|(s, _)| *s <= limit)
        .min_by_key(|(s, _)| *s)
        .map(|(_, c)| c)
}

/// `candidates` nearest to `wanted` first: a dotted name's family (what is
/// before the dot: `c6i` of `c6i.large`) first, then by distance, then by
/// the longer start shared with it, then in their own order.
pub fn by_nearness<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let w = letters(wanted);
    let family = |name: &str| name.split_once('.').map(|(f, _)| f.to_ascii_lowercase());
    let wanted_family = family(wanted);
    let shared = |c: &str| w.iter().zip(letters(c)).take_while(|(a, b)| **a == *b).count();
    let mut scored: Vec<_> = candidates
        .into_iter()
        .map(|c| {
            let other_family = wanted_family.is_some() && family(c) != wanted_family;
            ((other_family, score(&w, c), std::cmp::Reverse(shared(c))), c)
        })
        .collect();
    scored.sort_by_key(|(key, _)| *key);
    scored.into_iter().map(|(_, c)| c).collect()
}

/// A parser's "unknown field `x`, expected one of a, b" (or variant) with
/// "; did you mean `a`?" added when one of them is near.
pub fn parser_message(message: &str) -> String {
    let Some((wanted, expected)) = ["unknown field `", "unknown variant `"].iter().find_map(|prefix| {
        let rest = &message[message.find(prefix)? + prefix.len()..];
        let end = rest.find('`')?;
        let list = rest[end..].split_once("expected one of ").map(|(_, l)| l)?;
        Some((&rest[..end], list))
    }) else {
        return message.to_string();
    };
    let names = expected.split(", ").map(|n| n.trim().trim_matches('`'));
    match did_you_mean(wanted, names) {
        Some(near) => format!("{message}; did you mean `{near}`?"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_find_their_name() {
        let fields = ["instance_type", "count", "queue_capacity", "timeout"];
        assert_eq!(did_you_mean("queue_capcity", fields), Some("queue_capacity"));
        assert_eq!(did_you_mean("conut", fields), Some("count"));
        assert_eq!(did_you_mean("zebra", fields), None);
        let policies = ["round_robin", "least_connections", "weighted_least_connections"];
        assert_eq!(did_you_mean("leastconn", policies), Some("least_connections"));
        assert_eq!(did_you_mean("least-connections", policies), Some("least_connections"));
        let rates = ["constant", "diurnal", "peak_to_trough"];
        assert_eq!(did_you_mean("peak_to_trugh", rates), Some("peak_to_trough"));
    }

    #[test]
    fn instance_types_are_listed_nearest_first() {
        let types = ["c6i.2xlarge", "c6i.large", "c6i.xlarge", "m6i.large", "r6i.xlarge"];
        // The family first, not the alphabet.
        let near = by_nearness("c6i.hugexl", types);
        assert!(near[..3].iter().all(|t| t.starts_with("c6i.")), "{near:?}");
        assert_eq!(by_nearness("m6i.lrage", types)[0], "m6i.large");
    }

    #[test]
    fn parser_messages_gain_a_suggestion() {
        assert_eq!(
            parser_message("unknown field `queue_capcity`, expected one of instance_type, count, queue_capacity"),
            "unknown field `queue_capcity`, expected one of instance_type, count, queue_capacity; did you mean \
             `queue_capacity`?"
        );
        assert_eq!(
            parser_message("unknown variant `leastconn`, expected one of `round_robin`, `least_connections`"),
            "unknown variant `leastconn`, expected one of `round_robin`, `least_connections`; did you mean \
             `least_connections`?"
        );
        assert_eq!(parser_message("invalid type: string"), "invalid type: string");
    }
}
