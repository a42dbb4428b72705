//! The connection switches a failed turn must not leave behind.
//!
//! SQLite's switch PRAGMAs (`recursive_triggers`, `ignore_check_constraints`...) are not part
//! of the transaction: a turn that sets one and then fails is rolled back, but the switch would
//! stay set for every later turn of the object. Natively the runtime learns which switch a
//! statement sets from its SQLite authorizer; workerd offers no such hook, so [`CfStorage`]
//! reads the switches before the first statement of a transaction that may set one, and puts
//! them back when that transaction rolls back.
//!
//! "May set one" is [`may_set_a_switch`]: the text holds `pragma` in some ASCII case. Every
//! PRAGMA statement does (SQLite's keyword cannot be quoted, split by a comment or spelled in
//! non-ASCII case), and no other statement can set a switch (a trigger body cannot hold a
//! PRAGMA; the `pragma_*` table functions only read), so the test has no false negative. A
//! false positive (the word in a string or a name) costs the reads, nothing else. This is not
//! a policy (workerd's authorizer decides what runs): it only decides when to take a copy.
//!
//! Not restored: `defer_foreign_keys`, which SQLite clears at every COMMIT and ROLLBACK itself.
//!
//! [`CfStorage`]: crate::CfStorage

/// Whether `sql` may set a switch PRAGMA: it contains `pragma` in any ASCII case.
///
/// ```ignore
/// assert!(may_set_a_switch("select 1; Pragma recursive_triggers = on"));
/// assert!(!may_set_a_switch("INSERT INTO t VALUES (1)"));
/// ```
pub(crate) fn may_set_a_switch(sql: &str) -> bool {
    sql.as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"pragma"))
}

/// The switches that can be read back, in the order of [`Switches::READS`].
const NAMES: [&str; 4] = [
    "foreign_keys",
    "ignore_check_constraints",
    "recursive_triggers",
    "reverse_unordered_selects",
];

/// The switches' values at one moment. `case_sensitive_like` has no getter in SQLite: it is
/// read from its effect (`'a' LIKE 'A'` is true exactly when it is off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Switches {
    readable: [bool; 4],
    case_sensitive_like: bool,
}

impl Switches {
    /// The statements that read them, one value each (an integer 0 or 1), in order.
    pub(crate) const READS: [&'static str; 5] = [
        "PRAGMA foreign_keys",
        "PRAGMA ignore_check_constraints",
        "PRAGMA recursive_triggers",
        "PRAGMA reverse_unordered_selects",
        "SELECT 'a' LIKE 'A'",
    ];

    /// The switches from the values [`READS`](Self::READS) returned, in order; `None` when a
    /// value is missing.
    pub(crate) fn from_values(values: &[Option<i64>]) -> Option<Switches> {
        let [a, b, c, d, like] = values else {
            return None;
        };
        Some(Switches {
            readable: [(*a)? != 0, (*b)? != 0, (*c)? != 0, (*d)? != 0],
            case_sensitive_like: (*like)? == 0,
        })
    }

    /// One batch that sets every switch back to these values.
    pub(crate) fn restore_batch(&self) -> String {
        let on = |b: bool| if b { "ON" } else { "OFF" };
        let mut batch = String::new();
        for (name, value) in NAMES.iter().zip(self.readable) {
            batch.push_str(&format!("PRAGMA {name} = {}; ", on(value)));
        }
        batch.push_str(&format!(
            "PRAGMA case_sensitive_like = {}",
            on(self.case_sensitive_like)
        ));
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_the_keyword_takes_a_copy() {
        for sql in [
            "PRAGMA recursive_triggers = ON",
            "select 1;pragma foreign_keys=off",
            "/* x */ PrAgMa ignore_check_constraints = 1",
        ] {
            assert!(may_set_a_switch(sql), "{sql}");
        }
        for sql in ["INSERT INTO t VALUES (1)", "SELECT prag, ma FROM t", ""] {
            assert!(!may_set_a_switch(sql), "{sql}");
        }
    }

    #[test]
    fn each_switch_is_read_where_it_is_restored() {
        for (read, name) in Switches::READS.iter().zip(NAMES) {
            assert_eq!(*read, format!("PRAGMA {name}"));
        }
        assert_eq!(Switches::READS.len(), NAMES.len() + 1, "and the LIKE probe");
    }

    #[test]
    fn values_read_back_restore_the_same_switches() {
        let s = Switches::from_values(&[Some(1), Some(0), Some(1), Some(0), Some(0)]).unwrap();
        assert_eq!(
            s.restore_batch(),
            "PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = OFF; \
             PRAGMA recursive_triggers = ON; PRAGMA reverse_unordered_selects = OFF; \
             PRAGMA case_sensitive_like = ON"
        );
        assert_eq!(
            Switches::from_values(&[Some(1), None, Some(1), Some(0), Some(1)]),
            None
        );
        assert_eq!(Switches::from_values(&[Some(1)]), None);
    }
}
