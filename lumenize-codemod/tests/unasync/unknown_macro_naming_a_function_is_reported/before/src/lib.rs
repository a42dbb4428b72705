macro_rules! call_twice {
    ($f:ident) => {
        ($f().await, $f().await)
    };
}

async fn one() -> u32 {
    1
}

async fn user() -> (u32, u32) {
    call_twice!(one)
}
