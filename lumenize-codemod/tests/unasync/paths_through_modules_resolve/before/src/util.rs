pub(crate) async fn helper() -> u32 {
    1
}

pub(crate) mod nested {
    pub(crate) async fn deep() -> u32 {
        super::helper().await
    }
}
