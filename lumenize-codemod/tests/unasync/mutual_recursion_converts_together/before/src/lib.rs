async fn even(n: u32) -> bool {
    if n == 0 { true } else { odd(n - 1).await }
}

async fn odd(n: u32) -> bool {
    if n == 0 { false } else { even(n - 1).await }
}

async fn check() -> bool {
    even(10).await && !odd(10).await
}
