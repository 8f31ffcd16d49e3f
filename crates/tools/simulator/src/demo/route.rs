//! How a courier gets from A to B: a street-like path (a few legs along the grid, with the
//! corners a little off it) driven at a varying speed that slows for corners and the
//! destination and now and then waits at a red light. A trip is planned once; where the
//! courier is at any moment is then a pure function of the time since it set off.

use rand::Rng;

use super::geo::Point;

/// Speed variation around the configured speed (a factor on it).
const SPEED_FACTOR: std::ops::RangeInclusive<f64> = 0.75..=1.1;
/// Slower within this distance of a corner or the destination...
const SLOW_ZONE_M: f64 = 30.0;
/// ...by this factor.
const SLOW_FACTOR: f64 = 0.55;
/// The chance of a red light at a corner, and how long it lasts (seconds).
const RED_LIGHT_CHANCE: f64 = 0.3;
const RED_LIGHT_SECS: std::ops::RangeInclusive<u32> = 5..=20;
/// How far a corner may be off the grid (metres).
const CORNER_JITTER_M: f64 = 12.0;

/// Where the courier is, which way it is heading and how fast it goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub point: Point,
    /// Degrees clockwise from north.
    pub heading_deg: f64,
    pub speed_mps: f64,
}

/// The corners of a street-like path from `from` to `to`: one to three legs east–west
/// and one to three north–south, interleaved, each corner shifted by a few metres.
/// Starts at `from` and ends exactly at `to`.
pub fn street_path(rng: &mut impl Rng, from: Point, to: Point) -> Vec<Point> {
    let (east, north) = from.east_north_to(to);
    let (east_parts, north_parts) = (rng.random_range(1..=3), rng.random_range(1..=3));
    let east_legs = split(rng, east, east_parts);
    let north_legs = split(rng, north, north_parts);
    let east_first = rng.random_bool(0.5);
    let mut moves = Vec::with_capacity(east_legs.len() + north_legs.len());
    let (mut e, mut n) = (east_legs.into_iter(), north_legs.into_iter());
    loop {
        let (first, second) = if east_first {
            (e.next().map(|d| (d, 0.0)), n.next().map(|d| (0.0, d)))
        } else {
            (n.next().map(|d| (0.0, d)), e.next().map(|d| (d, 0.0)))
        };
        if first.is_none() && second.is_none() {
            break;
        }
        moves.extend(first.into_iter().chain(second).filter(|(de, dn): &(f64, f64)| de.hypot(*dn) >= 1.0));
    }
    let mut path = vec![from];
    let (mut at_east, mut at_north) = (0.0, 0.0);
    let corners = moves.len().saturating_sub(1);
    for (de, dn) in moves.into_iter().take(corners) {
        at_east += de;
        at_north += dn;
        let jitter = rng.random_range(-CORNER_JITTER_M..=CORNER_JITTER_M);
        // Off the grid across the direction of the leg just driven.
        let (je, jn) = if de == 0.0 { (jitter, 0.0) } else { (0.0, jitter) };
        path.push(from.offset(at_east + je, at_north + jn));
    }
    path.push(to);
    path
}

/// `total` cut into `parts` pieces of random sizes.
fn split(rng: &mut impl Rng, total: f64, parts: usize) -> Vec<f64> {
    let weights: Vec<f64> = (0..parts.max(1)).map(|_| rng.random_range(0.3..=1.0)).collect();
    let sum: f64 = weights.iter().sum();
    weights.into_iter().map(|w| total * w / sum).collect()
}

/// A planned drive along a path.
#[derive(Debug, Clone)]
pub struct Trip {
    waypoints: Vec<Point>,
    /// The distance along the path at each waypoint.
    marks: Vec<f64>,
    /// The distance driven at each whole second since setting off; the last is the
    /// path's length.
    along: Vec<f64>,
}

impl Trip {
    /// A street-like trip from `from` to `to` at about `speed_mps`.
    pub fn plan(rng: &mut impl Rng, from: Point, to: Point, speed_mps: f64) -> Trip {
        let waypoints = street_path(rng, from, to);
        Trip::along_path(rng, waypoints, speed_mps)
    }

