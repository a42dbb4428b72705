//! Handler arguments under hostile input (issue 14, item 2): converting an argument graph into
//! a handler's parameter types (`Vec<Vec<f64>>`, `Vec<Serde<X>>`...) writes it out as a tree,
//! so shared arrays would be converted once per handle. A few KB of wire text with aliases must
//! not become n^2 (or n^k) work: repetition is budgeted like the serde bridge's, and beyond the
//! budget the call fails with a clear `BadArgument`. Legitimate data, large or modestly shared,
//! and cyclic values a finite type can convert, still convert.
//!
//! Work is bounded by a counting allocator (bytes this thread allocates per call), which also
//! aborts the binary instead of exhausting memory if conversion runs away.

mod alloc_counter;

use alloc_counter::measure;
use lumenize_core::context::Ctx;
use lumenize_core::ocan::{
    ctn, execute_chain, ChainError, Dispatch, FromValue, OperationChain, Serde,
};
use lumenize_core::structured_clone::{self, ObjectKind, Value};

mod detached;
use detached::with_ctx;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// A target whose handlers take nested parameter types; it counts the numbers it receives.
#[derive(Default)]
struct Target {
    calls: usize,
    numbers: usize,
    values: Vec<Vec<Value>>,
}

#[derive(serde::Deserialize)]
struct Point {
    x: f64,
    y: f64,
}

impl Target {
    fn rows(&mut self, _ctx: &Ctx<'_>, rows: Vec<Vec<f64>>) -> f64 {
        self.calls += 1;
        self.numbers += rows.iter().map(Vec::len).sum::<usize>();
        rows.iter().flatten().sum()
    }
    fn cubes(&mut self, _ctx: &Ctx<'_>, cubes: Vec<Vec<Vec<f64>>>) -> f64 {
        self.calls += 1;
        self.numbers += cubes.iter().flatten().map(Vec::len).sum::<usize>();
        cubes.iter().flatten().flatten().sum()
    }
    fn maybe_rows(&mut self, _ctx: &Ctx<'_>, rows: Option<Vec<Vec<f64>>>) -> f64 {
        self.calls += 1;
        let rows = rows.unwrap_or_default();
        self.numbers += rows.iter().map(Vec::len).sum::<usize>();
        rows.iter().flatten().sum()
    }
    fn serde_rows(&mut self, _ctx: &Ctx<'_>, rows: Vec<Serde<Vec<f64>>>) -> f64 {
        self.calls += 1;
        self.numbers += rows.iter().map(|r| r.0.len()).sum::<usize>();
        rows.iter().flat_map(|r| &r.0).sum()
    }
    fn points(&mut self, _ctx: &Ctx<'_>, points: Vec<Serde<Point>>) -> f64 {
        self.calls += 1;
        points.iter().map(|p| p.0.x + p.0.y).sum()
    }
    fn four(
        &mut self,
        _ctx: &Ctx<'_>,
        a: Vec<Vec<f64>>,
        b: Vec<Vec<f64>>,
        c: Vec<Vec<f64>>,
        d: Vec<Vec<f64>>,
    ) -> f64 {
        self.calls += 1;
        [a, b, c, d].iter().flatten().flatten().sum()
    }
    fn values(&mut self, _ctx: &Ctx<'_>, items: Vec<Value>) {
        self.calls += 1;
        self.values.push(items);
    }
    fn nested_values(&mut self, _ctx: &Ctx<'_>, items: Vec<Vec<Value>>) {
        self.calls += 1;
        self.values.extend(items);
    }
    fn then_boom(&mut self, _ctx: &Ctx<'_>, _rows: Vec<Vec<f64>>, _boom: Boom) {
        unreachable!("Boom never converts")
    }
}

lumenize_core::handlers!(Target {
    rows(rows: Vec<Vec<f64>>),
    cubes(cubes: Vec<Vec<Vec<f64>>>),
    maybe_rows(rows: Option<Vec<Vec<f64>>>),
    serde_rows(rows: Vec<Serde<Vec<f64>>>),
    points(points: Vec<Serde<Point>>),
    four(a: Vec<Vec<f64>>, b: Vec<Vec<f64>>, c: Vec<Vec<f64>>, d: Vec<Vec<f64>>),
    values(items: Vec<Value>),
    nested_values(items: Vec<Vec<Value>>),
    then_boom(rows: Vec<Vec<f64>>, boom: Boom),
});

