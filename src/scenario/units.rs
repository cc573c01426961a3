//! Human-friendly units: durations like `250ms`, `30s`, `5m`, `2h`.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A non-negative duration in seconds, written with a unit: `ns`, `us`,
/// `ms`, `s`, `m`, `h`, `d` (e.g. `1.5s`, `250ms`, `1h30m`). A bare number
/// other than 0 is refused in a scenario: `cpu: { mean: 30 }` would be 30
/// seconds where 30 ms was almost surely meant.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Duration(pub f64);

/// `(unit, multiplier, divisor)`: dividing for sub-second units keeps
/// `100us` exactly equal to `0.0001`.
const UNITS: &[(&str, f64, f64)] = &[
    ("ns", 1.0, 1e9),
    ("us", 1.0, 1e6),
    ("µs", 1.0, 1e6),
    ("ms", 1.0, 1e3),
    ("s", 1.0, 1.0),
    ("m", 60.0, 1.0),
    ("h", 3600.0, 1.0),
    ("d", 86400.0, 1.0),
];

/// Parses `"250ms"` into seconds. Errors say what is allowed.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let is_number = |c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+';
    let mut rest = text;
    let mut total = 0.0;
    let mut parts = 0;
    // One or more `<number><unit>` parts, as in `1h30m`; a bare number is seconds.
    while !rest.is_empty() {
        let split = rest.find(|c: char| !is_number(c)).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(split);
        let value: f64 = number.parse().map_err(|_| {
            format!("invalid duration `{text}`: expected a number with a unit, e.g. 250ms, 30s, 5m, 2h, 1h30m")
        })?;
        let tail = tail.trim_start();
        let unit_len = tail.find(is_number).unwrap_or(tail.len());
        let unit = tail[..unit_len].trim();
        let (mul, div) = if unit.is_empty() {
            if parts > 0 {
                return Err(format!(
                    "invalid duration `{text}`: every part after the first needs a unit"
                ));
            }
            (1.0, 1.0)
        } else {
            UNITS
                .iter()
                .find(|(u, _, _)| *u == unit)
                .map(|(_, m, d)| (*m, *d))
                .ok_or_else(|| {
                    format!("invalid duration `{text}`: unknown unit `{unit}`; known: ns, us, ms, s, m, h, d")
                })?
        };
        total += value * mul / div;
        parts += 1;
        rest = &tail[unit_len..];
        if unit.is_empty() && !rest.is_empty() {
            return Err(format!("invalid duration `{text}`: expected a unit after `{number}`"));
        }
    }
    if parts == 0 {
        return Err(format!(
            "invalid duration `{text}`: expected a number with a unit, e.g. 250ms, 30s, 5m, 2h"
        ));
    }
    check(total, text)
}

fn check(seconds: f64, text: &str) -> Result<f64, String> {
    if !seconds.is_finite() {
        Err(format!("invalid duration `{text}`: must be finite"))
    } else if seconds < 0.0 {
        Err(format!("invalid duration `{text}`: must not be negative"))
    } else {
        Ok(seconds)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration with a unit, such as 250ms, 30s, 5m or 2h")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                match v.trim().parse::<f64>() {
                    Ok(bare) => self.visit_f64(bare),
                    Err(_) => parse_duration(v).map(Duration).map_err(E::custom),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                if v == 0.0 {
                    return Ok(Duration(0.0));
                }
                Err(E::custom(unitless(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                self.visit_f64(v as f64)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Why a bare number is not a duration, with the spellings it may have meant.
fn unitless(v: f64) -> String {
    let n = if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    };
    format!(
        "a duration needs a unit: `{n}` alone is ambiguous; write {n}ms, {n}s or {n}m (units: ns, us, ms, s, m, h, d)"
    )
}

/// A share of a whole: a number from 0 to 1, or a percentage with its
/// sign (`0.25` or `25%`).
pub fn fraction<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    deserializer.deserialize_any(Scaled {
        percent_sign: 0.01,
        expecting: "a fraction such as 0.25 or 25%",
        percentile: false,
    })
}

/// [`fraction`] for an optional field (`#[serde(default)]` beside it).
pub fn some_fraction<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    fraction(deserializer).map(Some)
}

/// A percentage: a number of percent, with or without its sign (`50` or `50%`).
pub fn percent<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    deserializer.deserialize_any(Scaled {
        percent_sign: 1.0,
        expecting: "a percentage such as 50 or 50%",
        percentile: false,
    })
}

/// [`percent`] for an optional whole number of percent (an HPA's `average_utilization`).
pub fn some_whole_percent<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let v = percent(deserializer)?;
    if v.fract() != 0.0 || v.abs() > 9.0e15 {
        return Err(de::Error::custom(format!(
            "expected a whole number of percent, such as 50 or 50%, found {v}"
        )));
    }
    Ok(Some(v as i64))
}

/// A latency percentile: `99`, `99.9`, `p99`, `p99.9` or `99%`.
pub fn percentile<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    deserializer.deserialize_any(Scaled {
        percent_sign: 1.0,
        expecting: "a percentile such as 99, 99.9 or p99",
        percentile: true,
    })
}

