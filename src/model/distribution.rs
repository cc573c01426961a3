//! Service-time and boot-time distributions.

use rand_distr::Distribution as _;

use crate::engine::RngStream;

/// A distribution of a non-negative duration, in seconds.
///
/// Parameters are validated by the scenario layer; constructing one with
/// impossible parameters is a bug.
#[derive(Clone, Debug)]
pub enum Distribution {
    Constant(f64),
    Exponential {
        mean: f64,
    },
    /// Log-normal with the given mean and coefficient of variation.
    LogNormal {
        mean: f64,
        cv: f64,
        inner: rand_distr::LogNormal<f64>,
    },
    /// Gamma with the given mean and coefficient of variation (shape = 1/cv²).
    Gamma {
        mean: f64,
        cv: f64,
        inner: rand_distr::Gamma<f64>,
    },
    Uniform {
        min: f64,
        max: f64,
    },
}

impl Distribution {
    pub fn constant(value: f64) -> Distribution {
        Distribution::Constant(value)
    }

    pub fn exponential(mean: f64) -> Distribution {
        Distribution::Exponential { mean }
    }

    /// `mean > 0`, `cv > 0`.
    pub fn lognormal(mean: f64, cv: f64) -> Distribution {
        // For a log-normal: cv² = exp(σ²) − 1 and mean = exp(μ + σ²/2).
        let sigma2 = (1.0 + cv * cv).ln();
        let mu = mean.ln() - sigma2 / 2.0;
        let inner = rand_distr::LogNormal::new(mu, sigma2.sqrt()).expect("validated lognormal");
        Distribution::LogNormal { mean, cv, inner }
    }

    /// `mean > 0`, `cv > 0`.
    pub fn gamma(mean: f64, cv: f64) -> Distribution {
        let shape = 1.0 / (cv * cv);
        let scale = mean / shape;
        let inner = rand_distr::Gamma::new(shape, scale).expect("validated gamma");
        Distribution::Gamma { mean, cv, inner }
    }

    pub fn uniform(min: f64, max: f64) -> Distribution {
        Distribution::Uniform { min, max }
    }

    /// Draws one value, in seconds.
    #[inline]
    pub fn sample(&self, rng: &mut RngStream) -> f64 {
        match self {
            Distribution::Constant(v) => *v,
            Distribution::Exponential { mean } => rng.exp(*mean),
            Distribution::LogNormal { inner, .. } => inner.sample(rng.inner()),
            Distribution::Gamma { inner, .. } => inner.sample(rng.inner()),
            Distribution::Uniform { min, max } => min + (max - min) * rng.open01(),
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            Distribution::Constant(v) => *v,
            Distribution::Exponential { mean }
            | Distribution::LogNormal { mean, .. }
            | Distribution::Gamma { mean, .. } => *mean,
            Distribution::Uniform { min, max } => (min + max) / 2.0,
        }
    }

    /// The squared coefficient of variation, as used by the Pollaczek–Khinchine formula.
    pub fn scv(&self) -> f64 {
        match self {
            Distribution::Constant(_) => 0.0,
            Distribution::Exponential { .. } => 1.0,
            Distribution::LogNormal { cv, .. } | Distribution::Gamma { cv, .. } => cv * cv,
            Distribution::Uniform { min, max } => {
                let mean = (min + max) / 2.0;
                if mean == 0.0 {
                    0.0
                } else {
                    (max - min).powi(2) / 12.0 / (mean * mean)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StreamId;

    fn sample_mean_and_scv(d: &Distribution) -> (f64, f64) {
        let mut rng = RngStream::new(StreamId::new(7, 0, "dist"));
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var / (mean * mean))
    }

    #[test]
    fn sample_moments_match_parameters() {
        for d in [
            Distribution::exponential(0.02),
            Distribution::lognormal(0.02, 0.5),
            Distribution::gamma(0.02, 2.0),
            Distribution::uniform(0.01, 0.03),
            Distribution::constant(0.02),
        ] {
            let (mean, scv) = sample_mean_and_scv(&d);
            assert!((mean - d.mean()).abs() / d.mean() < 0.02, "{d:?}: mean {mean}");
            assert!(
                (scv - d.scv()).abs() < 0.05 * d.scv().max(1.0) + 0.01,
                "{d:?}: scv {scv}"
            );
        }
    }
}
