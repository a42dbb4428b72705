//! `lumenize-codemod`: migrate Rust crates from the async lumenize-core 0.9 API to the sync 1.0
//! API. Run `lumenize-codemod --help`; the command-line code lives in `cli/`.
#![warn(missing_docs)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
