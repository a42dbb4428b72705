pub struct Command;

impl Command {
    async fn encode(&self) -> u32 {
        1
    }
}

async fn a() -> u32 {
    1
}

async fn b(x: u32) -> u32 {
    x + 1
}

async fn c() -> u32 {
    3
}

/// Both callees convert, so the join is a tuple of plain calls, and `both` awaits nothing.
async fn both() -> (u32, u32) {
    tokio::join!(a(), b(2))
}

/// Paths and layout of the arguments are kept byte for byte; a trailing comma too.
async fn spread(cmd: &Command) -> u32 {
    let (x, y, z) = futures::join!(
        cmd.encode(), // the first
        b(a().await),
        c(),
    );
    x + y + z + both().await.0
}
