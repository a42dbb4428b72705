//! Budgeted tree walks over value graphs: what keeps conversions that write a graph out as a
//! tree (the serde bridge, raw `JSON.stringify`-style bodies, the fetch body's JSON) linear in
//! the graph.
//!
//! A graph with shared references is small but its tree expansion need not be: 48 arrays that
//! each hold the next one twice are ~2 KB of wire text and 2^48 leaves. Such conversions have
//! to repeat a shared object at every position (their output has no aliases), so the only way
//! to stay linear is to cap the repetition. A [`Walk`] tells first visits from repeats: work
//! done outside any repeated object is the graph itself (each object is met once there), work
//! done inside one is expansion, and expansion may reach at most [`EXPANSION_BASE`] units plus
//! [`EXPANSION_FACTOR`] times the graph met so far. A unit is one value, plus one per byte of
//! its string or binary payload. Beyond that the conversion fails with a clear error; it has
//! then done at most `(1 + EXPANSION_FACTOR) * graph + EXPANSION_BASE` units of work.
//!
//! A [`Walk`] also finds cycles: a cycle has to come back to an object with at least two
//! handles (the one it was entered by and the one closing the cycle), so tracking which
//! multi-handle objects are on the current path is enough. Objects with a single handle, all of
//! a tree-shaped value, cost no hashing.
//!
//! Conversions driven by a target type of finite depth (handler parameters such as
//! `Vec<Vec<f64>>`, see `ocan/convert.rs`) end on cycles by themselves: for them
//! [`Walk::enter_typed`] counts an object met again on the current path as one more repeat
//! rather than refusing it, under the same budget.

use super::addr::AddrMap;
use super::value::{Object, ObjectKind, Value};

/// Expansion allowed whatever the graph's size, in units (about a million values or a MiB of
/// text): generous for real data that repeats a shared object, cheap to reach for a bomb.
pub(crate) const EXPANSION_BASE: usize = 1 << 20;

/// Expansion allowed per unit of the graph itself.
pub(crate) const EXPANSION_FACTOR: usize = 4;

/// State of one tree walk over a value graph (see the module docs).
#[derive(Default)]
pub(crate) struct Walk {
    /// Multi-handle objects met so far, by address: whether each is on the current path.
    shared: AddrMap<bool>,
    /// How many repeated visits of shared objects enclose the current position.
    repeats: usize,
    /// Units of the graph itself (visited outside any repeat).
    graph: usize,
    /// Units visited again inside repeats.
    expanded: usize,
}

/// How an object was entered; hand it back to [`Walk::leave`].
#[must_use]
pub(crate) enum Entered {
    /// An object with a single handle: untracked.
    Single,
    /// A multi-handle object met for the first time, or again (a repeat); `on_path` when this
    /// entry marked it as on the current path (cleared again by [`Walk::leave`]).
    Shared {
        addr: usize,
        repeat: bool,
        on_path: bool,
    },
}

/// Why a walk stopped.
pub(crate) enum Refusal {
    /// The object is already on the current path.
    Cycle,
    /// The expansion budget is spent.
    Budget,
}

impl Walk {
    /// Enters object `o`, charging its own payload. A cycle or a spent budget is refused.
    pub(crate) fn enter(&mut self, o: &Object, kind: &ObjectKind) -> Result<Entered, Refusal> {
        let entered = if o.handle_count() > 1 {
            let addr = o.addr();
            let repeat = match self.shared.get_mut(&addr) {
                Some(true) => return Err(Refusal::Cycle),
                Some(on_path) => {
                    *on_path = true;
                    true
                }
                None => {
                    self.shared.insert(addr, true);
                    false
                }
            };
            self.repeats += repeat as usize;
            Entered::Shared {
                addr,
                repeat,
                on_path: true,
            }
        } else {
            Entered::Single
        };
        self.charge_entered(entered, kind)
    }

    /// Enters object `o` like [`Walk::enter`], for a conversion whose target type has a finite
    /// depth: an object met again is a repeat even when it is on the current path (such a
    /// conversion ends on a cycle by itself, after as many repeats as the type is deep), so only
    /// a spent budget is refused.
    pub(crate) fn enter_typed(
        &mut self,
        o: &Object,
        kind: &ObjectKind,
    ) -> Result<Entered, Refusal> {
        let entered = if o.handle_count() > 1 {
            let addr = o.addr();
            let repeat = self.shared.contains_key(&addr);
            if !repeat {
                self.shared.insert(addr, false);
            }
            self.repeats += repeat as usize;
            Entered::Shared {
                addr,
                repeat,
                on_path: false,
            }
        } else {
            Entered::Single
        };
        self.charge_entered(entered, kind)
    }

    /// Charges a just-entered object's own payload; leaves it again when that is refused.
    fn charge_entered(&mut self, entered: Entered, kind: &ObjectKind) -> Result<Entered, Refusal> {
        if let Err(e) = self.charge(1 + payload(kind)) {
            self.leave(entered);
            return Err(e);
        }
        Ok(entered)
    }

    /// Leaves an object entered by [`Walk::enter`].
    pub(crate) fn leave(&mut self, entered: Entered) {
        if let Entered::Shared {
            addr,
            repeat,
            on_path: marked,
        } = entered
        {
            if marked {
                if let Some(on_path) = self.shared.get_mut(&addr) {
                    *on_path = false;
                }
            }
            self.repeats -= repeat as usize;
        }
    }

    /// Charges a primitive value (objects are charged by [`Walk::enter`]).
    pub(crate) fn primitive(&mut self, v: &Value) -> Result<(), Refusal> {
        let units = match v {
            Value::String(s) => 1 + s.len(),
            Value::BigInt(b) => 1 + b.as_str().len(),
            _ => 1,
        };
        self.charge(units)
    }

    fn charge(&mut self, units: usize) -> Result<(), Refusal> {
        if self.repeats == 0 {
            self.graph = self.graph.saturating_add(units);
            return Ok(());
        }
        self.expanded = self.expanded.saturating_add(units);
        if self.expanded > self.limit() {
            return Err(Refusal::Budget);
        }
        Ok(())
    }

    /// Whether the budget has been exceeded (a [`Refusal::Budget`] was returned).
    pub(crate) fn over_budget(&self) -> bool {
        self.expanded > self.limit()
    }

    fn limit(&self) -> usize {
        EXPANSION_BASE.saturating_add(self.graph.saturating_mul(EXPANSION_FACTOR))
    }

    /// The error text for [`Refusal::Budget`].
    pub(crate) fn budget_message(&self) -> String {
        format!(
            "shared references expand beyond the expansion budget: writing this graph out as a \
             tree repeats more than {} units of a {}-unit graph (limit: {EXPANSION_BASE} + \
             {EXPANSION_FACTOR} x the graph)",
            self.limit(),
            self.graph
        )
    }
}

/// Units of an object's own payload (its children are charged when visited).
fn payload(kind: &ObjectKind) -> usize {
    match kind {
        ObjectKind::ArrayBuffer(b) => b.len(),
        ObjectKind::TypedArray { values, .. } => values.len(),
        ObjectKind::DataView { buffer, .. } => buffer.len(),
        ObjectKind::Url(s) | ObjectKind::StringObject(s) => s.len(),
        ObjectKind::RegExp { source, flags } => source.len() + flags.len(),
        ObjectKind::BigIntObject(b) => b.as_str().len(),
        ObjectKind::Headers(h) => h.iter().map(|(k, v)| k.len() + v.len()).sum(),
        ObjectKind::Error(e) => {
            e.name.len() + e.message.len() + e.stack.as_ref().map_or(0, String::len)
        }
        _ => 0,
    }
}
