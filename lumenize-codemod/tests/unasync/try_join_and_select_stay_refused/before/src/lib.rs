async fn ok() -> Result<u32, ()> {
    Ok(1)
}

async fn first() -> u32 {
    1
}

async fn second() -> u32 {
    2
}

async fn fallible() -> Result<(u32, u32), ()> {
    tokio::try_join!(ok(), ok())
}

async fn race() -> u32 {
    tokio::select! {
        x = first() => x,
        y = second() => y,
    }
}

/// Brackets are not the call syntax the rule rewrites.
async fn bracketed() -> (u32, u32) {
    tokio::join![first(), second()]
}
