//! When the demo's orders arrive and which of them go with CDEK.

use rand::Rng;

/// How far an arrival may move from its even slot, as a fraction of the interval.
const JITTER: f64 = 0.3;

/// Seconds after the start at which order `n` (from 0) arrives, at `rate_per_minute`.
/// Orders come at even intervals, each moved by up to 30 % of an interval at random (the
/// first comes at once), so they keep their order and the rate holds over any minute.
pub fn arrival_secs(rng: &mut impl Rng, n: u64, rate_per_minute: f64) -> f64 {
    let interval = 60.0 / rate_per_minute;
    let jitter = if n == 0 { 0.0 } else { rng.random_range(-JITTER..=JITTER) };
    (n as f64 + jitter) * interval
}

/// Whether order `n` goes with CDEK: spread evenly, so that of the first `k` orders
/// `floor(k × share)` do, whatever `k` (a short demo gets its share too).
pub fn is_cdek(n: u64, share: f64) -> bool {
    let share = share.clamp(0.0, 1.0);
    ((n + 1) as f64 * share).floor() > (n as f64 * share).floor()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn orders_arrive_in_order_at_the_rate() {
        let mut rng = StdRng::seed_from_u64(5);
        for rate in [0.5, 1.0, 12.0, 60.0, 600.0] {
            let times: Vec<f64> = (0..500).map(|n| arrival_secs(&mut rng, n, rate)).collect();
            assert_eq!(times[0], 0.0);
            assert!(times.windows(2).all(|w| w[1] > w[0]), "in order at {rate}/min");
            let interval = 60.0 / rate;
            for window_start in [0.0, 7.3 * interval, 100.5 * interval] {
                // Any span of 100 intervals holds 100 orders, give or take one at each end.
                let span = 100.0 * interval;
                let inside = times.iter().filter(|t| (window_start..window_start + span).contains(*t)).count();
                assert!((99..=101).contains(&inside), "{inside} orders in 100 intervals at {rate}/min");
            }
        }
    }

    #[test]
    fn the_cdek_share_is_kept_from_the_first_orders_on() {
        for share in [0.0, 0.2, 0.34, 0.5, 1.0] {
            for k in 1..50u64 {
                let cdek = (0..k).filter(|n| is_cdek(*n, share)).count() as u64;
                assert_eq!(cdek, (k as f64 * share).floor() as u64, "share {share}, {k} orders");
            }
        }
        // The first order is a courier's (its tracking link shows a moving courier).
        assert!(!is_cdek(0, 0.34));
        assert_eq!((0..6).filter(|n| is_cdek(*n, 0.34)).count(), 2);
        assert!(is_cdek(0, 1.0));
    }
}
