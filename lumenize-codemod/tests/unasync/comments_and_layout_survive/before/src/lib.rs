async /* keep me */ fn quiet() -> u32 {
    1
}

async   fn spaced() -> u32 {
    quiet() /* between */ .await
        + quiet()
            // a comment above the await
            .await
}

async fn user() -> u32 {
    spaced()
        .await
}
