fn main() {
    println!("lumenize-codemod: not implemented yet");
}
