//! `cargo lumenize-codemod …`: cargo runs `cargo-lumenize-codemod lumenize-codemod …` (the
//! subcommand name comes first); this drops that name and runs the `lumenize-codemod` binary
//! installed next to this one with the rest of the arguments. Both binaries come from the
//! same package, so `cargo install` puts them side by side.
#![warn(missing_docs)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "lumenize-codemod") {
        args.remove(0);
    }
    let name = format!("lumenize-codemod{}", std::env::consts::EXE_SUFFIX);
    let sibling: Option<PathBuf> = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&name)))
        .filter(|p| p.is_file());
    let program = sibling.unwrap_or_else(|| PathBuf::from(&name));
    let mut cmd = Command::new(&program);
    cmd.args(&args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Replaces this process: signals, stdin and the exit status are the tool's own.
        let e = cmd.exec();
        eprintln!("error: cannot run {}: {e}", program.display());
        ExitCode::from(2)
    }
    #[cfg(not(unix))]
    match cmd.status() {
        Ok(s) => ExitCode::from(s.code().map_or(2, |c| c.clamp(0, 255) as u8)),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", program.display());
            ExitCode::from(2)
        }
    }
}
