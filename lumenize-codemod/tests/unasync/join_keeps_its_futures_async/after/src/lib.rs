async fn a() -> u32 {
    1
}

async fn b() -> u32 {
    2
}

fn c() -> u32 {
    3
}

async fn both() -> (u32, u32) {
    tokio::join!(a(), b())
}

fn only_c() -> u32 {
    c()
}
