//! Unified diffs that `git apply` and `patch -p1` accept, optionally coloured.

use similar::TextDiff;

/// A unified diff of one file with `a/<name>` / `b/<name>` headers and 3 lines of context.
/// Files without a final newline get the `\ No newline at end of file` marker.
pub fn unified(name: &str, old: &str, new: &str) -> String {
    let diff = TextDiff::from_lines(old, new);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    // git-style preamble: `git apply` does not need it, but it makes the patch read like the
    // output of `git diff` and lets tools split it per file.
    format!("diff --git a/{name} b/{name}\n{body}")
}

/// ANSI colours for a diff: headers bold, hunks cyan, removals red, additions green.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let style = if body.starts_with("diff --git")
            || body.starts_with("--- ")
            || body.starts_with("+++ ")
        {
            "\x1b[1m"
        } else if body.starts_with("@@") {
            "\x1b[36m"
        } else if body.starts_with('-') {
            "\x1b[31m"
        } else if body.starts_with('+') {
            "\x1b[32m"
        } else {
            ""
        };
        if style.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(style);
            out.push_str(body);
            out.push_str("\x1b[0m");
            out.push_str(nl);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_hunks_and_missing_newline() {
        let d = unified("src/lib.rs", "a\nb\nc", "a\nB\nc");
        assert!(d.starts_with(
            "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ "
        ));
        assert!(d.contains("\n-b\n+B\n"));
        assert!(d.contains("\\ No newline at end of file"));
    }

    #[test]
    fn colour_wraps_changed_lines_only() {
        let c = colorize("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n c\n");
        assert!(c.contains("\x1b[31m-a\x1b[0m\n"));
        assert!(c.contains("\x1b[32m+b\x1b[0m\n"));
        assert!(c.ends_with(" c\n"));
    }
}
