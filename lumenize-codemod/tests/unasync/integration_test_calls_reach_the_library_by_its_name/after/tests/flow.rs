use app::Desk;

#[tokio::test]
async fn rings() {
    let d: Desk = app::open();
    let other = Desk;
    assert_eq!(d.ring() + other.ring(), 2);
}
