struct Svc;

#[async_trait::async_trait]
impl tower_like::Handler for Svc {
    async fn handle(&self, x: u32) -> u32 {
        x
    }
}
