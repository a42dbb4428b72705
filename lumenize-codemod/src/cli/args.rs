//! Command-line definitions (clap derive) and the long help texts.
//!
//! Everything a user reads in `--help` lives here, so the texts stay next to the flags they
//! describe. The JSON schema is written once (the `json_schema!` macro) and shown by every command
//! that can emit JSON.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

// The `--format json` schema, shown in `--help` of apply/diff/check and in the README.
macro_rules! json_schema {
    () => {
        "\
JSON OUTPUT (--format json), schema_version 2:
    One JSON object per line on standard output. Every object has a \"type\" field and
    \"schema_version\":2; the other field names are stable (new fields may be added, with the
    version raised; none removed or renamed). Objects come in file order; the summary is
    always the last line. Positions: line and column are 1-based (column in characters);
    end_line/end_column are the position just after the range (exclusive); all four are 0
    for a finding about a whole file.

    {\"type\":\"edit\", \"file\":STR, \"rule\":STR, \"line\":N, \"column\":N,
     \"end_line\":N, \"end_column\":N, \"start\":N, \"end\":N, \"original\":STR,
     \"replacement\":STR}
        One per edit. start/end are byte offsets into the original file (end exclusive);
        original is the replaced text.
    {\"type\":\"diagnostic\", \"file\":STR, \"line\":N, \"column\":N, \"end_line\":N,
     \"end_column\":N, \"rule\":STR, \"severity\":\"edited\"|\"needs-review\"|\"error\",
     \"message\":STR}
        One per finding; the end is the end of the token it points at. rule is a rule id,
        or `parse`, `io`, `encoding`, `manifest`, `write` for file-level errors.
        apply --verify adds `verify` (compiler messages, cargo failures) and `verify-await`
        (removed `.await`s, severity edited) after the file objects.
    {\"type\":\"file\", \"file\":STR, \"edits\":N, \"written\":BOOL, \"diff\":STR|null}
        One per file that changes (or would change). written: apply wrote it.
        diff: the unified diff (diff command only, else null).
    {\"type\":\"skipped-crate\", \"crate_dir\":STR, \"reason\":STR}
        A crate that was not read because it does not depend on lumenize-core.
    {\"type\":\"summary\", \"command\":\"apply\"|\"diff\"|\"check\", \"files_scanned\":N,
     \"files_changed\":N, \"edits\":N, \"edits_by_rule\":{ID:N,...}, \"needs_review\":N,
     \"errors\":N, \"crates_skipped\":N, \"exit_code\":N}
        files_changed counts files that change (apply: were written).

    File paths are as shown by the human format: relative to the current directory when the
    file is below it, otherwise as given. With `apply -` standard output carries the migrated
    file, so the diagnostic and summary objects go to standard error instead.

OTHER MACHINE FORMATS:
    --format github: one GitHub Actions workflow command per finding on standard output,
    shown as annotations on the pull request:
        ::notice file=F,line=L,col=C,endLine=L2,endColumn=C2,title=RULE::MESSAGE  (edit)
        ::warning ...  (needs review)          ::error ...  (error)
    --format sarif: one SARIF 2.1.0 log on standard output at the end of the run (tool
    driver `lumenize-codemod` with the active rules and their help, one result per edit,
    needs-review site and error, regions with end positions; edits carry a `fixes` entry
    with the replacement), for code-scanning uploads. The summary line goes to standard
    error with both."
    };
}

const ABOUT: &str = "Migrates Rust crates from the async lumenize-core 0.9 API to the sync 1.0 API";

const LONG_ABOUT: &str = "\
Migrates Rust crates from the async lumenize-core 0.9 API to the synchronous 1.0 API.

The tool edits source text in place, byte range by byte range: everything it does not rewrite \
stays byte-identical (comments, formatting, string contents). It never reformats a file and \
never rewrites a file that has nothing to change.

A PATH can be a single file, a crate, or a whole workspace. Directories are walked the way \
ripgrep walks them: .ignore files, and .gitignore files inside a git repository, are honoured; \
hidden files and directories and cargo `target/` directories are skipped. A file named \
explicitly is always taken. A crate whose Cargo.toml does not depend on lumenize-core (or on \
the renamed lumenize-core-legacy package, or on a package a config file's rules name) is \
skipped without reading its sources, unless --force is given. Each crate's files are read \
once; a byte prefilter decides which ones are parsed at all.

Start with `check` to see what is pending, look at `diff`, then `apply`.";

const AFTER_HELP: &str = "\
EXAMPLES:
    Is anything left to migrate? (CI: exit 0 = done, 1 = changes pending, 2 = errors)
        lumenize-codemod check .

    Review the changes as a patch, then apply them:
        lumenize-codemod diff ./my-crate | less -R
        lumenize-codemod apply ./my-crate

    Editor integration: migrate one buffer from stdin to stdout:
        lumenize-codemod apply - --stdin-filename src/lib.rs < src/lib.rs

    See the rules, read about one, run only one of them:
        lumenize-codemod list-rules
        lumenize-codemod explain sync-structured-clone
        lumenize-codemod apply --rule sync-structured-clone .

    In CI, as pull-request annotations or for code scanning:
        lumenize-codemod check --format github .
        lumenize-codemod check --format sarif . > lumenize-codemod.sarif

    Through cargo (the `cargo-lumenize-codemod` binary is installed alongside):
        cargo lumenize-codemod apply .

MIGRATION GUIDE:
    Every rule with before/after, and how to finish each case left for review by hand:
    MIGRATION.md at the root of the lumenize-rs repository, or `lumenize-codemod explain RULE`.

EXIT STATUS:
    0  success (check: nothing pending)
    1  check only: changes are pending
    2  errors: unreadable or unparsable files, bad config, bad arguments";

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(
    name = "lumenize-codemod",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rewrite files in place (atomic writes; unchanged files are never touched).
    #[command(long_about = APPLY_LONG, after_long_help = APPLY_AFTER)]
    Apply(ApplyArgs),
    /// Print the pending changes as a unified diff (`git apply` / `patch -p1` accept it).
    #[command(long_about = DIFF_LONG, after_long_help = DIFF_AFTER)]
    Diff(RunArgs),
    /// Report what is pending; exit 0 when nothing is, 1 when changes are, 2 on errors.
    #[command(long_about = CHECK_LONG, after_long_help = CHECK_AFTER)]
    Check(RunArgs),
    /// List the active rules (built-in, from the config file, after --rule/--skip-rule).
    #[command(long_about = LIST_LONG, after_long_help = LIST_AFTER)]
    ListRules(RuleArgs),
    /// Explain a rule: what it changes, before and after, and what to do by hand for each case
    /// it reports for review (its section of MIGRATION.md).
    #[command(after_long_help = EXPLAIN_AFTER)]
    Explain(ExplainArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_long_help = COMPLETIONS_AFTER)]
    Completions(CompletionsArgs),
    /// Print the man page (roff) on standard output.
    #[command(after_long_help = MAN_AFTER)]
    Man,
    /// Only syn-parse the files a run would read (benchmark baseline; not a user command,
    /// built only with the `bench-parse-only` feature).
    #[cfg(feature = "bench-parse-only")]
    #[command(hide = true)]
    BenchParseOnly(BenchArgs),
}

const APPLY_LONG: &str = "\
Rewrite the files under each PATH in place.

Each changed file is written to a temporary file in the same directory, given the original's \
permissions, and renamed over the original, so a crash never leaves a half-written file. Line \
endings are kept: text the rules insert into a CRLF file gets CRLF. Files with nothing to change \
are not written at all, so their modification time does not move and build tools do not \
rebuild.

In a git checkout, apply refuses to overwrite a file that has uncommitted changes (modified, \
staged or untracked), like `cargo fix`: it writes nothing and exits 2, naming the files. Commit \
or stash them first, so `git diff` shows exactly what the tool did and one `git checkout` undoes \
it; --allow-dirty goes on anyway. Files apply does not change may be dirty. git runs without \
the repository's hooks, fsmonitor and filters.

The files of one crate (its Cargo.toml included) are written together or not at all: every new \
text is staged first, and a file that cannot be staged (a read-only file is refused, never \
chmod-ed), or that changed on disk since it was read, leaves the whole crate unwritten with an \
error. Directories are flushed to disk after the renames.

With `-` as the only PATH, one file is read from standard input and the migrated text is \
written to standard output (diagnostics go to standard error).

--verify: after writing, ask the compiler whether the migrated code builds. In each crate that \
had a file written, `cargo check --all-targets --message-format=json` is run (the cargo named by \
the CARGO environment variable, else `cargo` on PATH; CARGO_TARGET_DIR and the crate's own \
cargo config are honoured, so point CARGO_TARGET_DIR at an existing build to avoid compiling the \
dependencies again). Compiler errors and warnings on lines the migration edited or left for \
review are reported with rule `verify` (errors as `error`, warnings as `needs-review`); messages \
elsewhere in the crate were there before and are only counted. One leftover is fixed on the \
spot: an `.await` on a value that is no longer a future (rustc's E0277 \"is not a future\"), \
anywhere in the crate, is removed with rustc's machine-applicable suggestion and reported as \
`edited` with rule `verify-await`; the crate is then checked again (at most 3 rounds). The \
fixes and findings are counted in the summary like the migration's own. Progress goes to \
standard error (not with --quiet). Files outside any cargo package cannot be checked and are \
reported as needs-review. Not with `-` (nothing is written to disk there).";

const APPLY_AFTER: &str = concat!(
    "\
EXAMPLES:
    lumenize-codemod apply ./my-crate
    lumenize-codemod apply .                              # a whole workspace
    lumenize-codemod apply --skip-rule bump-dependency .  # leave Cargo.toml alone
    lumenize-codemod apply --exclude 'benches/**' .
    lumenize-codemod apply - --stdin-filename src/lib.rs < src/lib.rs > out.rs
    lumenize-codemod apply --verify ./my-crate            # then `cargo check` it, fix leftovers
    CARGO_TARGET_DIR=target lumenize-codemod apply --verify .  # reuse an existing build

EXIT STATUS:
    0  done (including: nothing to change); with --verify: and every verified crate builds
    2  some file could not be read, parsed or written (the other crates were still migrated);
       a file to change has uncommitted changes (nothing written; see --allow-dirty);
       with --verify also: a crate does not build after the fixes, an error remains on a
       migrated line, or cargo could not be run

",
    json_schema!()
);

const DIFF_LONG: &str = "\
Print the pending changes as a unified diff, without writing anything.

Paths in the diff are relative to the current directory and prefixed with `a/` and `b/`, so the \
output can be applied from the current directory with `git apply` or `patch -p1`. The diff is \
coloured when standard output is a terminal (see --color; NO_COLOR is honoured) and plain when \
piped. Diagnostics and the summary go to standard error, so the patch on standard output stays \
clean.";

const DIFF_AFTER: &str = concat!(
    "\
EXAMPLES:
    lumenize-codemod diff . | less -R
    lumenize-codemod diff . > migration.patch && git apply --check migration.patch
    lumenize-codemod diff --format json . | jq -r 'select(.type == \"file\") | .diff'

EXIT STATUS:
    0  the diff was printed (it may be empty)
    2  some file could not be read or parsed (the others are still in the diff)

",
    json_schema!()
);

const CHECK_LONG: &str = "\
Report what `apply` would do, without writing anything, and exit with a status that CI can use.

Every file that would change is listed with its number of edits, followed by every diagnostic \
and the one-line summary. Sites the tool found but could not rewrite safely are reported as \
`needs-review`; they do not change the exit status unless --strict is given.";

const CHECK_AFTER: &str = concat!(
    "\
EXAMPLES:
    lumenize-codemod check .
    lumenize-codemod check --quiet . || echo 'run lumenize-codemod apply .'
    lumenize-codemod check --format json . | jq 'select(.type == \"summary\")'

EXIT STATUS:
    0  nothing pending
    1  changes pending (or, with --strict, sites that need review)
    2  errors: unreadable or unparsable files, bad config, bad arguments

",
    json_schema!()
);

const LIST_LONG: &str = "\
List the active rules with their ids, one-line summaries and where each came from \
(`built-in` or the config file). The config file is --config, or else the \
lumenize-codemod.toml discovered from PATH (default: the current directory) upwards to the \
workspace root.";

const LIST_AFTER: &str = "\
JSON OUTPUT (--format json):
    One object per rule and line: {\"type\":\"rule\", \"schema_version\":2, \"id\":STR,
    \"summary\":STR, \"source\":STR}
    (source is `built-in` or the config file's path).

EXAMPLES:
    lumenize-codemod list-rules
    lumenize-codemod list-rules --format json
    lumenize-codemod list-rules --config ci/lumenize-codemod.toml";

const EXPLAIN_AFTER: &str = "\
EXAMPLES:
    lumenize-codemod explain sync-structured-clone
    lumenize-codemod explain --config lumenize-codemod.toml db-sync   # a rule of your own

The full guide, every rule in one page: MIGRATION.md at the root of the lumenize-rs repository.";

const COMPLETIONS_AFTER: &str = "\
EXAMPLES:
    lumenize-codemod completions bash > ~/.local/share/bash-completion/completions/lumenize-codemod
    lumenize-codemod completions zsh > \"${fpath[1]}/_lumenize-codemod\"
    lumenize-codemod completions fish > ~/.config/fish/completions/lumenize-codemod.fish";

const MAN_AFTER: &str = "\
EXAMPLES:
    lumenize-codemod man > ~/.local/share/man/man1/lumenize-codemod.1 && man lumenize-codemod";

/// Arguments of `explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The rule id (see `list-rules`).
    #[arg(value_name = "RULE")]
    pub rule: String,
    /// Rule config file, for explaining a rule of your own (default: the lumenize-codemod.toml
    /// found from the current directory upwards).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Arguments of `completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people.
    Human,
    /// One JSON object per line (see the schema in `--help`).
    Json,
    /// GitHub Actions workflow commands: one annotation per finding.
    Github,
    /// One SARIF 2.1.0 log (code scanning).
    Sarif,
}

/// Output format of `list-rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Text for people.
    Human,
    /// One JSON object per rule and line.
    Json,
}

/// When to colour the diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is unset or empty.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Rule selection and config, shared by every command.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Run only this rule (repeatable). Unknown ids are an error.
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Do not run this rule (repeatable). Unknown ids are an error.
    #[arg(long = "skip-rule", value_name = "ID")]
    pub skip_rules: Vec<String>,
    /// Rule config file. Default: the lumenize-codemod.toml found in the crate directory or
    /// above it, up to the workspace root.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
    /// Where to look for lumenize-codemod.toml (list-rules only).
    #[arg(value_name = "PATH", hide = true)]
    pub path: Option<PathBuf>,
}

/// Arguments of `apply`, `diff` and `check`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Files, crates or workspaces to migrate; `-` reads one file from standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Run only this rule (repeatable). Unknown ids are an error.
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Do not run this rule (repeatable). Unknown ids are an error.
    #[arg(long = "skip-rule", value_name = "ID")]
    pub skip_rules: Vec<String>,
    /// Rule config file. Default: the lumenize-codemod.toml found in each crate's directory or
    /// above it, up to the workspace root.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only files matching this glob (gitignore syntax, relative to PATH; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files and directories matching this glob (gitignore syntax; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Also migrate crates that do not depend on lumenize-core.
    #[arg(long)]
    pub force: bool,
    /// Output format. `json` prints one object per line; the schema is below.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colour the diff.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print only errors (no per-file lines, no summary, no progress bar).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print skipped crates, the sites that were edited, and timings.
    #[arg(short, long)]
    pub verbose: bool,
    /// check: sites that need review also make the exit status 1.
    #[arg(long)]
    pub strict: bool,
    /// The `unasync` rule converts public functions too (they change the crate's API: for
    /// application crates). Without it they are reported. With `--verify`, `cargo check` then
    /// covers the whole workspace, and other members' `.await`s on what became synchronous are
    /// removed where the compiler says "is not a future".
    #[arg(long)]
    pub unasync_public: bool,
    /// With `-`: the file name to report (and `Cargo.toml` selects the manifest rules).
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Send every selected file to the engine, not only the byte prefilter's hits (for
    /// stress-testing the engine on large trees).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
}

/// Arguments of `apply`: those of every file command, plus `--verify`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The arguments `apply` shares with `diff` and `check`.
    #[command(flatten)]
    pub run: RunArgs,
    /// After writing, run `cargo check` in each crate that changed: report compiler errors on
    /// migrated lines, remove leftover `.await`s on values that are no longer futures
    /// (details in `apply --help`).
    #[arg(long)]
    pub verify: bool,
    /// Also overwrite files that have uncommitted changes in git (by default apply refuses,
    /// writes nothing and exits 2, like `cargo fix`).
    #[arg(long)]
    pub allow_dirty: bool,
}

/// Arguments of the hidden `bench-parse-only` command.
#[cfg(feature = "bench-parse-only")]
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Files or directories, walked exactly like `check`.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Walk crates that do not depend on lumenize-core too.
    #[arg(long)]
    pub force: bool,
    /// Parse only the files that pass the byte prefilter.
    #[arg(long)]
    pub prefiltered: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
}