/// A parameter type whose conversion panics (a user's buggy `FromValue`).
struct Boom;
impl FromValue for Boom {
    const EXPECTED: &'static str = "nothing";
    fn from_value(_: Value) -> Option<Self> {
        panic!("Boom::from_value")
    }
}

/// An array of `len` numbers `0, 1, 2...`.
fn numbers(len: usize) -> Value {
    Value::array((0..len).map(|i| Value::from(i as f64)))
}

/// An array of `n` handles to `shared`.
fn handles(n: usize, shared: &Value) -> Value {
    Value::array((0..n).map(|_| shared.clone()))
}

/// Sends `method(args)` as wire text (aliases and all, as an attacker would), runs it, and
/// returns the outcome with the bytes this thread allocated for parsing and running it.
fn send(t: &mut Target, method: &str, args: Vec<Value>) -> (Result<Value, ChainError>, u64) {
    let text = ctn().call(method, args).stringify().expect("encodable");
    assert!(
        text.len() < 64 << 10,
        "the message is small: {} bytes",
        text.len()
    );
    let (result, _, bytes) = measure(|| {
        let chain = OperationChain::parse(&text).expect("a valid chain");
        with_ctx(|ctx| execute_chain(t, ctx, &chain))
    });
    structured_clone::collect_cycles();
    (result, bytes)
}

/// At most this many bytes per refused call: the budget (about a million units, each a cloned
/// handle of ~32 bytes and a converted number) plus the message itself. Unbudgeted, the
/// conversions below allocate 150 MB to 360 MB.
const REFUSED_BYTES: u64 = 100 << 20;

fn assert_refused(t: &Target, result: Result<Value, ChainError>, bytes: u64) {
    let e = result.expect_err("the expansion must be refused");
    assert!(matches!(e, ChainError::BadArgument { .. }), "{e:?}");
    assert!(e.to_string().contains("expansion budget"), "{e}");
    assert_eq!(t.calls, 0, "the handler must not run");
    assert!(bytes < REFUSED_BYTES, "refusing allocated {bytes} bytes");
}

/// 3000 handles to one array of 3000 numbers: ~10 KB of wire text, 9 million numbers as a
/// `Vec<Vec<f64>>`.
#[test]
fn shared_rows_beyond_the_budget_are_refused() {
    let mut t = Target::default();
    let bomb = handles(3000, &Value::array((0..3000).map(|_| Value::from(0.0))));
    let (result, bytes) = send(&mut t, "rows", vec![bomb]);
    assert_refused(&t, result, bytes);
}

/// The same through `Option<..>`, three levels deep (200^3 = 8 million numbers) and through
/// `Vec<Serde<..>>` (each `Serde` converts through the serde bridge, whose own budget only ever
/// saw one copy).
#[test]
fn deeper_and_serde_parameter_types_are_refused_too() {
    let row = numbers(3000);
    let square = handles(200, &numbers(200));
    for (method, arg) in [
        ("maybe_rows", handles(3000, &row)),
        ("cubes", handles(200, &square)),
        ("serde_rows", handles(3000, &row)),
    ] {
        let mut t = Target::default();
        let (result, bytes) = send(&mut t, method, vec![arg]);
        assert_refused(&t, result, bytes);
    }
}

/// One budget covers all the arguments of a call: four arguments that each stay within it
/// alone (600 handles to one row of 1000 numbers) but not together.
#[test]
fn the_budget_covers_all_arguments_of_a_call() {
    let row = numbers(1000);
    let quarter = handles(600, &row);
    let mut t = Target::default();
    let (alone, _) = send(&mut t, "rows", vec![quarter.clone()]);
    assert_eq!(
        alone.expect("within the budget").as_f64(),
        Some(600.0 * 499_500.0)
    );
    let mut t = Target::default();
    let args = vec![quarter.clone(), quarter.clone(), quarter.clone(), quarter];
    let (result, bytes) = send(&mut t, "four", args);
    assert_refused(&t, result, bytes);
}

/// Legitimate large data: 1000 distinct arrays of 1000 numbers (a million numbers, no
/// sharing) still convert, whatever the budget for repetition.
#[test]
fn large_distinct_rows_convert() {
    let rows = Value::array((0..1000).map(|_| numbers(1000)));
    let chain = ctn().call("rows", vec![rows]);
    let mut t = Target::default();
    let sum = with_ctx(|ctx| execute_chain(&mut t, ctx, &chain)).expect("converts");
    assert_eq!(sum.as_f64(), Some(1000.0 * 499_500.0));
    assert_eq!(t.numbers, 1_000_000);
}

