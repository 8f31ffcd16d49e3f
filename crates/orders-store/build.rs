// Rebuild when a migration changes: they are embedded in the crate.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/orders");
}
