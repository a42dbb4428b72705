use std::time::Duration;

fn helper() -> u32 {
    7
}

/// Awaits a real third-party future: stays async, and so does its caller.
async fn waits(d: Duration) -> u32 {
    tokio::time::sleep(d).await;
    helper()
}

async fn outer() -> u32 {
    waits(Duration::from_millis(1)).await
}

pub fn entry() {}
