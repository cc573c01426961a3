//! Numbers as text: exact for machines (`num`), rounded for people
//! (`human`, `short`, `with_ci`).

use std::fmt;

use crate::metrics::stats::Estimate;

/// A number in a line for people, `n/a` when undefined (a percentile of
/// nothing, a share of no time): `format!("{:.2}", Figure(x))` keeps the
/// format's precision and width, and never prints `NaN` or `inf`.
#[derive(Clone, Copy, Debug)]
pub struct Figure(pub f64);

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_finite() {
            fmt::Display::fmt(&self.0, f)
        } else {
            // `pad` would cut the text to the precision meant for digits.
            write!(f, "{:>width$}", "n/a", width = f.width().unwrap_or(0))
        }
    }
}

/// A number for CSV: exact (shortest round-trip), empty when undefined.
pub(crate) fn num(x: f64) -> String {
    if x.is_finite() { format!("{x}") } else { String::new() }
}

/// A value for people: 4 significant digits, no exponent for everyday
/// sizes; what is left of a floating-point cancellation reads as 0.
pub(crate) fn human(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    if a < 5e-7 {
        return "0".into();
    }
    let decimals = if a >= 1000.0 {
        0
    } else {
        (3 - a.log10().floor() as i32).clamp(0, 6) as usize
    };
    format!("{x:.decimals$}")
}

