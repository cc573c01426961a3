//! Problems found in a scenario file.

use std::fmt;

/// One problem, with where it is and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file the problem is in.
    pub file: String,
    /// 1-based line and column, when known.
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// The field path, e.g. `pools.web.instance_type` (empty for the whole document).
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    /// Quoted values (between backticks or double quotes) are shown as
    /// [`excerpt`]s, and the field path's names too, so a problem never
    /// prints much of what a file holds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        let message = quote_safely(&self.message);
        if self.path.is_empty() {
            write!(f, ": {message}")
        } else {
            let path: Vec<String> = self.path.split('.').map(excerpt).collect();
            write!(f, ": {}: {message}", path.join("."))
        }
    }
}

/// The most characters of a file's content a message quotes.
pub const EXCERPT_CHARS: usize = 40;

/// Characters that would change how a terminal shows the rest of the line:
/// control characters, and the invisible ones that reorder or hide text.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `text` as a message may quote it: at most [`EXCERPT_CHARS`] characters
/// (`…` when cut), control and invisible characters escaped (`\n`, `\u{1b}`).
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if unprintable(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `message` with every quoted value (between backticks, or between double
/// quotes as parsers write strings) shown as an [`excerpt`], and
/// unprintable characters escaped everywhere.
pub fn quote_safely(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = rest.as_bytes()[open] as char;
        out.push_str(&escape_unprintable(&rest[..=open]));
        let inside = &rest[open + 1..];
        // A double-quoted string is escaped as Rust's `{:?}` writes it.
        let close = if quote == '"' {
            closing_quote(inside)
        } else {
            inside.find('`')
        };
        let Some(close) = close else {
            out.push_str(&excerpt(inside));
            return out;
        };
        if quote == '"' {
            out.push_str(&escaped_excerpt(&inside[..close]));
        } else {
            out.push_str(&excerpt(&inside[..close]));
        }
        out.push(quote);
        rest = &inside[close + 1..];
    }
    out.push_str(&escape_unprintable(rest));
    out
}

/// `text` whole, unprintable characters escaped.
fn escape_unprintable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if unprintable(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Where the string that starts `text` ends: the first `"` not escaped.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// An [`excerpt`] of text already escaped (`\n`, `\"`, `\u{1b}`): an
/// escape counts as one character and is never cut.
fn escaped_excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    let mut n = 0;
    while let Some(c) = chars.next() {
        if n == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        n += 1;
        if unprintable(c) {
            out.extend(c.escape_default());
            continue;
        }
        out.push(c);
        if c == '\\'
            && let Some(e) = chars.next()
        {
            out.push(e);
            if e == 'u' {
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '}' {
                        break;
                    }
                }
            }
        }
    }
    out
}

/// Every problem found in a scenario; a scenario with any problem never runs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Named by its file (a scenario, a sweep file, a manifest) when the
        // problems share one.
        let n = self.problems.len();
        let file = match self.problems.first() {
            Some(first) if self.problems.iter().all(|p| p.file == first.file) && !first.file.is_empty() => {
                first.file.as_str()
            }
            _ => "scenario",
        };
        write!(f, "{n} problem{} in {file}", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(excerpt("web"), "web");
        assert_eq!(excerpt("a\tb\u{1b}[31m"), "a\\tb\\u{1b}[31m");
        let long = "x".repeat(100);
        assert_eq!(excerpt(&long), format!("{}…", "x".repeat(EXCERPT_CHARS)));
        assert_eq!(excerpt("\u{202e}evil"), "\\u{202e}evil");
    }

    #[test]
    fn quoted_values_are_cut_and_the_rest_is_kept() {
        let long = "y".repeat(100);
        assert_eq!(
            quote_safely(&format!("unknown pool `{long}`; known: web")),
            format!("unknown pool `{}…`; known: web", "y".repeat(EXCERPT_CHARS))
        );
        let debug = format!("{:?}", format!("root:x:0:0\n{long}"));
        let message = quote_safely(&format!("invalid type: string {debug}, expected a map"));
        assert_eq!(
            message,
            format!(
                "invalid type: string \"root:x:0:0\\n{}…\", expected a map",
                "y".repeat(EXCERPT_CHARS - 11)
            )
        );
        // An escape is never cut in half.
        let escapes = format!("{:?}", "\u{1}".repeat(50));
        assert!(
            quote_safely(&escapes).ends_with("\\u{1}…\""),
            "{}",
            quote_safely(&escapes)
        );
        assert_eq!(quote_safely("a `b` c \"d\" e"), "a `b` c \"d\" e");
        assert_eq!(quote_safely("bell\u{7} `x"), "bell\\u{7} `x");
    }
}
