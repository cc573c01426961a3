//! Hostile text in every user-given string a scenario, a sweep or a path
//! can carry (class names, an instance type's name, HPA metadata, sweep
//! variant names, folder names) goes through every command that writes
//! files, and every file it writes is still well-formed in its own format
//! with the text inert: JSON parses and holds the names exactly, CSV keeps
//! its columns, SVG is well-formed XML, Markdown has no live HTML or heading
//! made by a name outside code blocks, HTML no tag made by a name, and
//! every YAML file capsim writes reads back.

use std::path::{Path, PathBuf};
use std::process::Command;

fn capsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
}

/// The markup a name tries to inject; none of it may appear raw where a
/// format would act on it.
const TAGS: [&str; 2] = ["<script", "<evil-tag"];

/// A class name with markup, quotes, CSV and Markdown syntax, a line
/// break, a CDATA end and a YAML indicator.
const CLASS: &str = "api <script>alert(1)</script> & \"q\" 'a,b'\r\n# owned | ``` ]]> <evil-tag x=\"1\">: - [x](y)";

fn hostile_scenario() -> String {
    let quoted = |s: &str| serde_json::Value::from(s).to_string();
    std::fs::read_to_string("scenarios/hpa-diurnal.yaml")
        .unwrap()
        .replace("duration: 24h", "duration: 30m")
        .replace("    - name: api\n", &format!("    - name: {}\n", quoted(CLASS)))
        .replace(
            "        min_replicas: 2\n",
            &format!(
                "        metadata:\n          name: api\n          labels: {{ team: {} }}\n          annotations: {{ note: {} }}\n        min_replicas: 2\n",
                quoted("<evil-tag>,\"x\""),
                quoted("a: b\n- c # d <script>")
            ),
        )
}

