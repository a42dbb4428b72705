#!/usr/bin/env python3
"""Generates a corpus of crates that really use the lumenize-core 0.9 API (benchmark input).

Usage: gen-09-corpus.py OUT_DIR [CRATES] [FILES_PER_CRATE]   (defaults: 200 crates x 8 files)

Every crate depends on `lumenize-core = "0.9"`; every file mixes 0.9 call sites (each rule of
the API contract: structured-clone parse/postprocess/stringify/preprocess, Alarms::schedule,
cancel_schedule, execute_operation_chain, dead imports, calls inside macros) with ordinary
code, in varying amounts and orders, so the tool's throughput is measured on files it must
parse and rewrite, not on files its prefilter skips. Deterministic (fixed seed).
"""
import os
import random
import shutil
import sys

HEADER = """//! Generated benchmark module {crate}/{module}: lumenize-core 0.9 style code.
use lumenize_core::structured_clone::{{parse, postprocess, preprocess, stringify, PostprocessOptions}};
use lumenize_core::alarms::{{Alarms, When}};
use lumenize_core::ocan::{{execute_operation_chain, Continuation, OperationChain}};
use lumenize_core::structured_clone::Value;
use std::collections::HashMap;

"""

STRUCT = """/// State of handler {n}.
pub struct Handler{n} {{
    alarms: Alarms,
    parent: Parent{n},
    cache: HashMap<String, Value>,
    hits: u64,
}}

/// The object handler {n} forwards chains to.
pub struct Parent{n} {{
    pub name: String,
}}

impl Handler{n} {{
"""

# 0.9 call sites, one method each; {n} and {k} vary names.
SITES = [
    """    /// Decodes a message.
    pub async fn decode_{k}(&mut self, text: &str) -> Result<Value, Box<dyn std::error::Error>> {{
        let value = parse(text, None).await?;
        self.hits += 1;
        self.cache.insert(format!("{k}-{{}}", self.hits), value.clone());
        Ok(value)
    }}
""",
    """    /// Round-trips a value.
    pub async fn roundtrip_{k}(&self, v: &Value) -> Result<String, Box<dyn std::error::Error>> {{
        let inter = preprocess(v).await?;
        let back = postprocess(&inter, None).await?;
        let text = stringify(&back).await?;
        Ok(text)
    }}
""",
    """    /// Schedules a retry.
    pub async fn retry_later_{k}(&self, delay_ms: u64, cb: Continuation) -> Result<String, Box<dyn std::error::Error>> {{
        let schedule = self.alarms.schedule(When::Delay(delay_ms), cb).await?;
        Ok(schedule.id)
    }}
""",
    """    /// Cancels a schedule; true if it was there.
    pub async fn cancel_{k}(&self, id: &str) -> Result<bool, Box<dyn std::error::Error>> {{
        let existed = self.alarms.cancel_schedule(id).await?;
        if !existed {{
            println!("schedule {{id}} already gone");
        }}
        Ok(existed)
    }}
""",
    """    /// Runs a continuation on the parent object.
    pub async fn run_chain_{k}(&mut self, chain: &OperationChain) -> Result<Value, Box<dyn std::error::Error>> {{
        let result = execute_operation_chain(chain, &mut self.parent).await?;
        Ok(result)
    }}
""",
    """    /// Checks a decoded value inside macros.
    pub async fn verify_{k}(&self, a: &str, b: &str) -> Result<(), Box<dyn std::error::Error>> {{
        assert_eq!(
            parse(a, None).await?,
            parse(b, None).await?,
            "values differ"
        );
        let all = vec![parse(a, None).await?, parse(b, None).await?];
        println!("{{}} values, {{}}", all.len(), stringify(&all[0]).await?);
        Ok(())
    }}
""",
    """    /// Decodes many messages.
    pub async fn decode_all_{k}(&mut self, texts: &[String]) -> Vec<Value> {{
        let mut out = Vec::with_capacity(texts.len());
        for t in texts {{
            match lumenize_core::structured_clone::parse(t, None).await {{
                Ok(v) => out.push(v),
                Err(e) => eprintln!("bad message: {{e}}"),
            }}
        }}
        out
    }}
""",
]

