pub(crate) struct Conn;

impl Conn {
    async fn ping(&self) -> bool {
        true
    }
}

async fn typed(c: &Conn) -> bool {
    c.ping().await
}

async fn untyped<T: std::ops::Deref<Target = Conn>>(c: T, other: Vec<Conn>) -> bool {
    other[0].ping().await && c.ping().await
}
