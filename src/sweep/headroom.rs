//! Headroom: the same scenario under traffic scaled by a multiplier, step by
//! step, to find where the SLO breaks and which component breaks it.

use crate::metrics::SloSpec;
use crate::model::{RateCurve, SystemSpec};

/// The multipliers `from, from + step, …` up to `to` (inclusive, computed
/// as `from + i·step`), with 1 (today's traffic) added if missing.
pub fn multipliers(from: f64, to: f64, step: f64) -> Vec<f64> {
    let n = ((to - from) / step + 1e-9).floor() as usize;
    let mut m: Vec<f64> = (0..=n).map(|i| round(from + i as f64 * step)).collect();
    if !m.iter().any(|x| (x - 1.0).abs() < 1e-9) {
        m.push(1.0);
        m.sort_by(f64::total_cmp);
    }
    m
}

/// The multiplier halfway between `lo` and `hi` (rounded like the grid),
/// if it lies strictly between them.
pub fn midpoint(lo: f64, hi: f64) -> Option<f64> {
    let mid = round((lo + hi) / 2.0);
    (lo < mid && mid < hi).then_some(mid)
}

/// Rounds away the binary noise of `from + i·step` (to 1e-9).
fn round(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// `spec` with its traffic curve multiplied by `m` (today's spec at 1).
pub fn scaled(spec: &SystemSpec, m: f64, slo: SloSpec) -> SystemSpec {
    let mut s = spec.clone();
    if m != 1.0 {
        s.traffic.curve = RateCurve::Product(vec![spec.traffic.curve.clone(), RateCurve::Constant(m)]);
    }
    s.slo = Some(slo);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipliers_include_today() {
        assert_eq!(multipliers(0.5, 2.0, 0.5), vec![0.5, 1.0, 1.5, 2.0]);
        assert_eq!(multipliers(1.2, 1.8, 0.3), vec![1.0, 1.2, 1.5, 1.8]);
        assert_eq!(multipliers(1.0, 1.3, 0.1), vec![1.0, 1.1, 1.2, 1.3]);
    }

    #[test]
    fn midpoints_stop_when_the_gap_closes() {
        assert_eq!(midpoint(0.75, 1.0), Some(0.875));
        assert_eq!(midpoint(1.0, 1.0 + 1e-9), None);
    }
}
