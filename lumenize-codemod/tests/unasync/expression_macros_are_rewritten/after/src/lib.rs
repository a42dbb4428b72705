fn two() -> u32 {
    2
}

fn checks() {
    assert_eq!(two(), 2, "two is {}", two());
    println!("{}", two());
    let v = vec![two(), 3];
    debug_assert!(v.len() == 2);
}
