//! `--format github`: GitHub Actions workflow commands, one line per finding, which the runner
//! turns into annotations on the pull request's diff:
//! `::warning file=F,line=L,col=C,endLine=L2,endColumn=C2,title=RULE::MESSAGE` for a site that
//! needs review, `::notice …` for an edit, `::error …` for an error. A file-level finding has
//! no line properties.

use lumenize_codemod::Severity;

use super::span::Span;

/// One workflow command.
pub fn command(severity: Severity, file: &str, span: Span, rule: &str, message: &str) -> String {
    let level = match severity {
        Severity::Edited => "notice",
        Severity::NeedsReview => "warning",
        Severity::Error => "error",
    };
    let mut props = format!("file={}", property(file));
    if span.line > 0 {
        props.push_str(&format!(
            ",line={},col={},endLine={},endColumn={}",
            span.line, span.column, span.end_line, span.end_column
        ));
    }
    props.push_str(&format!(",title={}", property(rule)));
    format!("::{level} {props}::{}", data(message))
}

/// The message part: `%`, CR and LF escaped (the runner's own escaping).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which separate properties.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_their_parts() {
        let span = Span {
            line: 3,
            column: 5,
            end_line: 3,
            end_column: 10,
        };
        assert_eq!(
            command(
                Severity::NeedsReview,
                "src/a,b.rs",
                span,
                "sync-schedule",
                "50% done\nnext: x"
            ),
            "::warning file=src/a%2Cb.rs,line=3,col=5,endLine=3,endColumn=10,\
             title=sync-schedule::50%25 done%0Anext: x"
        );
        assert_eq!(
            command(
                Severity::Error,
                "Cargo.toml",
                Span::default(),
                "io",
                "cannot read"
            ),
            "::error file=Cargo.toml,title=io::cannot read"
        );
    }
}
