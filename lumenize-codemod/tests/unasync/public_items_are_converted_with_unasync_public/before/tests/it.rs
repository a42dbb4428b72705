use app::api::Client;

#[tokio::test]
async fn gets() {
    let c = Client;
    assert_eq!(c.get().await, 2);
    assert_eq!(app::exposed().await, 2);
}
