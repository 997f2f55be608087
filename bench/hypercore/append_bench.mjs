// Reference for BENCHMARKS.md: the append rate of Hypercore 11 on disk, one
// core, one writer, one awaited core.append per call. By default one block per
// call (the single-block rate); with --batch=N, N blocks per call
// (core.append([...N buffers]): Hypercore signs the new tree root once per
// call, in SessionState.append, so once per batch). Each block is a
// ~block-sized buffer (default 420 bytes, about the size of an owner-signed
// Micro Ledger block). Prints one JSON object on stdout: rps counts blocks,
// p50/p90/p99/max are per call (per block, or per batch), CPU is per block.
//
//   node append_bench.mjs [--blocks=N] [--bytes=B] [--batch=N] [--dir=DIR] [--warmup=N]
//
// --blocks is rounded up to a whole number of batches; --warmup blocks are
// appended (in batches of --batch, at least one call) before the clock starts.
//
// Note: Hypercore 11 stores through hypercore-storage / rocksdb-native, whose
// writes do not fsync the RocksDB WAL (WriteOptions.sync is false); an append
// acknowledged here can be lost by a machine crash, unlike ml-host --sync=true.
import Hypercore from 'hypercore'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)=(.*)$/.exec(a)
  if (!m) throw new Error('bad argument ' + a)
  return [m[1], m[2]]
}))
const batch = Number(args.batch ?? 1)
if (!Number.isInteger(batch) || batch < 1) throw new Error('--batch must be a whole number >= 1')
const calls = Math.ceil(Number(args.blocks ?? 10000) / batch)
const blocks = calls * batch
const bytes = Number(args.bytes ?? 420)
const warmupCalls = Math.max(1, Math.ceil(Number(args.warmup ?? 200) / batch))
const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hypercore-bench-'))
const version = createRequire(import.meta.url)('hypercore/package.json').version

const core = new Hypercore(dir)
await core.ready()
const payload = (i) => {
  const head = `{"event":"updated","n":${i},"pad":"`
  return Buffer.from(head + 'x'.repeat(Math.max(0, bytes - head.length - 2)) + '"}')
}
// What one call appends: the block itself (as the single-block mode always
// did), or an array of `batch` blocks.
const callValues = (call) => {
  if (batch === 1) return payload(call)
  const values = new Array(batch)
  for (let j = 0; j < batch; j++) values[j] = payload(call * batch + j)
  return values
}
for (let c = 0; c < warmupCalls; c++) await core.append(callValues(c))

const latencies = new Float64Array(calls)
const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
for (let c = 0; c < calls; c++) {
  const s = process.hrtime.bigint()
  await core.append(callValues(c))
  latencies[c] = Number(process.hrtime.bigint() - s) / 1e6
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9
const cpu = process.cpuUsage(cpu0)
await core.close()
if (!args.dir) fs.rmSync(dir, { recursive: true, force: true })

latencies.sort()
const q = (p) => latencies[Math.min(calls - 1, Math.round(p * (calls - 1)))]
console.log(JSON.stringify({
  scenario: batch === 1 ? 'hypercore-append' : 'hypercore-append-batch',
  hypercore_version: version,
  node_version: process.version,
  total: blocks,
  errors: 0,
  block_bytes: bytes,
  batch,
  batches: calls,
  duration_s: seconds,
  rps: blocks / seconds,
  batches_per_s: calls / seconds,
  p50_ms: q(0.5),
  p90_ms: q(0.9),
  p99_ms: q(0.99),
  max_ms: latencies[calls - 1],
  cpu_us_per_block: (cpu.user + cpu.system) / blocks,
  fsync_per_append: false
}))
