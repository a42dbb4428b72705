//! Placeholder until the codec benchmark lands.
fn main() {}
