fn leaf() -> u32 {
    1
}

/// Its own body awaits nothing: the async block it returns the result of is not awaited here.
fn makes_future() -> impl std::future::Future<Output = u32> {
    async { leaf() }
}

async fn user() -> u32 {
    makes_future().await
}
