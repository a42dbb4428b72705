async fn countdown(n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    Box::pin(countdown(n - 1)).await + 1
}

async fn caller() -> u32 {
    countdown(3).await
}
