async fn work() -> u32 {
    3
}

async fn spawner() -> u32 {
    let h = tokio::spawn(async move { work().await });
    let c = async { work().await + 1 };
    h.await.unwrap() + c.await
}

fn blocking() -> u32 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { work().await })
}
