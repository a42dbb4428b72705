//! `lumenize-codemod`: migrate Rust crates from the async lumenize-core 0.9 API to the sync 1.0
//! API. Run `lumenize-codemod --help`; the command-line code lives in `cli/`.
#![warn(missing_docs)]

mod cli;

// syn and proc-macro2 allocate per token and per node: about half of a run's instructions
// were the system allocator's (glibc malloc/free). mimalloc serves the same requests faster.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
