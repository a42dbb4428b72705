#!/usr/bin/env bash
# Benchmarks lumenize-codemod (issue 7) against the read-only floor (ripgrep) and ast-grep,
# and against a bare syn parse on a corpus that really uses the 0.9 API. Not run in CI.
#
# Usage: scripts/bench-codemod.sh            (from anywhere; takes ~15-30 minutes the first time)
# Env:   CORPUS=/tmp/rust-corpus             the ~4.5M-line third-party corpus (built if missing)
#        GEN_CORPUS=/tmp/lumenize-09-corpus  the generated 0.9 corpus (rebuilt every run)
#        TOOLS=/tmp/lumenize-bench-tools     where ast-grep is installed (npm prefix)
#        RUNS=5                              hyperfine runs per command
#        ASTGREP_RUNS=2                      hyperfine runs for ast-grep (it takes ~50x longer)
#        PAIRS=10                            interleaved check / parse-only pairs on the 0.9
#                                            corpus (median ratio: robust when the load moves)
#        INSTR=1                             also count instructions with valgrind (callgrind),
#                                            single-threaded: the ratio no load can disturb
#        STRESS=1                            also send every corpus file through the engine,
#                                            prefilter or not (check --no-prefilter; slow)
#        OUT=target/bench-codemod            results (markdown + JSON + reliability counts)
#
# Needs: cargo, python3, GNU time, npm (ast-grep is installed from the npm registry at a pinned
# version), ripgrep and hyperfine (installed with apt-get when missing and running as root).
set -euo pipefail

ASTGREP_VERSION=0.51.1
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CORPUS="${CORPUS:-/tmp/rust-corpus}"
GEN_CORPUS="${GEN_CORPUS:-/tmp/lumenize-09-corpus}"
TOOLS="${TOOLS:-/tmp/lumenize-bench-tools}"
RUNS="${RUNS:-5}"
ASTGREP_RUNS="${ASTGREP_RUNS:-2}"
OUT="${OUT:-$ROOT/target/bench-codemod}"
mkdir -p "$OUT"

say() { printf '\n== %s\n' "$*" >&2; }

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get update -qq && apt-get install -y -qq "$@" > /dev/null
  else
    echo "please install: $*" >&2
    return 1
  fi
}

say "tools"
command -v rg > /dev/null || apt_install ripgrep || cargo install --locked ripgrep
command -v hyperfine > /dev/null || apt_install hyperfine || cargo install --locked hyperfine
[ -x /usr/bin/time ] || apt_install time
ASTGREP="$TOOLS/node_modules/.bin/ast-grep"
if ! "$ASTGREP" --version 2> /dev/null | grep -q "$ASTGREP_VERSION"; then
  npm install --silent --prefix "$TOOLS" "@ast-grep/cli@$ASTGREP_VERSION"
fi
echo "rg: $(rg --version 2> /dev/null | head -1); ast-grep: $("$ASTGREP" --version); $(hyperfine --version)" >&2

say "build (release)"
# The parse-only baseline command is behind a feature, out of the users' binary.
(cd "$ROOT" && cargo build --release --quiet -p lumenize-codemod --features bench-parse-only)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/lumenize-codemod"
"$BIN" --version >&2

say "corpora"
if [ ! -d "$CORPUS" ]; then
  bash "$HERE/make-corpus.sh" "$CORPUS"
fi
python3 "$HERE/gen-09-corpus.py" "$GEN_CORPUS" 200 8 >&2
for c in "$CORPUS" "$GEN_CORPUS"; do
  echo "$c: $(find "$c" -name '*.rs' -type f | wc -l) .rs files, $(find "$c" -name '*.rs' -type f -print0 | xargs -0 cat | wc -l) lines" >&2
