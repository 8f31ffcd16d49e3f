// The migrations are embedded in the crate: rebuild when one changes.

fn main() {
    println!("cargo:rerun-if-changed=../../../migrations/orders");
}
