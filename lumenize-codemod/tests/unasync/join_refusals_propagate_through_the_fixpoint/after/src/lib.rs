mod local;

/// Public: reported by default, so it stays async.
pub async fn exposed() -> u32 {
    1
}

async fn mid() -> u32 {
    exposed().await + 1
}

async fn leaf() -> u32 {
    2
}

/// `mid` stays async because it awaits `exposed`; the join keeps its futures, so `leaf` stays
/// async too, found in a later round of the fixpoint.
async fn pair() -> (u32, u32) {
    tokio::join!(mid(), leaf())
}

fn alone() -> u32 {
    3
}

/// Converts: its join holds only `alone`.
fn single() -> u32 {
    (alone(),).0
}
