//! The double's tariff arithmetic: invented prices and periods, deterministic in the
//! inputs (tariff, the two places, the parcels) so tests can compare runs.

use chrono::{Days, NaiveDate};

/// The tariffs `tarifflist` offers: (code, name, delivery mode).
pub const OFFERED: &[(i64, &str, u32)] = &[
    (136, "Посылка склад-склад", 4),
    (137, "Посылка склад-дверь", 3),
    (138, "Посылка дверь-склад", 2),
    (139, "Посылка дверь-дверь", 1),
    (368, "Посылка склад-постамат", 7),
];

/// One parcel as far as the price is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parcel {
    /// Grams.
    pub weight: i64,
    /// Length, width, height in cm.
    pub dimensions: Option<(i64, i64, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub delivery_sum: f64,
    /// Grams: the larger of the real and the volumetric weight, summed over parcels.
    pub weight_calc: i64,
    pub period_min: u32,
    pub period_max: u32,
    pub calendar_min: u32,
    pub calendar_max: u32,
}

impl Quote {
    pub fn date_range(&self, from: NaiveDate) -> (NaiveDate, NaiveDate) {
        let min = from.checked_add_days(Days::new(u64::from(self.calendar_min))).unwrap_or(from);
        let max = from.checked_add_days(Days::new(u64::from(self.calendar_max))).unwrap_or(from);
        (min, max)
    }
}

/// `delivery_mode` of an order: from the tariff when it is one of the known ones, else
/// from where it starts and ends ("1" door–door … "4" warehouse–warehouse).
pub fn delivery_mode(tariff_code: i64, from_door: bool, to_door: bool) -> u32 {
    if let Some((_, _, mode)) = OFFERED.iter().find(|(code, _, _)| *code == tariff_code) {
        return *mode;
    }
    match (from_door, to_door) {
        (true, true) => 1,
        (true, false) => 2,
        (false, true) => 3,
        (false, false) => 4,
    }
}

fn base_price(tariff_code: i64) -> i64 {
    match tariff_code {
        136 => 250,
        137 => 350,
        138 => 330,
        139 => 450,
        368 => 220,
        _ => 400,
    }
}

/// FNV-1a: stable across builds, unlike std's hasher.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

pub fn quote(tariff_code: i64, from_key: &str, to_key: &str, parcels: &[Parcel]) -> Quote {
    let weight_calc: i64 = parcels
        .iter()
        .map(|parcel| {
            let volumetric = parcel.dimensions.map_or(0, |(l, w, h)| l.saturating_mul(w).saturating_mul(h) / 5);
            parcel.weight.max(volumetric).max(0)
        })
        .sum();
    let same_place = from_key.trim().eq_ignore_ascii_case(to_key.trim());
    // 0 within a city, 1..=3 between cities.
    let zone = if same_place { 0 } else { 1 + fnv(&format!("{from_key}|{to_key}")) % 3 };
    let zone = u32::try_from(zone).unwrap_or(1);
    let extra_kilos = (weight_calc.max(1) + 999) / 1000 - 1;
    let sum = (base_price(tariff_code) + 40 * extra_kilos) * (4 + i64::from(zone)) / 4;
    let period_min = 1 + zone;
    let period_max = period_min + 2;
    Quote {
        delivery_sum: sum as f64,
        weight_calc,
        period_min,
        period_max,
        calendar_min: period_min + 1,
        calendar_max: period_max + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_heavier_costs_more() {
        let light = [Parcel { weight: 500, dimensions: None }];
        let heavy = [Parcel { weight: 5000, dimensions: None }];
        assert_eq!(quote(136, "44", "270", &light), quote(136, "44", "270", &light));
        assert!(quote(136, "44", "270", &heavy).delivery_sum > quote(136, "44", "270", &light).delivery_sum);
    }

    #[test]
    fn volumetric_weight_counts() {
        let bulky = [Parcel { weight: 100, dimensions: Some((50, 40, 30)) }];
        assert_eq!(quote(136, "44", "44", &bulky).weight_calc, 12_000);
    }

    #[test]
    fn modes() {
        assert_eq!(delivery_mode(137, false, true), 3);
        assert_eq!(delivery_mode(1, true, false), 2);
    }
}
