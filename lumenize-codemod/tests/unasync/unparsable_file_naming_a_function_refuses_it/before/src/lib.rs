mod broken;

pub(crate) async fn named() -> u32 {
    1
}

async fn user() -> u32 {
    named().await
}
