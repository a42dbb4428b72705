#[tracing::instrument]
async fn traced() -> u32 {
    1
}

#[inline]
#[allow(clippy::unused_async)]
async fn plain() -> u32 {
    2
}

async fn user() -> u32 {
    traced().await + plain().await
}