/// Modest sharing converts: 100 handles to one row of 1000 numbers, shared points, and an
/// array that appears both as a row and inside a cube.
#[test]
fn modest_sharing_converts() {
    let mut t = Target::default();
    let (sum, _) = send(&mut t, "rows", vec![handles(100, &numbers(1000))]);
    assert_eq!(sum.expect("converts").as_f64(), Some(100.0 * 499_500.0));
    assert_eq!(t.numbers, 100_000);

    let point = Value::object([("x", Value::from(1.0)), ("y", Value::from(2.0))]);
    let (sum, _) = send(&mut t, "points", vec![handles(1000, &point)]);
    assert_eq!(sum.expect("converts").as_f64(), Some(3000.0));

    let row = numbers(10);
    let square = handles(10, &row);
    let (sum, _) = send(
        &mut t,
        "cubes",
        vec![Value::array([square.clone(), square])],
    );
    assert_eq!(sum.expect("converts").as_f64(), Some(2.0 * 10.0 * 45.0));
}

/// A wrong type is still reported as a wrong type, not as a budget.
#[test]
fn a_wrong_type_is_still_a_bad_argument() {
    let mut t = Target::default();
    let (result, _) = send(&mut t, "rows", vec![Value::array([Value::from("x")])]);
    let e = result.unwrap_err();
    assert_eq!(
        e.to_string(),
        "argument 0 of rows: expected array, got array",
        "{e:?}"
    );
}

/// A cycle is legal in the wire format, and a type of finite depth converts it: `a = [a, 1]`
/// as `Vec<Value>` is `[a, 1]`, and `b = [b]` as `Vec<Vec<Value>>` is `[[b]]`.
#[test]
fn cyclic_arrays_convert_to_types_of_finite_depth() {
    let a = Value::array([]);
    *a.as_object().unwrap().borrow_mut() = ObjectKind::Array(vec![a.clone(), Value::from(1.0)]);
    let b = Value::array([]);
    *b.as_object().unwrap().borrow_mut() = ObjectKind::Array(vec![b.clone()]);
    let text_a = ctn().call("values", vec![a.clone()]).stringify().unwrap();
    let text_b = ctn()
        .call("nested_values", vec![b.clone()])
        .stringify()
        .unwrap();
    // Break the test's own cycles; the decoded ones are collected at the end.
    for v in [&a, &b] {
        *v.as_object().unwrap().borrow_mut() = ObjectKind::Array(vec![]);
    }
    let mut t = Target::default();
    with_ctx(|ctx| {
        for text in [&text_a, &text_b] {
            let chain = OperationChain::parse(text).expect("a valid chain");
            execute_chain(&mut t, ctx, &chain).expect("converts");
        }
    });
    assert_eq!(t.calls, 2);
    let [got_a, got_b] = [&t.values[0], &t.values[1]];
    assert_eq!(got_a.len(), 2);
    let a2 = got_a[0].as_object().expect("the array itself");
    assert!(a2.ptr_eq(a2.borrow_array_item(0).as_object().unwrap()));
    assert_eq!(got_a[1].as_f64(), Some(1.0));
    assert_eq!(got_b.len(), 1);
    let b2 = got_b[0].as_object().expect("the array itself");
    assert!(b2.ptr_eq(b2.borrow_array_item(0).as_object().unwrap()));
    drop(t);
    structured_clone::collect_cycles();
}

/// A panic inside a conversion closes the call's budget scope: a later conversion outside any
/// call gets a fresh budget instead of the spent one.
#[test]
fn a_panicking_conversion_closes_its_scope() {
    // 1000 handles to a row of 1000: most of a budget, fine once, refused twice in one scope.
    let near = handles(1000, &numbers(1000));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        with_ctx(|ctx| {
            let mut t = Target::default();
            t.dispatch(ctx, "then_boom", vec![near.clone(), Value::Null])
        })
    }));
    assert!(caught.is_err(), "Boom panics");
    for _ in 0..2 {
        let rows = Vec::<Vec<f64>>::from_value(near.clone()).expect("a fresh budget");
        assert_eq!(rows.len(), 1000);
    }
    // Called directly (outside any handler), the conversion is budgeted too.
    assert!(Vec::<Vec<f64>>::from_value(handles(3000, &numbers(3000))).is_none());
}

