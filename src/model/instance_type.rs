//! Instance types: the catalogue a pool chooses from.

/// How an instance is bought. Spot instances can be interrupted (faults).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    OnDemand,
    Spot,
}

/// One instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceType {
    pub name: String,
    pub vcpu: u32,
    pub memory_gib: f64,
    /// CPU speed relative to the reference core (1.0): CPU demand is divided by it.
    pub speed: f64,
    pub hourly_usd: f64,
    pub market: Market,
}

/// The built-in catalogue: AWS-like families with us-east-1 on-demand list
/// prices (Linux) as published in 2024. Speeds are relative per-core
/// throughput indices (c6i = 1.0); prices change, so serious cost work should
/// declare its own types in the scenario.
pub fn builtin_catalogue() -> Vec<InstanceType> {
    // (family, vCPU→memory ratio, speed, price of the `.large` size)
    const FAMILIES: &[(&str, f64, f64, f64)] = &[
        ("c6i", 2.0, 1.0, 0.085),
        ("m6i", 4.0, 1.0, 0.096),
        ("r6i", 8.0, 1.0, 0.126),
        ("c7i", 2.0, 1.15, 0.08925),
        ("m7i", 4.0, 1.15, 0.1008),
        ("c7g", 2.0, 1.05, 0.0725),
        ("m7g", 4.0, 1.05, 0.0816),
    ];
    // (size, multiple of `.large`)
    const SIZES: &[(&str, u32)] = &[
        ("large", 1),
        ("xlarge", 2),
        ("2xlarge", 4),
        ("4xlarge", 8),
        ("8xlarge", 16),
        ("16xlarge", 32),
    ];
    let mut types = Vec::new();
    for (family, mem_per_vcpu, speed, large_price) in FAMILIES {
        for (size, multiple) in SIZES {
            let vcpu = 2 * multiple;
            types.push(InstanceType {
                name: format!("{family}.{size}"),
                vcpu,
                memory_gib: f64::from(vcpu) * mem_per_vcpu,
                speed: *speed,
                hourly_usd: round_price(large_price * f64::from(*multiple)),
                market: Market::OnDemand,
            });
        }
    }
    // Burstable types: modelled at their baseline-free full speed with a lower index.
    types.push(InstanceType {
        name: "t3.medium".into(),
        vcpu: 2,
        memory_gib: 4.0,
        speed: 0.9,
        hourly_usd: 0.0416,
        market: Market::OnDemand,
    });
    types.push(InstanceType {
        name: "t3.large".into(),
        vcpu: 2,
        memory_gib: 8.0,
        speed: 0.9,
        hourly_usd: 0.0832,
        market: Market::OnDemand,
    });
    types.push(InstanceType {
        name: "t3.xlarge".into(),
        vcpu: 4,
        memory_gib: 16.0,
        speed: 0.9,
        hourly_usd: 0.1664,
        market: Market::OnDemand,
    });
    types
}

/// The built-in type of `name`'s family with `factor` times its vCPUs
/// (scaling up), when `name` is a built-in type and the family has that size.
pub fn larger_builtin(name: &str, factor: u32) -> Option<InstanceType> {
    let catalogue = builtin_catalogue();
    let of = catalogue.iter().find(|t| t.name == name)?;
    let family = name.split('.').next()?;
    let vcpu = of.vcpu.checked_mul(factor)?;
    catalogue
        .iter()
        .find(|t| t.name.split('.').next() == Some(family) && t.vcpu == vcpu)
        .cloned()
}

fn round_price(p: f64) -> f64 {
    (p * 1e5).round() / 1e5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_double_price_and_vcpu() {
        let cat = builtin_catalogue();
        let find = |n: &str| cat.iter().find(|t| t.name == n).unwrap().clone();
        let x = find("c6i.xlarge");
        let big = find("c6i.8xlarge");
        assert_eq!(x.vcpu, 4);
        assert_eq!(big.vcpu, 32);
        assert!((big.hourly_usd - 8.0 * x.hourly_usd).abs() < 1e-9);
        let mut names: Vec<_> = cat.iter().map(|t| t.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), cat.len(), "duplicate names in catalogue");
    }

    #[test]
    fn a_larger_size_stays_in_its_family() {
        assert_eq!(larger_builtin("c6i.xlarge", 4).unwrap().name, "c6i.4xlarge");
        assert_eq!(larger_builtin("m7g.large", 2).unwrap().name, "m7g.xlarge");
        assert!(larger_builtin("c6i.16xlarge", 2).is_none());
        assert!(larger_builtin("pod-1cpu", 2).is_none());
    }
}
