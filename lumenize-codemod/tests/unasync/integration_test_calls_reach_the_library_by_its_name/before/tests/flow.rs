use app::Desk;

#[tokio::test]
async fn rings() {
    let d: Desk = app::open().await;
    let other = Desk;
    assert_eq!(d.ring().await + other.ring().await, 2);
}
