/// A crate's own `join!` is not the executor's: left alone, and what it names stays async.
macro_rules! join {
    ($($e:expr),*) => { ($($e,)*) };
}

async fn own() -> u32 {
    4
}

async fn uses_own() -> (u32,) {
    join!(own())
}
