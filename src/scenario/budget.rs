//! How much structure one file may hold. YAML's parser (serde-saphyr)
//! counts nodes and nesting as it reads; JSON's has no such budget, so a
//! JSON text is counted here first, against the same limits, and either
//! breach reads the same to the user.

use serde_saphyr::budget::BudgetBreach;

/// The most nodes (each key, value, list and mapping counts one) a file
/// may hold: serde-saphyr's default budget.
pub fn max_nodes() -> usize {
    serde_saphyr::Budget::default().max_nodes
}

/// The deepest nesting of lists and mappings a file may hold.
pub fn max_depth() -> usize {
    serde_saphyr::Budget::default().max_depth
}

/// `250000` as `250,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

pub fn too_many_nodes() -> String {
    let max = thousands(max_nodes());
    format!(
        "the file is too large: more than {max} nodes (each key, value, list and mapping counts one); \
         capsim reads at most {max}"
    )
}

pub fn too_deep() -> String {
    let max = max_depth();
    format!("the file nests lists and mappings more than {max} levels deep; capsim reads at most {max}")
}

/// A YAML budget breach in words.
pub fn breach_message(breach: &BudgetBreach) -> String {
    let budget = serde_saphyr::Budget::default();
    match breach {
        BudgetBreach::Nodes { .. } => too_many_nodes(),
        BudgetBreach::Depth { .. } => too_deep(),
        BudgetBreach::Events { .. } => format!(
            "the file is too large: more than {} parser events; capsim reads at most that many",
            thousands(budget.max_events)
        ),
        BudgetBreach::ScalarBytes { .. } => format!(
            "the file's values hold more than {} MiB of text; capsim reads at most that much",
            budget.max_total_scalar_bytes >> 20
        ),
        BudgetBreach::Aliases { .. } | BudgetBreach::Anchors { .. } => format!(
            "the file uses more than {} anchors or aliases (`&name`, `*name`); capsim reads at most that many",
            thousands(budget.max_aliases.min(budget.max_anchors))
        ),
        BudgetBreach::Documents { .. } => "the file holds more than one document: give one".to_string(),
        _ => "the file is too large or too complex to read (anchors, aliases or merge keys expand too far)".to_string(),
    }
}

/// Counts the nodes and nesting of a JSON text against the budget,
/// without building anything. Returns the 1-based line and column where
/// the budget ran out and why; text that is not JSON is left to the parser.
pub fn check_json(text: &str) -> Result<(), ((u64, u64), String)> {
    let (max_nodes, max_depth) = (max_nodes(), max_depth());
    let bytes = text.as_bytes();
    let (mut nodes, mut depth) = (0usize, 0usize);
    let (mut line, mut line_start) = (1u64, 0usize);
    let at = |line: u64, line_start: usize, i: usize| {
        let column = 1 + text[line_start..i].chars().count() as u64;
        (line, column)
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let node = match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                false
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err((at(line, line_start, i), too_deep()));
                }
                true
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                false
            }
            b'"' => {
                // Skip the string, escapes included; a newline in it is the parser's to refuse.
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let start = i;
                i = j;
                nodes += 1;
                if nodes > max_nodes {
                    return Err((at(line, line_start, start), too_many_nodes()));
                }
                false
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                let start = i;
                while i + 1 < bytes.len()
                    && matches!(bytes[i + 1], b'0'..=b'9' | b'a'..=b'z' | b'.' | b'+' | b'-' | b'E')
                {
                    i += 1;
                }
                nodes += 1;
                if nodes > max_nodes {
                    return Err((at(line, line_start, start), too_many_nodes()));
                }
                false
            }
            _ => false,
        };
        if node {
            nodes += 1;
            if nodes > max_nodes {
                return Err((at(line, line_start, i), too_many_nodes()));
            }
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nodes_are_counted_like_yaml_nodes() {
        assert_eq!(thousands(250_000), "250,000");
        assert!(check_json(r#"{"a": [1, 2.5e-3, true, null, "x\"]"], "b": {}}"#).is_ok());
        let items = vec!["0"; max_nodes()].join(",");
        // The list and its items: one node more than the budget.
        let (at, message) = check_json(&format!("[\n{items}]")).unwrap_err();
        assert_eq!(at, (2, 2 * max_nodes() as u64 - 1));
        assert_eq!(message, too_many_nodes());
        assert!(check_json(&format!("[{}]", vec!["0"; max_nodes() - 1].join(","))).is_ok());
    }

    #[test]
    fn json_nesting_is_bounded() {
        let deep = format!("{}{}", "[".repeat(max_depth() + 1), "]".repeat(max_depth() + 1));
        assert_eq!(check_json(&deep).unwrap_err().1, too_deep());
        let ok = format!("{}{}", "[".repeat(max_depth()), "]".repeat(max_depth()));
        assert!(check_json(&ok).is_ok());
    }
}
