use std::time::Duration;

async fn a() -> u32 {
    1
}

async fn b() -> u32 {
    2
}

fn c() -> u32 {
    3
}

async fn sleeps() -> u32 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    4
}

/// A real future among the arguments: the join stays, and so do `a` and `mixed`.
async fn mixed() -> (u32, ()) {
    tokio::join!(a(), tokio::time::sleep(Duration::from_millis(1)))
}

/// One callee of ours stays async for real: `b` stays async with it, and so does `with_ours`.
async fn with_ours() -> (u32, u32) {
    tokio::join!(b(), sleeps())
}

fn only_c() -> u32 {
    c()
}
