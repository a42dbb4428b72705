/* keep me */ fn quiet() -> u32 {
    1
}

fn spaced() -> u32 {
    quiet() /* between */ 
        + quiet()
            // a comment above the await
}

fn user() -> u32 {
    spaced()
}