    /// A trip along the given corners at about `speed_mps` (at least 0.1 m/s).
    pub fn along_path(rng: &mut impl Rng, waypoints: Vec<Point>, speed_mps: f64) -> Trip {
        let speed = speed_mps.max(0.1);
        let mut marks = Vec::with_capacity(waypoints.len());
        let mut total = 0.0;
        let mut previous = waypoints.first().copied();
        for point in &waypoints {
            total += previous.map_or(0.0, |p| p.distance_m(*point));
            marks.push(total);
            previous = Some(*point);
        }
        let corners: Vec<f64> =
            marks.iter().copied().skip(1).take(marks.len().saturating_sub(2)).filter(|m| *m > 0.0).collect();
        let mut along = vec![0.0];
        let (mut driven, mut factor, mut red_light, mut next_corner) = (0.0_f64, 1.0_f64, 0_u32, 0_usize);
        // Even the slowest pace ends the loop; the cap only guards against a bug.
        let cap = (total / (speed * 0.3)).ceil() as usize + corners.len() * 25 + 10;
        while driven < total && along.len() < cap {
            if red_light > 0 {
                red_light -= 1;
                along.push(driven);
                continue;
            }
            factor = (factor + rng.random_range(-0.06..=0.06)).clamp(*SPEED_FACTOR.start(), *SPEED_FACTOR.end());
            let slow = total - driven < SLOW_ZONE_M * 2.0 || corners.iter().any(|c| (c - driven).abs() < SLOW_ZONE_M);
            let mut step = speed * factor * if slow { SLOW_FACTOR } else { 1.0 };
            let mut first_corner = true;
            while let Some(corner) = corners.get(next_corner).copied().filter(|c| *c <= driven + step) {
                next_corner += 1;
                if first_corner && rng.random_bool(RED_LIGHT_CHANCE) {
                    step = corner - driven;
                    red_light = rng.random_range(RED_LIGHT_SECS);
                }
                first_corner = false;
            }
            driven = (driven + step).min(total);
            along.push(driven);
        }
        if along.last().is_some_and(|last| *last < total) {
            along.push(total);
        }
        Trip { waypoints, marks, along }
    }

    /// How long the trip takes, in seconds.
    pub fn seconds(&self) -> f64 {
        self.along.len().saturating_sub(1) as f64
    }

    pub fn length_m(&self) -> f64 {
        self.marks.last().copied().unwrap_or(0.0)
    }

    pub fn end(&self) -> Option<Point> {
        self.waypoints.last().copied()
    }

    /// Where the courier is `elapsed` seconds after setting off (at the start before, at
    /// the end after).
    pub fn at(&self, elapsed: f64) -> Option<Fix> {
        let elapsed = elapsed.clamp(0.0, self.seconds());
        let second = elapsed.floor() as usize;
        let before = self.along.get(second).copied()?;
        let after = self.along.get(second + 1).copied().unwrap_or(before);
        let driven = before + (after - before) * (elapsed - second as f64);
        let (point, heading_deg) = self.point_at(driven)?;
        let speed_mps = if elapsed >= self.seconds() { 0.0 } else { after - before };
        Some(Fix { point, heading_deg, speed_mps })
    }

