async fn one() -> u32 {
    1
}

async fn single() -> u32 {
    let (x,) = tokio::join!(one());
    let (y,) = join!(one(),);
    x + y
}

use tokio::join;
