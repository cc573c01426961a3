//! No input makes capsim panic: scenarios made by mutating the bundled
//! examples (lines deleted, duplicated, swapped or cut; numbers replaced by
//! extremes; words by other words of the format) either fail to load with
//! problems to show, or run to the end or the event budget and produce
//! every output.
//!
//! `CAPSIM_FUZZ_CASES` sets how many scenarios to try (256 by default, what
//! CI runs) and `CAPSIM_FUZZ_SEED` where to start (fixed by default, so CI
//! is repeatable); failures print the mutations, and proptest shrinks them.
//! `CAPSIM_FUZZ_TRACE=1` prints every scenario before it runs, to find one
//! that aborts the process instead of panicking.

use capsim::model::simulate;
use capsim::report::{
    analysis, capacity_csv, data_csv, events_csv, human_summary, scaling_csv, summary_json, timeseries_csv,
};
use capsim::scenario::{self, Format, NoFiles};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// Values a number is replaced with: zeros, negatives, the limits of the
/// integer and float types, units at their extremes, and things that are
/// not numbers at all.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "-0.5",
    "0.0000001",
    "1e-300",
    "1e308",
    "1e400",
    "NaN",
    ".nan",
    ".inf",
    "-.inf",
    "255",
    "256",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "1000000",
    "100000000",
    "0s",
    "1ns",
    "-5s",
    "0.1ns",
    "1e9s",
    "100000d",
    "999999h",
    "1e-9ms",
    "0%",
    "",
    "~",
    "[]",
    "{}",
    "\"\"",
    "true",
    "x",
];

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    /// Cut the text at this fraction (in thousandths) of its length.
    Truncate(usize),
    /// The `n`-th number becomes `EXTREMES[k]`.
    Number(usize, usize),
    /// The `n`-th word becomes the `k`-th word of the vocabulary.
    Word(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (0..1000usize).prop_map(Mutation::Truncate),
        (any::<usize>(), 0..EXTREMES.len()).prop_map(|(n, k)| Mutation::Number(n, k)),
        (any::<usize>(), any::<usize>()).prop_map(|(n, k)| Mutation::Word(n, k)),
        // Numbers most often: they reach the model.
        (any::<usize>(), 0..EXTREMES.len()).prop_map(|(n, k)| Mutation::Number(n, k)),
        (any::<usize>(), 0..EXTREMES.len()).prop_map(|(n, k)| Mutation::Number(n, k)),
    ]
}

/// Byte ranges of the tokens of `text` that start with a digit (numbers,
/// durations with their unit) or with a letter (field names, words).
fn tokens(text: &str, numeric: bool) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts = if numeric {
            c.is_ascii_digit()
        } else {
            c.is_ascii_alphabetic() || c == b'_'
        };
        let after_word = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts && !after_word {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'_' | b'.' | b'-')) {
                j += 1;
            }
            out.push((i, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn apply(text: &str, m: &Mutation, vocabulary: &[String]) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let n = lines.len().max(1);
    match *m {
        Mutation::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
            lines.join("\n")
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let line = lines[i % n];
                lines.insert(i % n, line);
            }
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
        Mutation::Truncate(per_mille) => {
            let mut at = text.len() * per_mille / 1000;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text[..at].to_string()
        }
        Mutation::Number(i, k) => replace_token(text, &tokens(text, true), i, EXTREMES[k]),
        Mutation::Word(i, k) => replace_token(text, &tokens(text, false), i, &vocabulary[k % vocabulary.len()]),
    }
}

fn replace_token(text: &str, tokens: &[(usize, usize)], i: usize, with: &str) -> String {
    if tokens.is_empty() {
        return text.to_string();
    }
    let (a, b) = tokens[i % tokens.len()];
    format!("{}{}{}", &text[..a], with, &text[b..])
}

/// Loads a mutated scenario and, when it is valid, runs it (capped at
/// `MAX_EVENTS`) and renders every output that needs no file system.
fn check(text: &str, json: bool) {
    let format = if json { Format::Json } else { Format::Yaml };
    let loaded = scenario::load(text, "fuzz.yaml", format, &NoFiles);
    let mut s = match loaded {
        Ok(s) => s,
        Err(e) => {
            // A clean error has problems and renders.
            assert!(!e.problems.is_empty());
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    s.spec.max_events = s.spec.max_events.min(MAX_EVENTS);
    let r = simulate(&s.spec, s.seed, 0, &mut |_| {});
    assert!(r.summary.requests.conserved(), "{:?}", r.summary.requests);
    let results = [r];
    let _ = summary_json(&results);
    let _ = human_summary(&results);
    let r = &results[0];
    let _ = timeseries_csv(r);
    let _ = data_csv(r);
    let _ = events_csv(r);
    let _ = scaling_csv(r);
    let _ = capacity_csv(r);
    let _ = analysis::analyze(&s.spec, r);
}

const MAX_EVENTS: u64 = 200_000;

#[test]
fn no_scenario_makes_capsim_panic() {
    let mut examples = Vec::new();
    for entry in std::fs::read_dir("scenarios").unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_string();
        if matches!(ext.as_str(), "yaml" | "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            examples.push((path.display().to_string(), text, ext == "json"));
        }
    }
    examples.sort();
    // Words of the format, from the examples themselves: a field name put
    // where another was, a policy where a distribution was, and so on.
    let mut vocabulary: Vec<String> = examples
        .iter()
        .flat_map(|(_, text, _)| {
            tokens(text, false)
                .into_iter()
                .map(move |(a, b)| text[a..b].to_string())
        })
        .collect();
    vocabulary.sort();
    vocabulary.dedup();

    let cases = std::env::var("CAPSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    // A fixed seed by default, so CI is repeatable; another seed explores further.
    let seed = std::env::var("CAPSIM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261124);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let trace = std::env::var_os("CAPSIM_FUZZ_TRACE").is_some();
    let strategy = (0..examples.len(), proptest::collection::vec(mutation(), 1..4));
    runner
        .run(&strategy, |(e, mutations)| {
            let (_, text, json) = &examples[e];
            let mut mutated = text.clone();
            for m in &mutations {
                mutated = apply(&mutated, m, &vocabulary);
            }
            if trace {
                // An abort (e.g. an allocation failure) prints nothing: this does.
                eprintln!("--- scenario ---\n{mutated}\n---");
            }
            let outcome = std::panic::catch_unwind(|| check(&mutated, *json));
            if let Err(panic) = outcome {
                eprintln!("--- scenario that panicked ---\n{mutated}\n---");
                std::panic::resume_unwind(panic);
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
