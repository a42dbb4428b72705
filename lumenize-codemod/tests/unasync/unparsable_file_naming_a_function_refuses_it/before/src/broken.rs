fn oops( {
    crate::named()
}