done
NPROC="$(nproc)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# check exits 1 (changes pending) or 2 (unparsable files in the corpus) by design: -i.
say "third-party corpus: lumenize-codemod vs rg vs ast-grep"
hyperfine --warmup 1 --runs "$RUNS" -i --style basic \
  --export-json "$OUT/corpus.json" --export-markdown "$OUT/corpus.md" \
  -n "lumenize-codemod check --force" "$BIN check --force --quiet $CORPUS" \
  -n "lumenize-codemod check (default)" "$BIN check --quiet $CORPUS" \
  -n "rg -c '\\.await'" "rg -c '\\.await' $CORPUS"
hyperfine --warmup 0 --runs "$ASTGREP_RUNS" -i --style basic \
  --export-json "$OUT/corpus-astgrep.json" --export-markdown "$OUT/corpus-astgrep.md" \
  -n "ast-grep run -p '\$F(\$\$\$A).await'" "$ASTGREP run -p '\$F(\$\$\$A).await' --lang rust $CORPUS"

say "generated 0.9 corpus: lumenize-codemod vs bare syn parse"
hyperfine --warmup 1 --runs "$RUNS" -i --style basic \
  --export-json "$OUT/gen.json" --export-markdown "$OUT/gen.md" \
  -n "lumenize-codemod check" "$BIN check --quiet $GEN_CORPUS" \
  -n "syn parse only" "$BIN bench-parse-only $GEN_CORPUS"

# The same ratio from interleaved pairs: each check run sits next to a parse-only run, so a
# change in the machine's load hits both sides of a pair (hyperfine runs one command's runs,
# then the other's). User + system time, and wall time, per pair; the medians are reported.
say "generated 0.9 corpus: ${PAIRS:-10} interleaved pairs"
rm -f "$OUT/gen-pairs.txt"
for _ in $(seq "${PAIRS:-10}"); do
  /usr/bin/time -f "check %e %U %S" "$BIN" check --quiet "$GEN_CORPUS" 2>> "$OUT/gen-pairs.txt" > /dev/null || true
  /usr/bin/time -f "parse %e %U %S" "$BIN" bench-parse-only "$GEN_CORPUS" 2>> "$OUT/gen-pairs.txt" > /dev/null || true
done
rm -f "$OUT/gen-instructions.txt"
if [ "${INSTR:-0}" = 1 ] && command -v valgrind > /dev/null; then
  say "generated 0.9 corpus: instructions (callgrind, one thread; a few minutes)"
  for cmd in "check --quiet" bench-parse-only; do
    # shellcheck disable=SC2086 # $cmd is two words on purpose
    RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" $cmd "$GEN_CORPUS" 2>&1 > /dev/null \
      | sed -n "s/.*refs: *\([0-9,]*\)/$cmd \1/p" | tr -d , >> "$OUT/gen-instructions.txt" || true
  done
fi
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

say "reliability on the third-party corpus (check --force, then apply --force)"
set +e
NOPF_RC=skipped
rm -f "$OUT/corpus-noprefilter.jsonl"
if [ "${STRESS:-0}" = 1 ]; then
  # Stress the engine itself: every corpus file goes through it, prefilter or not.
  "$BIN" check --force --no-prefilter --format json "$CORPUS" > "$OUT/corpus-noprefilter.jsonl" 2> "$OUT/corpus-noprefilter.stderr"
  NOPF_RC=$?
