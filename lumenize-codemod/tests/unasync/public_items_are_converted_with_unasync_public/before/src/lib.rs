pub mod api;

async fn private_helper() -> u32 {
    1
}

pub async fn exposed() -> u32 {
    private_helper().await + 1
}