/// [`human`] without trailing zeros after the point (`2.5`, not `2.500`): for labels.
pub(crate) fn short(x: f64) -> String {
    let text = human(x);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A duration for people, in the largest unit it fills: `30 d`, `1.5 h`,
/// `10 min`, `45 s`.
pub(crate) fn duration_words(secs: f64) -> String {
    let (value, unit) = in_largest_unit(secs);
    format!("{} {unit}", short(value))
}

/// [`duration_words`] to two significant digits, for an estimate: `1.3 min`.
pub(crate) fn rough_duration_words(secs: f64) -> String {
    let (value, unit) = in_largest_unit(secs);
    let digit = if value > 0.0 && value.is_finite() {
        10f64.powf(value.log10().floor() - 1.0)
    } else {
        1.0
    };
    format!("{} {unit}", short((value / digit).round() * digit))
}

fn in_largest_unit(secs: f64) -> (f64, &'static str) {
    match secs {
        s if s >= 86_400.0 => (s / 86_400.0, "d"),
        s if s >= 3_600.0 => (s / 3_600.0, "h"),
        s if s >= 60.0 => (s / 60.0, "min"),
        s => (s, "s"),
    }
}

/// A time as a clock, `hh:mm:ss` (`.5` where it has a fraction of a
/// second): simulated time into the run, or a time of day when the
/// scenario's time 0 is midnight (`day 2, 14:00:00` after the first day).
pub(crate) fn clock(secs: f64, time_of_day: bool) -> String {
    if !secs.is_finite() {
        return "–".into();
    }
    let millis = (secs.max(0.0) * 1000.0).round() as u64;
    let (whole, frac) = (millis / 1000, millis % 1000);
    let (day, whole) = if time_of_day {
        (whole / 86_400, whole % 86_400)
    } else {
        (0, whole)
    };
    let mut text = format!("{:02}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60);
    if frac > 0 {
        text.push_str(format!(".{frac:03}").trim_end_matches('0'));
    }
    if day > 0 {
        text = format!("day {}, {text}", day + 1);
    }
    text
}

/// A span of simulated time as clocks: `00:08:20–00:08:30 into the run`,
/// or `14:00:00–14:00:10 (time of day)`.
pub(crate) fn clock_span(start: f64, end: f64, time_of_day: bool) -> String {
    format!(
        "{}–{} {}",
        clock(start, time_of_day),
        clock(end, time_of_day),
        if time_of_day { "(time of day)" } else { "into the run" }
    )
}

/// A rate (errors over requests) as a percentage to the precision that
/// decides it: two significant digits and at least one decimal (`0.042%`,
/// `1.2%`, `12.5%`), never `0%` for a rate above zero; with a `limit`
/// (an SLO's maximum), digits are added until the shown figure is on the
/// same side of the limit as the rate itself.
pub(crate) fn rate_pct(x: f64, limit: Option<f64>) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x == 0.0 {
        return "0%".into();
    }
    let p = x * 100.0;
    let mut decimals = (1 - p.abs().log10().floor() as i32).clamp(1, 8) as usize;
    if let Some(limit) = limit.filter(|l| l.is_finite()) {
        let l = limit * 100.0;
        while decimals < 8 {
            let shown: f64 = format!("{p:.decimals$}").parse().expect("a formatted number parses");
            if shown.total_cmp(&l) == p.total_cmp(&l) {
                break;
            }
            decimals += 1;
        }
    }
    format!("{p:.decimals$}%")
}

/// `mean ± ci`: the interval to 2 significant digits and the mean to the
/// same decimal place (the ± left out when undefined, as with one replication).
pub(crate) fn with_ci(e: &Estimate, signed: bool) -> String {
    let sign = if signed && e.mean >= 0.0 { "+" } else { "" };
    if !(e.ci95.is_finite() && e.mean.is_finite()) {
        return format!("{sign}{}", human(e.mean));
    }
    if e.ci95 < 5e-7 {
        return format!("{sign}{} ± 0", human(e.mean));
    }
    let decimals = (1 - e.ci95.log10().floor() as i32).clamp(0, 6) as usize;
    let mean = if e.mean.abs() < 5e-7 { 0.0 } else { e.mean };
    format!("{sign}{mean:.decimals$} ± {:.decimals$}", e.ci95)
}

/// A duration in seconds as a scenario writes it (a scenario refuses a
/// bare number), in the largest unit of s, ms, us and ns that keeps it at
/// least 1 (`90s`, `12.5ms`, `800us`), to nine significant digits.
pub fn duration_text(seconds: f64) -> serde_json::Value {
    let (value, unit) = if seconds >= 1.0 || seconds == 0.0 {
        (seconds, "s")
    } else if seconds >= 1e-3 {
        (seconds * 1e3, "ms")
    } else if seconds >= 1e-6 {
        (seconds * 1e6, "us")
    } else {
        (seconds * 1e9, "ns")
    };
    // Nine significant digits: enough, and no binary noise in the file.
    let digits = if value == 0.0 {
        0
    } else {
        (8 - value.abs().log10().floor() as i32).clamp(0, 9) as usize
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    serde_json::Value::String(format!("{text}{unit}"))
}

/// `n` and `noun`, the noun plural unless `n` is 1: "1 run", "3 runs".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_figures_read_n_a() {
        assert_eq!(format!("{:.2}", Figure(1.0 / 3.0)), "0.33");
        assert_eq!(format!("{:.2}", Figure(f64::NAN)), "n/a");
        assert_eq!(format!("{:>7.1}", Figure(f64::INFINITY)), "    n/a");
        assert_eq!(format!("{:>7.1}", Figure(2.25)), "    2.2");
    }

    #[test]
    fn durations_read_in_the_largest_unit_they_fill() {
        assert_eq!(duration_words(30.0 * 86_400.0), "30 d");
        assert_eq!(duration_words(5_400.0), "1.5 h");
        assert_eq!(duration_words(600.0), "10 min");
        assert_eq!(duration_words(45.0), "45 s");
    }

    #[test]
    fn an_estimate_keeps_two_significant_digits_in_its_unit() {
        assert_eq!(rough_duration_words(62.0), "1 min");
        assert_eq!(rough_duration_words(78.0), "1.3 min");
        assert_eq!(rough_duration_words(0.4392), "0.44 s");
        assert_eq!(rough_duration_words(5.0 * 3600.0 + 1234.0), "5.3 h");
        assert_eq!(rough_duration_words(0.0), "0 s");
    }

    #[test]
    fn human_numbers_keep_four_significant_digits() {
        assert_eq!(human(0.0), "0");
        assert_eq!(human(61.234), "61.23");
        assert_eq!(human(0.001234), "0.001234");
        assert_eq!(human(992.8), "992.8");
        assert_eq!(human(12_345.6), "12346");
        assert_eq!(human(-3.5), "-3.500");
        assert_eq!(human(f64::NAN), "–");
        assert_eq!(human(-1e-13), "0");
        assert_eq!(short(2.5), "2.5");
        assert_eq!(short(250.0), "250");
        assert_eq!(short(12_000.0), "12000");
        assert_eq!(short(0.1), "0.1");
    }

    #[test]
    fn clocks_read_into_the_run_or_of_the_day() {
        assert_eq!(clock(500.0, false), "00:08:20");
        assert_eq!(clock(90_000.0, false), "25:00:00");
        assert_eq!(clock(90_000.0, true), "day 2, 01:00:00");
        assert_eq!(clock(50_400.0, true), "14:00:00");
        assert_eq!(clock(2.5, false), "00:00:02.5");
        assert_eq!(clock_span(500.0, 510.0, false), "00:08:20–00:08:30 into the run");
    }

    #[test]
    fn rates_keep_the_digits_that_decide_an_slo() {
        assert_eq!(rate_pct(0.000_42, None), "0.042%");
        assert_eq!(rate_pct(0.000_42, Some(0.001)), "0.042%");
        assert_eq!(rate_pct(0.0, Some(0.001)), "0%");
        assert_eq!(rate_pct(0.012_34, None), "1.2%");
        assert_eq!(rate_pct(0.125, None), "12.5%");
        assert_eq!(rate_pct(1e-7, None), "0.000010%");
        // 0.09996% rounds to the limit at three decimals: more are shown.
        assert_eq!(rate_pct(0.000_999_6, Some(0.001)), "0.09996%");
        assert_eq!(rate_pct(0.001_000_4, Some(0.001)), "0.10004%");
        assert_eq!(rate_pct(0.001, Some(0.001)), "0.10%");
        assert_eq!(rate_pct(f64::NAN, None), "–");
    }

    #[test]
    fn intervals_set_the_precision() {
        let e = |mean, ci95| Estimate { mean, ci95, n: 5 };
        assert_eq!(with_ci(&e(0.751_04, 0.000_911), false), "0.75104 ± 0.00091");
        assert_eq!(with_ci(&e(135.31, 0.5618), false), "135.31 ± 0.56");
        assert_eq!(with_ci(&e(9.549, 0.8528), true), "+9.55 ± 0.85");
        assert_eq!(with_ci(&e(-38.2, 6.1), true), "-38.2 ± 6.1");
        assert_eq!(with_ci(&e(992.8, 0.0), false), "992.8 ± 0");
        assert_eq!(with_ci(&e(992.8, f64::NAN), false), "992.8");
    }
}