fi
"$BIN" check --force --format json "$CORPUS" > "$OUT/corpus-check.jsonl" 2> "$OUT/corpus-check.stderr"
CHECK_RC=$?
find "$CORPUS" \( -name '*.rs' -o -name Cargo.toml \) -type f -print0 | sort -z | xargs -0 sha1sum > "$OUT/before.sha1"
"$BIN" apply --force --quiet --format json "$CORPUS" > "$OUT/corpus-apply.jsonl" 2> "$OUT/corpus-apply.stderr"
APPLY_RC=$?
find "$CORPUS" \( -name '*.rs' -o -name Cargo.toml \) -type f -print0 | sort -z | xargs -0 sha1sum > "$OUT/after.sha1"
"$BIN" bench-parse-only --force --prefiltered "$CORPUS" > "$OUT/parse-only.txt" 2> "$OUT/parse-only-failures.txt"
# Every corpus file syn cannot parse, with the reason (the tool only parses prefilter hits).
"$BIN" bench-parse-only --force "$CORPUS" > "$OUT/parse-all.txt" 2> "$OUT/parse-all-failures.txt"
set -e
# The 0.9 corpus migrated for real (on a copy): a second check must find nothing, and every
# migrated file must still parse.
rm -rf "$GEN_CORPUS.applied" && cp -r "$GEN_CORPUS" "$GEN_CORPUS.applied"
"$BIN" apply --format json "$GEN_CORPUS.applied" | tail -1 > "$OUT/gen-apply.json"
"$BIN" check --format json "$GEN_CORPUS.applied" | tail -1 > "$OUT/gen-recheck.json"
"$BIN" bench-parse-only "$GEN_CORPUS.applied" > "$OUT/gen-reparse.txt" 2>&1
CHANGED_ON_DISK="$(diff "$OUT/before.sha1" "$OUT/after.sha1" | grep -c '^>' || true)"
python3 - "$OUT" "$CHECK_RC" "$APPLY_RC" "$CHANGED_ON_DISK" "$NPROC" "$NOPF_RC" "$LOAD_START" "$LOAD_END" << 'PY'
import json, os, sys, collections, statistics
out, check_rc, apply_rc, changed_on_disk, nproc, nopf_rc, load_start, load_end = sys.argv[1:]
lines = [json.loads(l) for l in open(f"{out}/corpus-check.jsonl")]
summary = lines[-1]
diags = [l for l in lines if l["type"] == "diagnostic"]
by = collections.Counter((d["severity"], d["rule"]) for d in diags)
empty_reasons = sum(1 for d in diags if d["severity"] == "error" and not d["message"].strip())
panics = sum(1 for d in diags if d["rule"] == "internal")

def result(path, name):
    for r in json.load(open(path))["results"]:
        if r["command"] == name:
            return r
    raise KeyError(name)

def mean(path, name):
    return result(path, name)["mean"]

# CPU time (user + system) is less disturbed than wall time when other work shares the cores.
def cpu(path, name):
    r = result(path, name)
    return r["user"] + r["system"]

RG = "rg -c '\\.await'"
SG = "ast-grep run -p '$F($$$A).await'"
c = f"{out}/corpus.json"
g = f"{out}/gen.json"
ours = mean(c, "lumenize-codemod check --force")
default = mean(c, "lumenize-codemod check (default)")
rg = mean(c, RG)
sg = mean(f"{out}/corpus-astgrep.json", SG)
gen = mean(g, "lumenize-codemod check")
syn = mean(g, "syn parse only")
cpu_ours = cpu(c, "lumenize-codemod check --force") / cpu(c, RG)
cpu_sg = cpu(f"{out}/corpus-astgrep.json", SG) / cpu(c, "lumenize-codemod check --force")
cpu_default = cpu(c, "lumenize-codemod check (default)") / cpu(c, RG)
cpu_gen = cpu(g, "lumenize-codemod check") / cpu(g, "syn parse only")
import os
stress_line = "not run (STRESS=1 runs it)"
if os.path.exists(f"{out}/corpus-noprefilter.jsonl"):
    nopf = [json.loads(l) for l in open(f"{out}/corpus-noprefilter.jsonl")]
    nopf_sum = nopf[-1]
    nopf_diags = collections.Counter((d["severity"], d["rule"]) for d in nopf if d["type"] == "diagnostic")
    nopf_files = sorted({d["file"] for d in nopf if d["type"] == "diagnostic" and d["severity"] == "error"})
    stress_line = (f"{nopf_sum['files_scanned']} files, {nopf_sum['files_changed']} would change, "
                   f"{nopf_sum['edits']} edits, {nopf_sum['errors']} errors, "
                   f"{nopf_sum['needs_review']} need review; by (severity, rule): {dict(nopf_diags)}; "
                   f"files with errors: {nopf_files}")
