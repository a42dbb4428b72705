//! c awaits nothing, b awaits only c, a awaits only b: all three become synchronous.

async fn c(x: u32) -> u32 {
    x + 1
}

async fn b(x: u32) -> u32 {
    // a comment before the call
    c(x).await * 2
}

pub(crate) async fn a(x: u32) -> Result<u32, String> {
    let v = b(x)
        .await;
    Ok(v)
}

pub fn entry() -> u32 {
    0
}
