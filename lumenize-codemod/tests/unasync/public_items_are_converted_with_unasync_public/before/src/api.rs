pub struct Client;

impl Client {
    pub async fn get(&self) -> u32 {
        crate::exposed().await
    }
}
