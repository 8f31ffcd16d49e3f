//! The security review of the logistics adapter (docs/security.md) lists exactly its
//! routes. The webhook secret's refusals (wrong, a prefix of the right one, too short:
//! 404, nothing recorded) are in `cdek.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use test_support::security_review;

#[test]
fn the_review_lists_exactly_the_routes_of_the_logistics_adapter() {
    let registered = security_review::registered_paths(&["crates/services/logistics-adapter/src"]);
    assert!(registered.contains("/webhooks/cdek/{secret}"), "{registered:?}");
    security_review::assert_same(
        "logistics-adapter",
        &registered,
        &security_review::documented_paths("logistics-adapter"),
    );
}