/// Runs `capsim` with `args`, which must succeed.
fn ok(args: &[&std::ffi::OsStr]) -> String {
    let output = capsim().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "capsim {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_names_stay_inert_in_every_file_of_every_command() {
    let root = tempfile::tempdir().unwrap();
    // A folder name is user text too: the reports show file paths.
    let dir = root.path().join("we<evil-tag>&\"ird\" dir,x");
    std::fs::create_dir(&dir).unwrap();
    let scenario = dir.join("hostile.yaml");
    std::fs::write(&scenario, hostile_scenario()).unwrap();
    let other = dir.join("other.yaml");
    std::fs::write(&other, hostile_scenario().replace("count: 3", "count: 4")).unwrap();
    let sweep = dir.join("sweep.yaml");
    std::fs::write(
        &sweep,
        format!(
            "base: hostile.yaml\nvariants:\n  - name: {}\n    set: {{ pools.api.count: 4 }}\nparameters:\n  - path: pools.api.workers\n    values: [8, 16]\nobjective:\n  minimize: cost_total_usd\n",
            serde_json::Value::from("<evil-tag> big, \"q\"\n# owned")
        ),
    )
    .unwrap();

    let out = |name: &str| root.path().join(name);
    let s = scenario.as_os_str();
    ok(&[
        "run".as_ref(),
        s,
        "--report".as_ref(),
        "--quiet".as_ref(),
        "--growth".as_ref(),
        "2".as_ref(),
        "--out".as_ref(),
        out("run").as_os_str(),
    ]);
    ok(&[
        "compare".as_ref(),
        s,
        other.as_os_str(),
        "--replications".as_ref(),
        "2".as_ref(),
        "--report".as_ref(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        out("compare").as_os_str(),
    ]);
    ok(&[
        "headroom".as_ref(),
        s,
        "--from".as_ref(),
        "1".as_ref(),
        "--to".as_ref(),
        "2".as_ref(),
        "--step".as_ref(),
        "1".as_ref(),
        "--refine".as_ref(),
        "0".as_ref(),
        "--report".as_ref(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        out("headroom").as_os_str(),
    ]);
    ok(&[
        "sweep".as_ref(),
        sweep.as_os_str(),
        "--report".as_ref(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        out("sweep").as_os_str(),
    ]);

    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for command in ["run", "compare", "headroom", "sweep"] {
        for file in files_under(&out(command)) {
            let name = file.display().to_string();
            let ext = file
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            *seen.entry(ext.clone()).or_default() += 1;
            if ext == "png" {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
            match ext.as_str() {
                "json" => {
                    serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                }
                "csv" => check_csv(&text).unwrap_or_else(|e| panic!("{name}: {e}")),
                "svg" => {
                    check_xml(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                    no_tags(&text, &name);
                }
                "html" => no_tags(&text, &name),
                "md" => check_markdown(&text).unwrap_or_else(|e| panic!("{name}: {e}")),
                "yaml" => check_yaml(&file, &text),
                // capsim's marker and a sweep checkpoint's key: not reports.
                "" if name.ends_with(".capsim") || name.ends_with("/.units/key") => {}
                _ => panic!("{name}: a file type this test does not check"),
            }
        }
    }
    for ext in ["json", "csv", "svg", "html", "md", "yaml"] {
        assert!(
            seen.get(ext).is_some_and(|&n| n > 0),
            "no .{ext} file was written: {seen:?}"
        );
    }

    // The names are kept exactly where data is meant to carry them.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out("run").join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["classes"][0]["name"], CLASS);
    let sweep_csv = std::fs::read_to_string(out("sweep").join("sweep.csv")).unwrap();
    let rows = parse_csv(&sweep_csv).unwrap();
    assert_eq!(rows[1][1], "<evil-tag> big, \"q\"\n# owned", "{sweep_csv}");
    // The exported HPA keeps its metadata, and reads back as it was.
    let manifest = out("run").join("hpa-api.yaml");
    let inline = ok(&["import-hpa".as_ref(), manifest.as_os_str()]);
    assert!(inline.contains(r#"team: "<evil-tag>,\"x\"""#), "{inline}");
    // And the reports show the names, escaped, rather than dropping them.
    let html = std::fs::read_to_string(out("run").join("report.html")).unwrap();
    assert!(html.contains("api &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"));
}

fn no_tags(text: &str, name: &str) {
    for tag in TAGS {
        assert!(!text.contains(tag), "{name}: a raw `{tag}`");
    }
}

/// Outside code blocks: no tag a name brought and no heading made by one.
fn check_markdown(md: &str) -> Result<(), String> {
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        match &fence {
            Some(open) if ticks.len() >= open.len() && line.trim_end() == ticks => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => {
                if let Some(tag) = TAGS.iter().find(|t| line.contains(*t)) {
                    return Err(format!("live `{tag}`: {line}"));
                }
                if line.starts_with("# owned") {
                    return Err(format!("a heading made by a name: {line}"));
                }
            }
        }
    }
    match fence {
        Some(_) => Err("a code block left open".into()),
        None => Ok(()),
    }
}

/// Scenarios capsim writes (the plan's horizons, resilience fixes) load;
/// HPA manifests it exports import.
fn check_yaml(file: &Path, _text: &str) {
    let name = file.file_name().unwrap().to_string_lossy();
    let command = if name.starts_with("hpa-") || name.starts_with("recommended-hpa-") {
        "import-hpa"
    } else {
        "validate"
    };
    ok(&[command.as_ref(), file.as_os_str()]);
}

/// RFC 4180 records.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',') | Some('\n')) {
                        return Err(format!("text after a closing quote in record {}", rows.len() + 1));
                    }
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => quoted = true,
            '"' => return Err(format!("a bare quote in record {}", rows.len() + 1)),
            ',' => {
                row.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_start = true;
                continue;
            }
            '\r' => return Err(format!("a bare carriage return in record {}", rows.len() + 1)),
            c => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("a quoted field left open".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// Every record has the header's number of fields.
fn check_csv(text: &str) -> Result<(), String> {
    let rows = parse_csv(text)?;
    let width = rows.first().map_or(0, Vec::len);
    match rows.iter().position(|r| r.len() != width) {
        Some(i) => Err(format!(
            "record {} has {} fields, the header {width}",
            i + 1,
            rows[i].len()
        )),
        None => Ok(()),
    }
}

/// XML well-formedness, as much of it as SVG uses: balanced elements,
/// quoted attributes, no `<` in text or attributes, every `&` an entity.
fn check_xml(text: &str) -> Result<(), String> {
    fn entities_ok(s: &str) -> bool {
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            rest = &rest[i + 1..];
            let Some(end) = rest.find(';') else {
                return false;
            };
            let entity = &rest[..end];
            let ok = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
                || entity
                    .strip_prefix("#x")
                    .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
                || entity
                    .strip_prefix('#')
                    .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
            if !ok {
                return false;
            }
        }
        true
    }
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        if !entities_ok(&rest[..open]) {
            return Err(format!(
                "a bare `&` in text before {}",
                &rest[open..].chars().take(40).collect::<String>()
            ));
        }
        rest = &rest[open..];
        for (start, end) in [("<?", "?>"), ("<!--", "-->"), ("<![CDATA[", "]]>"), ("<!", ">")] {
            if rest.starts_with(start) {
                let close = rest.find(end).ok_or(format!("`{start}` left open"))?;
                rest = &rest[close + end.len()..];
                break;
            }
        }
        if !rest.starts_with('<') {
            continue;
        }
        let close = rest.find('>').ok_or("a tag left open")?;
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => continue,
                other => return Err(format!("`</{name}>` closes `{other:?}`")),
            }
        }
        let (body, empty) = match tag.strip_suffix('/') {
            Some(body) => (body, true),
            None => (tag, false),
        };
        let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
        let name = &body[..name_end];
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || "-_:.".contains(c)) {
            return Err(format!("a bad element name in `<{tag}>`"));
        }
        // Attributes: name="value" or name='value', values without `<`.
        let mut attrs = body[name_end..].trim();
        while !attrs.is_empty() {
            let eq = attrs
                .find('=')
                .ok_or(format!("an attribute without a value in `<{tag}>`"))?;
            let quote = attrs[eq + 1..].chars().next().ok_or("an attribute cut short")?;
            if quote != '"' && quote != '\'' {
                return Err(format!("an unquoted attribute in `<{tag}>`"));
            }
            let value_start = eq + 2;
            let value_end = attrs[value_start..].find(quote).ok_or("an attribute value left open")? + value_start;
            let value = &attrs[value_start..value_end];
            if value.contains('<') || !entities_ok(value) {
                return Err(format!("a bad attribute value `{value}`"));
            }
            attrs = attrs[value_end + 1..].trim_start();
        }
        if !empty {
            stack.push(name);
        }
    }
    if !entities_ok(rest) {
        return Err("a bare `&` at the end".into());
    }
    match stack.is_empty() {
        true => Ok(()),
        false => Err(format!("elements left open: {stack:?}")),
    }
}

#[test]
fn the_checkers_themselves_catch_what_they_look_for() {
    assert!(check_xml("<svg><text x=\"1\">a &amp; b</text></svg>").is_ok());
    assert!(check_xml("<svg><text>a & b</text></svg>").is_err());
    assert!(check_xml("<svg><text>a <b> c</text></svg>").is_err());
    assert!(check_xml("<svg><text x=\"<\">a</text></svg>").is_err());
    assert!(check_xml("<svg><text>a</svg>").is_err());
    assert!(check_csv("a,b\n1,\"x,y\"\n").is_ok());
    assert!(check_csv("a,b\n1,x,y\n").is_err());
    assert!(check_csv("a,b\n1,x\"y\n").is_err());
    assert!(check_markdown("```\n<script>\n```\n").is_ok());
    assert!(check_markdown("a <script> b\n").is_err());
    assert!(check_markdown("# owned\n").is_err());
}