pairs = {"check": [], "parse": []}
for line in open(f"{out}/gen-pairs.txt"):
    parts = line.split()
    if len(parts) == 4 and parts[0] in pairs:
        pairs[parts[0]].append((float(parts[1]), float(parts[2]) + float(parts[3])))
pair_line = "not run"
if pairs["check"] and len(pairs["check"]) == len(pairs["parse"]):
    w = [c[0] / p[0] for c, p in zip(pairs["check"], pairs["parse"])]
    u = [c[1] / p[1] for c, p in zip(pairs["check"], pairs["parse"])]
    pair_line = (f"{len(w)} pairs: wall {statistics.median(w):.2f}x (min {min(w):.2f}, max {max(w):.2f}), "
                 f"CPU {statistics.median(u):.2f}x (min {min(u):.2f}, max {max(u):.2f}); medians: check "
                 f"{statistics.median(c[0] for c in pairs['check']):.2f} s wall / "
                 f"{statistics.median(c[1] for c in pairs['check']):.2f} s CPU, parse only "
                 f"{statistics.median(p[0] for p in pairs['parse']):.2f} s wall / "
                 f"{statistics.median(p[1] for p in pairs['parse']):.2f} s CPU")
instr_line = "not run (INSTR=1 runs it)"
if os.path.exists(f"{out}/gen-instructions.txt"):
    counts = dict(l.rsplit(" ", 1) for l in open(f"{out}/gen-instructions.txt").read().splitlines() if l.strip())
    if len(counts) == 2:
        c_i, p_i = int(counts["check --quiet"]), int(counts["bench-parse-only"])
        instr_line = f"{c_i / p_i:.2f}x ({c_i / 1e9:.2f} G vs {p_i / 1e9:.2f} G instructions, one thread)"
report = f"""## Results ({nproc} cores; load average {load_start} at the start, {load_end} after the timings)

| comparison | wall-time ratio | CPU-time ratio | target |
|---|---:|---:|---|
| check --force / rg -c '\\.await' | {ours / rg:.2f}x | {cpu_ours:.2f}x | <= 3x |
| ast-grep / check --force | {sg / ours:.1f}x faster | {cpu_sg:.1f}x | >= 10x |
| check (default, no lumenize crates) / rg | {default / rg:.2f}x | {cpu_default:.2f}x | - |
| check / syn parse only (0.9 corpus) | {gen / syn:.2f}x | {cpu_gen:.2f}x | <= 1.5x |

Means: check --force {ours:.3f} s, check (default) {default:.3f} s, rg {rg:.3f} s,
ast-grep {sg:.3f} s; 0.9 corpus: check {gen:.3f} s, syn parse only {syn:.3f} s.

0.9 corpus, check / syn parse only, interleaved: {pair_line}.
Instructions: {instr_line}.

## Reliability (third-party corpus, --force)

- check exit code: {check_rc} (apply: {apply_rc}); 101 would be a panic
- files scanned: {summary['files_scanned']}, files that would change: {summary['files_changed']}, edits: {summary['edits']}
- files changed on disk by `apply --force` (sha1 before/after): {changed_on_disk}
- engine panics caught: {panics}
- errors: {summary['errors']} ({empty_reasons} without a reason), needs review: {summary['needs_review']}
- diagnostics by (severity, rule): {dict(by)}
- every file through the engine (`check --force --no-prefilter`, exit {nopf_rc}): {stress_line}
- 0.9 corpus, `apply` on a copy: {open(f"{out}/gen-apply.json").read().strip()}
- then `check` on the result (must be all zeros, exit 0): {open(f"{out}/gen-recheck.json").read().strip()}
- then syn over the migrated files: {open(f"{out}/gen-reparse.txt").read().strip()}
- parse-only baseline on the prefiltered files: {open(f"{out}/parse-only.txt").read().strip()}
- syn over every corpus file: {open(f"{out}/parse-all.txt").read().strip()}
{open(f"{out}/parse-all-failures.txt").read()}
"""
open(f"{out}/results.md", "w").write(report)
print(report)
PY
echo "results in $OUT (results.md, corpus.md, gen.md, *.jsonl)" >&2
