async fn fetch() -> u32 {
    1
}

async fn user() -> u32 {
    fetch().await
}

async fn shadow() -> u32 {
    let fetch = || async { 2 };
    fetch().await
}
