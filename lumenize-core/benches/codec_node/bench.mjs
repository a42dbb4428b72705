// Side-by-side timing for benches/codec_vs_node.rs: Node's JSON.parse and the TypeScript
// codec (@lumenize/structured-clone 0.26.0, copied in ./ts, MIT) on the files it is given.
// Usage: node bench.mjs <plain.json> <wire.json> <min-ms> [wall|cpu]
// `cpu` times batches by this process's CPU time (process.cpuUsage: all its threads, the
// garbage collector's included) instead of wall time.
// Prints one JSON line: nanoseconds per operation (the median of 5 timed batches, after a
// warm-up), and whether the codec's stringify wrote our wire text byte for byte.
import { readFileSync } from 'node:fs';
import { parse, stringify } from './ts/index.js';

const [plainFile, wireFile, minMsArg, clockArg] = process.argv.slice(2);
const now = clockArg === 'cpu'
  ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }
  : () => performance.now();
const plain = readFileSync(plainFile, 'utf8');
const wire = readFileSync(wireFile, 'utf8');
const minMs = Number(minMsArg || 300);

function nsPerOp(f) {
  // Warm-up (JIT), then batches of at least minMs/5 each.
  let n = 0;
  const warmEnd = now() + minMs / 2;
  while (now() < warmEnd || n < 2) { f(); n++; }
  const batches = [];
  for (let b = 0; b < 5; b++) {
    let k = 0;
    const start = now();
    let t = start;
    while (t - start < minMs / 5 || k < 1) { f(); k++; t = now(); }
    batches.push(((t - start) * 1e6) / k);
  }
  batches.sort((a, b) => a - b);
  return batches[2];
}

let sink = 0;
const value = JSON.parse(plain);
const out = {
  json_parse: nsPerOp(() => { sink += JSON.parse(plain) ? 1 : 0; }),
  ts_parse: nsPerOp(() => { sink += parse(wire) ? 1 : 0; }),
  json_stringify: nsPerOp(() => { sink += JSON.stringify(value).length; }),
  ts_stringify: nsPerOp(() => { sink += stringify(value).length; }),
  same_text: stringify(value) === wire,
  node: process.version,
  sink: sink > 0,
};
console.log(JSON.stringify(out));
