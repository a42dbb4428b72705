async fn load() -> u32 {
    1
}

async fn later() -> u32 {
    let f = load();
    f.await
}
