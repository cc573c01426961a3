//! Every output format's one way of writing user-given text (class names,
//! HPA metadata, sweep variant names, file paths): each report format has
//! exactly one escaping function, here, and every writer of that format
//! goes through it. Two formats need none of their own: JSON is written by
//! `serde_json`, and the charts' SVG text by plotters' SVG backend, which
//! escapes `<`, `>`, `&`, `"` and `'` itself. `tests/hostile_strings.rs`
//! feeds hostile names through every command into every file.

use std::borrow::Cow;

/// Text for HTML element content and attribute values.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown inline text that shows names as written and cannot start a
/// block, a link or raw HTML: one line, `<`, `>` and `&` as entities,
/// brackets, backslashes and a leading `#` escaped. (capsim's own emphasis
/// and code spans pass through.)
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    if out.starts_with('#') {
        out.insert(0, '\\');
    }
    out
}

/// [`markdown`] for a table cell: a `|` would end the cell.
pub fn markdown_cell(text: &str) -> String {
    markdown(text).replace('|', "\\|")
}

/// A Markdown code block of `lines`: each kept on its line, and fenced by
/// more backticks than any run in them, so nothing closes it early.
pub fn markdown_code_block(lines: &[String]) -> String {
    let lines: Vec<String> = lines.iter().map(|l| one_line(l)).collect();
    let longest = lines.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}\n{}\n{fence}\n", lines.join("\n"))
}

/// A CSV field as RFC 4180 writes it: as is, unless it holds a comma, a
/// quote or a line break; then quoted, with its quotes doubled.
pub fn csv(text: &str) -> Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

/// A YAML scalar that reads back as the string `text`: plain where YAML
/// cannot take it for anything else, else a double-quoted JSON string
/// (JSON's escapes are YAML's).
pub fn yaml(text: &str) -> String {
    let plain = text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "-./_".contains(c))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
        );
    if plain {
        text.to_string()
    } else {
        serde_json::Value::from(text).to_string()
    }
}

/// Text as one line: line breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn longest_run(text: &str, of: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == of { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_covers_markup_and_attributes() {
        assert_eq!(
            html(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn markdown_keeps_a_name_inline_and_inert() {
        assert_eq!(
            markdown("# a\n<b>[x](y) & z\\"),
            "\\# a &lt;b&gt;\\[x\\](y) &amp; z\\\\"
        );
        assert_eq!(markdown_cell("a|b"), "a\\|b");
        // A fence longer than any run of backticks inside.
        assert_eq!(
            markdown_code_block(&["a ```` b".to_string(), "c\nd".to_string()]),
            "`````\na ```` b\nc d\n`````\n"
        );
    }

    #[test]
    fn csv_fields_are_quoted_only_where_they_must_be() {
        assert_eq!(csv("100"), "100");
        assert_eq!(csv("count=2 constant=100"), "count=2 constant=100");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn yaml_scalars_read_back_as_the_same_string() {
        assert_eq!(yaml("checkout"), "checkout");
        for tricky in ["yes", "null", "1.5", "a: b", "- x", "#c", "\"q\"", "line\nbreak", ""] {
            let written = yaml(tricky);
            let read: String = serde_saphyr::from_str(&written).unwrap();
            assert_eq!(read, tricky, "{written}");
        }
    }
}
