fn one() -> u32 {
    1
}

fn single() -> u32 {
    let (x,) = (one(),);
    let (y,) = (one(),);
    x + y
}

use tokio::join;
