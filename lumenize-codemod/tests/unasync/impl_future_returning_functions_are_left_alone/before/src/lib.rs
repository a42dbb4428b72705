use std::future::Future;

async fn inner() -> u32 {
    5
}

fn wrapped() -> impl Future<Output = u32> {
    inner()
}

fn ready_later() -> impl Future<Output = u32> {
    async { 1 }
}

async fn user() -> u32 {
    wrapped().await + ready_later().await
}
