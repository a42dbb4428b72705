//! Layer 7, planning: walks a parsed file and plans the splices (and notes) the rules ask
//! for, without changing any text.
//!
//! - `state`: the planner's state ([`Rewriter`]) and the small types it holds.
//! - `visit`: the syn visitor (modules, scopes, bindings; finds call sites).
//! - `sites`: one rewrite per rule kind at an awaited call site.
//! - `receiver`: is a method's receiver evidently the rule's type?
//! - `macros`: candidates inside macro bodies and doc comments.
//! - `imports`: dead imports of removed items, imports a rewrite needs.
//! - `inert`: stretches of text that name nothing a rule acts on (skipped).
//! - `prefilter`: the byte test that skips whole files.

pub(crate) mod imports;
mod inert;
mod macros;
pub(crate) mod prefilter;
mod receiver;
mod sites;
mod state;
mod visit;

pub(crate) use state::Rewriter;
