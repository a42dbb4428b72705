mod shim {
    pub use a::structured_clone as sc;
}

pub async fn outside_macros(s: &str) -> Value {
    let v = a::structured_clone::parse(s, None).await.unwrap();
    let w = compat::decode(s, None).await.unwrap();
    let t = a::time::stringify(&v).await.unwrap();
    let u = a::lc::structured_clone::preprocess(&w).await.unwrap();
    let x = c_core::clone::postprocess(u, None).await.unwrap();
    let y = a::via_c::parse(&t, None).await.unwrap();
    let z = crate::shim::sc::stringify(&y).await.unwrap();
    let r = reg_helper::codec::parse(&z, None).await.unwrap();
    let p = plain_helper::codec::parse(&z, None).await.unwrap();
    a::helper();
    merge(x, r, p)
}

pub fn inside_macros(s: String) -> impl Stream<Item = Value> {
    stream! {
        let v = a::structured_clone::parse(&s, None).await.unwrap();
        let t = a::via_c::stringify(&v).await.unwrap();
        let w = crate::shim::sc::parse(&t, None).await.unwrap();
        let r = reg_helper::codec::parse(&s, None).await.unwrap();
        let p = plain_helper::codec::parse(&s, None).await.unwrap();
        let h = a::helper_codec::stringify(&p).await.unwrap();
        yield merge(w, r, p);
    }
}

mod globbed {
    use a::*;
    use compat::lc::structured_clone::*;

    pub async fn g(s: &str) {
        structured_clone::stringify(s).await;
        preprocess(s).await;
    }
}
