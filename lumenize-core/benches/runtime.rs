//! Placeholder until the runtime benchmark lands.
fn main() {}
