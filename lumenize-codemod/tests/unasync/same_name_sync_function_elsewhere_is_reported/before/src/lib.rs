mod a {
    pub(crate) async fn load() -> u32 {
        1
    }
}

mod b {
    pub(crate) fn load() -> u32 {
        2
    }
}

async fn user() -> u32 {
    a::load().await + b::load()
}
