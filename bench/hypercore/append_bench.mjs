// Reference for BENCHMARKS.md: the single-block append rate of Hypercore 11
// on disk: one awaited core.append(block) per block, one core, one writer.
// Each block is a ~block-sized buffer (default 420 bytes, about the size of an
// owner-signed Micro Ledger block). Prints one JSON object on stdout.
//
//   node append_bench.mjs [--blocks=N] [--bytes=B] [--dir=DIR] [--warmup=N]
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
const blocks = Number(args.blocks ?? 10000)
const bytes = Number(args.bytes ?? 420)
const warmup = Number(args.warmup ?? 200)
const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hypercore-bench-'))
const version = createRequire(import.meta.url)('hypercore/package.json').version

const core = new Hypercore(dir)
await core.ready()
const payload = (i) => {
  const head = `{"event":"updated","n":${i},"pad":"`
  return Buffer.from(head + 'x'.repeat(Math.max(0, bytes - head.length - 2)) + '"}')
}
for (let i = 0; i < warmup; i++) await core.append(payload(i))

const latencies = new Float64Array(blocks)
const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
for (let i = 0; i < blocks; i++) {
  const s = process.hrtime.bigint()
  await core.append(payload(i))
  latencies[i] = Number(process.hrtime.bigint() - s) / 1e6
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9
const cpu = process.cpuUsage(cpu0)
await core.close()
if (!args.dir) fs.rmSync(dir, { recursive: true, force: true })

latencies.sort()
const q = (p) => latencies[Math.min(blocks - 1, Math.round(p * (blocks - 1)))]
console.log(JSON.stringify({
  scenario: 'hypercore-append',
  hypercore_version: version,
  node_version: process.version,
  total: blocks,
  errors: 0,
  block_bytes: bytes,
  duration_s: seconds,
  rps: blocks / seconds,
  p50_ms: q(0.5),
  p90_ms: q(0.9),
  p99_ms: q(0.99),
  max_ms: latencies[blocks - 1],
  cpu_us_per_block: (cpu.user + cpu.system) / blocks,
  fsync_per_append: false
}))
