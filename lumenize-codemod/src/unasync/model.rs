//! What the `unasync` rule knows about a crate: the functions it defines (`Def`), the places
//! that refer to them (`Use`), and the groups a call cannot tell apart (`GroupKey`).
//!
//! Invariant: every offset is a byte offset into the text of the file `file` indexes, as the
//! rule was given it.

/// How a call names its target: a free function (`f(..)`, `m::f(..)`) or an associated one
/// (`x.f(..)`, `T::f(..)`). Calls are matched to definitions by this key and the name only, so
/// every definition sharing a key changes together or not at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Kind {
    Free,
    Method,
}

/// The definitions a call cannot tell apart: same kind, same name.
pub(super) type GroupKey = (Kind, String);

/// One function definition (async or not) with the key its callers use.
#[derive(Debug)]
pub(super) struct Def {
    pub file: usize,
    pub key: GroupKey,
    /// How the report names it: `Desk::snooze`, `decode`.
    pub display: String,
    /// Offset of its name.
    pub offset: usize,
    /// The range to delete to make it synchronous (`async` and the blanks after it); `None`
    /// for a function that is not `async`.
    pub async_range: Option<(usize, usize)>,
    /// Reachable from outside the crate (changing it changes the crate's API).
    pub public: bool,
    /// A test or entry point (`#[tokio::test]`, `#[tokio::main]`): left async, silently.
    pub test_like: bool,
    /// Why it must not change whatever its body holds (an attribute macro, a trait defined
    /// elsewhere, nested in a function body, a file not being migrated).
    pub blocker: Option<String>,
    /// Why its own body is asynchronous: an `.await` on something that is not a call of this
    /// crate's functions, an async-only macro. Filled by the body walk.
    pub hard: bool,
    /// The groups its body awaits directly (offset of each await).
    pub deps: Vec<(GroupKey, usize)>,
}

/// A place that refers to a group.
#[derive(Debug)]
pub(super) struct Use {
    pub file: usize,
    pub key: GroupKey,
    pub offset: usize,
    pub kind: UseKind,
}

#[derive(Debug)]
pub(super) enum UseKind {
    /// `call(..).await`: the range that drops `.await`.
    Awaited { del: (usize, usize) },
    /// An argument of a [`Join`], called without `.await`: rewritten only with the whole
    /// join.
    Joined,
    /// A use the rule cannot rewrite (the reason, for the report).
    Problem(String),
}

/// A `join!` (`tokio::join!`, `futures::join!`) whose every argument is a call of one of the
/// crate's groups. `join!` of synchronous calls evaluates them in order, like a tuple: when
/// every group in it converts, the macro's path and `!` go (`join!(x, y)` becomes `(x, y)`,
/// `join!(x)` becomes `(x,)`); otherwise it stays and every group in it stays async.
#[derive(Debug)]
pub(super) struct Join {
    pub file: usize,
    /// Offset of the macro's path.
    pub offset: usize,
    /// The path as written, `!` included (for the report).
    pub name: String,
    /// From the path to the opening parenthesis (only the path, `!` and blanks).
    pub del: (usize, usize),
    /// Where a `,` goes to keep a single argument a tuple (none when it has one already).
    pub comma: Option<usize>,
    /// The group of each argument, with the offset of the call.
    pub keys: Vec<(GroupKey, usize)>,
}

/// True when the tokens hold the identifier `await` (at any depth).
pub(super) fn has_await(tokens: proc_macro2::TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        proc_macro2::TokenTree::Ident(i) => i == "await",
        proc_macro2::TokenTree::Group(g) => has_await(g.stream()),
        _ => false,
    })
}