/// Test helper: item `i` of an array object.
trait ArrayItem {
    fn borrow_array_item(&self, i: usize) -> Value;
}
impl ArrayItem for lumenize_core::structured_clone::Object {
    fn borrow_array_item(&self, i: usize) -> Value {
        match &*self.borrow() {
            ObjectKind::Array(items) => items[i].clone(),
            _ => panic!("not an array"),
        }
    }
}

/// Budget units of converting one array visit: the array and one per item (numbers here).
fn visit_units(len: usize) -> usize {
    1 + len
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Random alias DAGs of depth 3 (rows of numbers, squares of row handles, a cube of square
    /// handles) as `Vec<Vec<Vec<f64>>>`: whatever repeats at most the fixed allowance converts
    /// exactly; whatever repeats more than the allowance plus four times the graph is refused;
    /// either way the call allocates at most in proportion to the graph plus the allowance.
    #[test]
    fn alias_dags_convert_exactly_or_are_refused_with_bounded_work(
        rows in proptest::collection::vec(0usize..400, 1..12),
        squares in proptest::collection::vec(proptest::collection::vec(0usize..1000, 0..120), 1..12),
        cube in proptest::collection::vec(0usize..1000, 0..120),
    ) {
        let row_values: Vec<Value> = rows.iter().map(|&len| numbers(len)).collect();
        let square_rows: Vec<Vec<usize>> = squares
            .iter()
            .map(|s| s.iter().map(|i| i % rows.len()).collect())
            .collect();
        let square_values: Vec<Value> = square_rows
            .iter()
            .map(|s| Value::array(s.iter().map(|&r| row_values[r].clone())))
            .collect();
        let cube_squares: Vec<usize> = cube.iter().map(|i| i % squares.len()).collect();
        let arg = Value::array(cube_squares.iter().map(|&s| square_values[s].clone()));

        // The expected tree, and the budget's view of it.
        let row_sum = |len: usize| (len * len.saturating_sub(1) / 2) as f64;
        let square_units = |s: usize| {
            visit_units(square_rows[s].len())
                + square_rows[s].iter().map(|&r| visit_units(rows[r])).sum::<usize>()
        };
        let tree = visit_units(cube_squares.len())
            + cube_squares.iter().map(|&s| square_units(s)).sum::<usize>();
        let mut graph = visit_units(cube_squares.len());
        let (mut seen_rows, mut seen_squares) = (vec![false; rows.len()], vec![false; squares.len()]);
        for &s in &cube_squares {
            if !std::mem::replace(&mut seen_squares[s], true) {
                graph += visit_units(square_rows[s].len());
                for &r in &square_rows[s] {
                    if !std::mem::replace(&mut seen_rows[r], true) {
                        graph += visit_units(rows[r]);
                    }
                }
            }
        }
        let expansion = tree - graph;
        let numbers_expected: usize =
            cube_squares.iter().flat_map(|&s| &square_rows[s]).map(|&r| rows[r]).sum();
        let sum_expected: f64 =
            cube_squares.iter().flat_map(|&s| &square_rows[s]).map(|&r| row_sum(rows[r])).sum();

        let chain = ctn().call("cubes", vec![arg]);
        let mut t = Target::default();
        let (result, _, bytes) =
            measure(|| with_ctx(|ctx| execute_chain(&mut t, ctx, &chain)));
        const ALLOWANCE: usize = 1 << 20;
        // A unit costs at most a cloned handle and a converted number (~40 bytes), plus the
        // vectors' growth: 128 bytes per unit is a generous ceiling.
        let ceiling = 128 * (5 * graph + ALLOWANCE) as u64;
        proptest::prop_assert!(bytes <= ceiling, "{bytes} bytes for graph {graph}");
        if expansion <= ALLOWANCE {
            let sum = result.expect("within the allowance, it converts");
            proptest::prop_assert_eq!(sum.as_f64(), Some(sum_expected));
            proptest::prop_assert_eq!(t.numbers, numbers_expected);
        } else if expansion > ALLOWANCE + 4 * graph {
            assert_refused(&t, result, bytes);
        }
    }
}
