// Written against a trait object elsewhere, a self-await is what the fixpoint sees.
fn depth(n: u32) -> u32 {
    if n == 0 { 0 } else { depth(n - 1) + 1 }
}

fn use_it() -> u32 {
    depth(2)
}
