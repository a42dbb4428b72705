//! Placeholder until the experiment lands.
fn main() {}
