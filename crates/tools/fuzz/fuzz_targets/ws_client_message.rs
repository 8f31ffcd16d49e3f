//! What a client may send on the notifier's sockets (`notifier::messages::ClientMessage`,
//! parsed as `routes/ws.rs` parses text and binary messages; customers' sockets take
//! nothing, ops send `subscribe`).
//!
//! Properties: never panics; a parsed message serializes and parses back to the same
//! message; a scope that validates has real coordinates with its minimum below its
//! maximum, and contains its own corners.
#![no_main]

use domain::geo::Coordinates;
use libfuzzer_sys::fuzz_target;
use notifier::messages::{ClientMessage, Scope};

fuzz_target!(|text: &[u8]| {
    let Ok(message) = ClientMessage::parse(text) else {
        return;
    };
    let written = serde_json::to_vec(&message).expect("a client message serializes");
    let again = ClientMessage::parse(&written).expect("a serialized client message parses");
    let ClientMessage::Subscribe { key, scope } = &message;
    let ClientMessage::Subscribe { key: key_again, scope: scope_again } = &again;
    assert_eq!(key, key_again);
    assert!(same_scope(scope, scope_again), "{scope:?} came back as {scope_again:?}");

    if scope.validate().is_ok() {
        if let Scope::Area { min_lat, min_lon, max_lat, max_lon } = *scope {
            assert!(min_lat <= max_lat && min_lon <= max_lon, "{scope:?}");
            for (lat, lon) in [(min_lat, min_lon), (max_lat, max_lon)] {
                let corner = Coordinates::parse(lat, lon).expect("a valid area's corners are coordinates");
                assert!(scope.contains(corner), "{scope:?} does not contain its corner {lat},{lon}");
            }
        }
    }
});

/// Equal, allowing the last digit of a float to move (serde_json's default float
/// parsing is not exact to the bit).
fn same_scope(a: &Scope, b: &Scope) -> bool {
    let close = |x: f64, y: f64| x == y || (x - y).abs() <= f64::EPSILON * 4.0 * x.abs().max(y.abs());
    match (a, b) {
        (Scope::All, Scope::All) => true,
        (
            Scope::Area { min_lat, min_lon, max_lat, max_lon },
            Scope::Area { min_lat: a_lat, min_lon: a_lon, max_lat: b_lat, max_lon: b_lon },
        ) => close(*min_lat, *a_lat) && close(*min_lon, *a_lon) && close(*max_lat, *b_lat) && close(*max_lon, *b_lon),
        _ => false,
    }
}