# Ordinary code around the call sites (most of a real file is not a migration site).
FILLER = [
    """    /// Counts words.
    pub fn word_count_{k}(&self, text: &str) -> usize {{
        text.split_whitespace()
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric()))
            .count()
    }}
""",
    """    /// Looks something up.
    pub fn lookup_{k}(&self, key: &str) -> Option<&Value> {{
        let key = key.trim().to_lowercase();
        if key.len() > {m} {{
            return None;
        }}
        self.cache.get(&key)
    }}
""",
    """    /// A small state machine.
    pub fn step_{k}(&mut self, input: u8) -> u8 {{
        let next = match (self.hits % 4, input) {{
            (0, b'a'..=b'z') => 1,
            (1, b'0'..=b'9') => 2,
            (2, _) if input > {m} => 3,
            (3, _) => 0,
            _ => (input % 4) as u8,
        }};
        self.hits = self.hits.wrapping_add(next as u64);
        next
    }}
""",
    """    /// Sums parsed numbers; `str::parse` is not a lumenize call and must stay.
    pub fn sum_{k}(&self, items: &[&str]) -> i64 {{
        items
            .iter()
            .filter_map(|s| s.parse::<i64>().ok())
            .map(|n| n * {m})
            .sum()
    }}
""",
    """    /// Formats a report.
    pub fn report_{k}(&self) -> String {{
        let mut keys: Vec<_> = self.cache.keys().cloned().collect();
        keys.sort();
        let mut out = String::new();
        for (i, k) in keys.iter().enumerate() {{
            out.push_str(&format!("{{i:>4}} {{k}}\\n"));
        }}
        out
    }}
""",
]

MANIFEST = """[package]
name = "{crate}"
version = "0.1.{n}"
edition = "2021"

[dependencies]
lumenize-core = "0.9"
serde = {{ version = "1", features = ["derive"] }}
"""


def gen_module(rng, crate, module, n):
    parts = [HEADER.format(crate=crate, module=module), STRUCT.format(n=n)]
    bodies = []
    for k in range(rng.randint(4, 9)):
        bodies.append(rng.choice(SITES).format(k=k, n=n))
    for k in range(rng.randint(6, 16)):
        bodies.append(rng.choice(FILLER).format(k=k, m=rng.randint(2, 99)))
    rng.shuffle(bodies)
    parts.append("\n".join(bodies))
    parts.append("}\n")
    return "".join(parts)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    crates = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    rng = random.Random(42)
    shutil.rmtree(out, ignore_errors=True)
    lines = 0
    for c in range(crates):
        crate = f"app{c:04}"
        src = os.path.join(out, crate, "src")
        os.makedirs(src)
        with open(os.path.join(out, crate, "Cargo.toml"), "w") as f:
            f.write(MANIFEST.format(crate=crate, n=c))
        mods = [f"part{m}" for m in range(files - 1)]
        # `pub mod` items go after the header: inner doc comments (`//!`) must come first.
        body = gen_module(rng, crate, "lib", c)
        head, sep, rest = body.partition("\n\n")
        lib = head + sep + "".join(f"pub mod {m};\n" for m in mods) + "\n" + rest
        texts = {"lib.rs": lib}
        for i, m in enumerate(mods):
            texts[f"{m}.rs"] = gen_module(rng, crate, m, c * 100 + i)
        for name, text in texts.items():
            lines += text.count("\n")
            with open(os.path.join(src, name), "w") as f:
                f.write(text)
    print(f"generated {crates} crates, {crates * files} files, {lines} lines in {out}")


if __name__ == "__main__":
    main()
