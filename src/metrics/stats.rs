//! Confidence intervals over independent replications.

/// Two-sided 95% Student-t critical values for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The two-sided 95% Student-t critical value for `df` degrees of freedom.
/// Beyond 30, a Cornish–Fisher expansion around the normal value (error < 0.001).
pub fn t95(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T95[df - 1],
        _ => {
            let z: f64 = 1.959_964;
            let d = df as f64;
            z + (z.powi(3) + z) / (4.0 * d) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

/// A number JSON holds as `null` when undefined (NaN when written), read back as NaN.
pub fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Mean and the half-width of its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    /// Half-width of the 95% confidence interval (NaN with one sample).
    #[serde(deserialize_with = "nan_if_null")]
    pub ci95: f64,
    pub n: usize,
}

/// The sample mean of `xs` with a t-based 95% confidence interval.
pub fn estimate(xs: &[f64]) -> Estimate {
    let n = xs.len();
    if n == 0 {
        return Estimate {
            mean: f64::NAN,
            ci95: f64::NAN,
            n,
        };
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Estimate {
            mean,
            ci95: f64::NAN,
            n,
        };
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Estimate {
        mean,
        ci95: t95(n - 1) * (var / n as f64).sqrt(),
        n,
    }
}

/// The paired difference `b − a` over replications that saw the same random
/// numbers: the mean and 95% CI of the per-replication differences. Pairs
/// with an undefined side are left out.
pub fn paired_difference(a: &[f64], b: &[f64]) -> Estimate {
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| y - x)
        .collect();
    estimate(&d)
}

/// The half-width of the 95% CI of `mean(b) − mean(a)` had the samples been
/// independent (Welch): what pairing saves is the gap between the two.
pub fn unpaired_ci95(a: &[f64], b: &[f64]) -> f64 {
    let finite = |xs: &[f64]| xs.iter().copied().filter(|x| x.is_finite()).collect::<Vec<_>>();
    let (a, b) = (finite(a), finite(b));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    if a.len() < 2 || b.len() < 2 {
        return f64::NAN;
    }
    let var = |xs: &[f64], n: f64| {
        let m = xs.iter().sum::<f64>() / n;
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    };
    let (va, vb) = (var(&a, na) / na, var(&b, nb) / nb);
    let se2 = va + vb;
    if se2 == 0.0 {
        return 0.0;
    }
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    t95(df.floor().max(1.0) as usize) * se2.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_values_join_smoothly() {
        assert!((t95(31) - 2.040).abs() < 0.002);
        assert!((t95(120) - 1.980).abs() < 0.002);
        assert!((t95(100_000) - 1.960).abs() < 0.001);
    }

    #[test]
    fn estimate_of_known_sample() {
        let e = estimate(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.5);
        // sd = 1.29099, se = 0.645497, t(3) = 3.182
        assert!((e.ci95 - 3.182 * 0.645_497).abs() < 1e-5);
    }

    #[test]
    fn pairing_removes_the_shared_noise() {
        // b = a + 1 with the same noise: the paired difference is exact.
        let a = [10.0, 14.0, 9.0, 12.0, 15.0];
        let b: Vec<f64> = a.iter().map(|x| x + 1.0).collect();
        let d = paired_difference(&a, &b);
        assert_eq!((d.mean, d.ci95, d.n), (1.0, 0.0, 5));
        assert!(unpaired_ci95(&a, &b) > 2.0);
        // Undefined values drop their pair only.
        let d = paired_difference(&[1.0, f64::NAN, 3.0], &[2.0, 5.0, 5.0]);
        assert_eq!((d.mean, d.n), (1.5, 2));
    }

    #[test]
    fn welch_matches_a_hand_computation() {
        // var a = 2.5 (n 5), var b = 10 (n 5): se² = 0.5 + 2 = 2.5;
        // df = 6.25 / (0.25/4 + 4/4) = 5.88 → 5, t = 2.571.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.0, 4.0, 6.0, 8.0, 10.0];
        assert!((unpaired_ci95(&a, &b) - 2.571 * 2.5f64.sqrt()).abs() < 1e-9);
    }
}
