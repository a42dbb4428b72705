// Written against a trait object elsewhere, a self-await is what the fixpoint sees.
async fn depth(n: u32) -> u32 {
    if n == 0 { 0 } else { depth(n - 1).await + 1 }
}

async fn use_it() -> u32 {
    depth(2).await
}