/// A number, or a number followed by `%` multiplied by `percent_sign`;
/// for a `percentile`, also `p99` or the number as text.
struct Scaled {
    percent_sign: f64,
    expecting: &'static str,
    percentile: bool,
}

impl Visitor<'_> for Scaled {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        let t = v.trim();
        let number = t.strip_suffix('%').map(str::trim_end).or_else(|| {
            self.percentile
                .then(|| t.strip_prefix(['p', 'P']).unwrap_or(t).trim_start())
        });
        match number.map(str::parse::<f64>) {
            Some(Ok(n)) if n.is_finite() => Ok(n * self.percent_sign),
            _ => Err(E::custom(format!(
                "expected {}; found `{}`",
                self.expecting,
                super::excerpt(v)
            ))),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
}

/// A Kubernetes quantity in milli-units: `500m`, `1.5`, `2Gi`, `512Mi`,
/// `100k`, or a bare number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(pub i64);

const SUFFIXES: &[(&str, f64)] = &[
    ("m", 1e-3),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("Ki", 1024.0),
    ("Mi", 1_048_576.0),
    ("Gi", 1_073_741_824.0),
    ("Ti", 1_099_511_627_776.0),
];

/// Parses a quantity into milli-units (rounded up, as Kubernetes' `MilliValue` does).
pub fn parse_quantity(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let suffix = suffix.trim();
    let value: f64 = number.parse().map_err(|_| {
        format!("invalid quantity `{text}`: expected a number with an optional suffix, e.g. 500m, 1.5, 2Gi")
    })?;
    let scale = if suffix.is_empty() {
        1.0
    } else {
        SUFFIXES
            .iter()
            .find(|(s, _)| *s == suffix)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                format!("invalid quantity `{text}`: unknown suffix `{suffix}`; known: m, k, M, G, T, P, Ki, Mi, Gi, Ti")
            })?
    };
    milli(value * scale, text)
}

fn milli(value: f64, text: &str) -> Result<i64, String> {
    // `204m` is 204 × 0.001 × 1000 = 204.00000000000003 in binary floating
    // point: a product within rounding error of a whole milli is that milli
    // (Kubernetes parses decimals exactly); only a finer fraction rounds up.
    let m = value * 1000.0;
    let whole = m.round();
    let m = if (m - whole).abs() <= 1e-9 * whole.abs().max(1.0) {
        whole
    } else {
        m.ceil()
    };
    if !m.is_finite() || m < 0.0 {
        Err(format!("invalid quantity `{text}`: must be a finite number ≥ 0"))
    } else if m > 9.0e18 {
        Err(format!("invalid quantity `{text}`: too large"))
    } else {
        Ok(m as i64)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity such as 500m, 1.5, 2Gi or 512Mi")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                parse_quantity(v).map(Quantity).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                milli(v, &v.to_string()).map(Quantity).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                self.visit_f64(v as f64)
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_quantities_are_exact_milli_units() {
        // Before, 204m read as 205m and 1234.567 as 1234568m (float products rounded up).
        assert_eq!(parse_quantity("204m"), Ok(204));
        assert_eq!(parse_quantity("1234567m"), Ok(1_234_567));
        assert_eq!(parse_quantity("0.204"), Ok(204));
        assert_eq!(parse_quantity("1234.567"), Ok(1_234_567));
        // A fraction finer than a milli still rounds up, as MilliValue does.
        assert_eq!(parse_quantity("0.0001"), Ok(1));
        assert_eq!(parse_quantity("1.0005"), Ok(1001));
    }

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("250ms"), Ok(0.25));
        assert_eq!(parse_duration("30s"), Ok(30.0));
        assert_eq!(parse_duration("5m"), Ok(300.0));
        assert_eq!(parse_duration("2h"), Ok(7200.0));
        assert_eq!(parse_duration("1.5"), Ok(1.5));
        assert_eq!(parse_duration("100us"), Ok(1e-4));
        assert_eq!(parse_duration("12h30m"), Ok(45_000.0));
        assert_eq!(parse_duration("1m 30s"), Ok(90.0));
    }

    #[test]
    fn parses_quantities() {
        assert_eq!(parse_quantity("500m"), Ok(500));
        assert_eq!(parse_quantity("1.5"), Ok(1500));
        assert_eq!(parse_quantity("2Gi"), Ok(2 * 1_073_741_824_000));
        assert_eq!(parse_quantity("100k"), Ok(100_000_000));
        assert!(
            parse_quantity("3 cores")
                .unwrap_err()
                .contains("unknown suffix `cores`")
        );
        assert!(parse_quantity("-1").unwrap_err().contains("≥ 0"));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit `parsecs`")
        );
        assert!(parse_duration("-3s").unwrap_err().contains("must not be negative"));
        assert!(
            parse_duration("fast")
                .unwrap_err()
                .contains("expected a number with a unit")
        );
    }
}