    /// The point `driven` metres along the path, and the heading of its leg there.
    fn point_at(&self, driven: f64) -> Option<(Point, f64)> {
        let legs = self.waypoints.windows(2).zip(self.marks.windows(2));
        let mut last = None;
        for (points, marks) in legs {
            let (&[from, to], &[start, end]) = (points, marks) else { continue };
            if end - start <= 0.0 {
                continue;
            }
            last = Some((to, from.heading_to(to)));
            if driven <= end {
                let t = ((driven - start) / (end - start)).clamp(0.0, 1.0);
                return Some((from.lerp(to, t), from.heading_to(to)));
            }
        }
        last.or_else(|| self.waypoints.first().map(|p| (*p, 0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::geo::{CENTRE, random_at_distance, random_within};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn trips(count: usize, speed: f64) -> Vec<(Point, Point, Trip)> {
        let mut rng = StdRng::seed_from_u64(42);
        (0..count)
            .map(|_| {
                let from = random_within(&mut rng, CENTRE, 5_000.0);
                let to = random_at_distance(&mut rng, from, 300.0, 4_000.0);
                let trip = Trip::plan(&mut rng, from, to, speed);
                (from, to, trip)
            })
            .collect()
    }

    #[test]
    fn a_path_starts_at_the_courier_ends_at_the_target_and_follows_the_grid() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..300 {
            let from = random_within(&mut rng, CENTRE, 5_000.0);
            let to = random_at_distance(&mut rng, from, 100.0, 4_000.0);
            let path = street_path(&mut rng, from, to);
            assert_eq!(path.first(), Some(&from));
            assert_eq!(path.last(), Some(&to));
            let straight = from.distance_m(to);
            let length: f64 = path.windows(2).map(|w| w[0].distance_m(w[1])).sum();
            // Never shorter than the crow flies; never more than the grid's detour (√2)
            // plus the corners' jitter.
            assert!(length >= straight - 0.01, "{length} < {straight}");
            assert!(length <= straight * 1.45 + 2.0 * CORNER_JITTER_M * path.len() as f64, "{length} vs {straight}");
            for leg in path.windows(2) {
                let metres = leg[0].distance_m(leg[1]);
                if metres > 150.0 {
                    let off_grid = (leg[0].heading_to(leg[1]) % 90.0).min(90.0 - leg[0].heading_to(leg[1]) % 90.0);
                    assert!(off_grid < 12.0, "a {metres:.0} m leg {off_grid:.1}° off the grid");
                }
            }
        }
    }

    #[test]
    fn a_trip_ends_at_the_target_and_never_moves_faster_than_its_speed_allows() {
        let speed = 12.0;
        for (from, to, trip) in trips(200, speed) {
            assert_eq!(trip.at(0.0).map(|f| f.point), Some(from));
            let end = trip.at(trip.seconds()).map(|f| f.point);
            assert!(end.is_some_and(|p| p.distance_m(to) < 0.01), "ends at {end:?}, not {to:?}");
            assert_eq!(trip.at(trip.seconds() + 100.0).map(|f| f.point), end);
            assert_eq!(trip.at(trip.seconds()).map(|f| f.speed_mps), Some(0.0));
            let mut previous = from;
            for second in 1..=trip.seconds() as usize {
                let fix = trip.at(second as f64).unwrap();
                let step = previous.distance_m(fix.point);
                assert!(step <= speed * 1.15, "{step:.1} m in one second");
                assert!(fix.speed_mps <= speed * 1.15);
                assert!((0.0..360.0).contains(&fix.heading_deg));
                previous = fix.point;
            }
            // Plausible: about the configured speed on average, red lights included.
            let average = trip.length_m() / trip.seconds();
            assert!((speed * 0.4..=speed * 1.1).contains(&average), "average {average:.1} m/s");
        }
    }

    #[test]
    fn a_trip_in_between_seconds_lies_between_its_neighbours() {
        for (_, _, trip) in trips(20, 12.0) {
            for second in 0..trip.seconds() as usize {
                let a = trip.at(second as f64).unwrap().point;
                let b = trip.at(second as f64 + 1.0).unwrap().point;
                let mid = trip.at(second as f64 + 0.5).unwrap().point;
                assert!(a.distance_m(mid) <= a.distance_m(b) + 0.01);
                assert!(mid.distance_m(b) <= a.distance_m(b) + 0.01);
            }
        }
    }

    #[test]
    fn a_trip_to_where_the_courier_is_takes_no_time() {
        let mut rng = StdRng::seed_from_u64(3);
        let trip = Trip::plan(&mut rng, CENTRE, CENTRE, 12.0);
        assert_eq!(trip.seconds(), 0.0);
        assert_eq!(trip.at(5.0).map(|f| f.point), Some(CENTRE));
    }
}
