async fn handler(x: u32) -> u32 {
    x * 2
}

async fn direct() -> u32 {
    handler(1).await
}

fn register<F, Fut>(f: F) -> F
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = u32>,
{
    f
}

fn setup() {
    let _h = register(handler);
}
