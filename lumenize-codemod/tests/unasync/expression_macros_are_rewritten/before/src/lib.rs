async fn two() -> u32 {
    2
}

async fn checks() {
    assert_eq!(two().await, 2, "two is {}", two().await);
    println!("{}", two().await);
    let v = vec![two().await, 3];
    debug_assert!(v.len() == 2);
}
