/**
 * Durable actions benchmark (`npm run bench:durable`): enqueue throughput (sequential `doAction`s, each returning
 * once its job is stored) and end-to-end latency (from `doAction` to the handler running, same process) for
 * hookbus/durable on SQLite and on Postgres, and graphile-worker (`addJob`, LISTEN/NOTIFY) on the same Postgres.
 * Postgres is a throwaway server from scripts/postgres.sh (Debian's postgresql). Prints a Markdown table.
 *
 *   node bench/durable.ts [jobs]   (default 500)
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Durable } from "../src/durable/index.ts"
import { Hook, HookBus } from "../src/index.ts"

const jobs = Number(process.argv[2] ?? 500)
const root = fileURLToPath(new URL("..", import.meta.url))
const Bench = Hook.action("bench.job", { args: [Schema.Number] })

interface Result {
  readonly name: string
  readonly enqueuePerSecond: number
  readonly p50: number
  readonly p95: number
  readonly drainSeconds: number
}

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

const summarise = (name: string, started: Array<number>, done: Array<number>, enqueueMs: number, t0: number) => ({
  name,
  enqueuePerSecond: jobs / (enqueueMs / 1000),
  p50: percentile(done.map((d, i) => d - started[i]), 0.5),
  p95: percentile(done.map((d, i) => d - started[i]), 0.95),
  drainSeconds: (Math.max(...done) - t0) / 1000
})

const hookbusCase = (name: string, layer: Layer.Layer<Durable, unknown>) =>
  Effect.runPromise(Effect.scoped(
    Effect.gen(function*() {
      const bus = yield* HookBus
      const started: Array<number> = []
      const done: Array<number> = []
      const left = { n: jobs }
      yield* bus.addAction(Bench, (i) =>
        Effect.sync(() => {
          done[i] = performance.now()
          left.n--
        }), { mode: "durable", source: "bench" })
      // Warm up: one job through the whole path.
      yield* bus.doAction(Bench, -1)
      while (left.n > jobs - 1) yield* Effect.sleep("5 millis")
      left.n = jobs
      const t0 = performance.now()
      for (let i = 0; i < jobs; i++) {
        started[i] = performance.now()
        yield* bus.doAction(Bench, i)
      }
      const enqueueMs = performance.now() - t0
      while (left.n > 0) yield* Effect.sleep("2 millis")
      return summarise(name, started, done.slice(0, jobs), enqueueMs, t0)
    }).pipe(Effect.provide(Layer.mergeAll(HookBus.layer, layer)))
  ))

const graphileCase = async (port: number): Promise<Result | string> => {
  const worker = await import("graphile-worker").catch((e: unknown) => `graphile-worker not installed: ${String(e)}`)
  if (typeof worker === "string") return worker
  const connectionString = `postgres://postgres@127.0.0.1:${port}/postgres`
  const started: Array<number> = []
  const done: Array<number> = []
  const left = { n: jobs + 1 }
  const runner = await worker.run({
    connectionString,
    concurrency: 10,
    noHandleSignals: true,
    pollInterval: 250,
    logger: new worker.Logger(() => () => {}),
    taskList: {
      bench: async (payload) => {
        const i = (payload as { i: number }).i
        if (i >= 0) done[i] = performance.now()
        left.n--
      }
    }
  })
  const utils = await worker.makeWorkerUtils({ connectionString })
  await utils.addJob("bench", { i: -1 })
  while (left.n > jobs) await new Promise((r) => setTimeout(r, 5))
  const t0 = performance.now()
  for (let i = 0; i < jobs; i++) {
    started[i] = performance.now()
    await utils.addJob("bench", { i })
  }
  const enqueueMs = performance.now() - t0
  while (left.n > 0) await new Promise((r) => setTimeout(r, 2))
  await utils.release()
  await runner.stop()
  return summarise("graphile-worker 0.18 (Postgres)", started, done, enqueueMs, t0)
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

const results: Array<Result | string> = []
const dir = mkdtempSync(join(tmpdir(), "hookbus-bench-durable-"))
try {
  results.push(
    await hookbusCase(
      "hookbus/durable (SQLite, node:sqlite)",
      Durable.layerSqlite({ filename: join(dir, "jobs.db"), pollInterval: "20 millis" })
    )
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const pgDir = mkdtempSync(join(tmpdir(), "hookbus-bench-pg-"))
const script = join(root, "scripts/postgres.sh")
const port = Number(execFileSync("bash", [script, "start", pgDir], { encoding: "utf8" }).trim())
try {
  results.push(
    await hookbusCase(
      "hookbus/durable (Postgres, one runner)",
      Durable.layerPostgres({
        host: "127.0.0.1",
        port,
        username: "postgres",
        database: "postgres",
        runner: { host: "127.0.0.1", port: await freePort() },
        pollInterval: "20 millis"
      })
    )
  )
  results.push(await graphileCase(port))
} finally {
  execFileSync("bash", [script, "stop", pgDir])
}

console.log(`${jobs} jobs, each doAction / addJob awaited before the next; latency from enqueue to the handler.\n`)
console.log("| case | enqueue (jobs/s) | latency p50 (ms) | latency p95 (ms) | all done after (s) |")
console.log("|---|---|---|---|---|")
for (const r of results) {
  if (typeof r === "string") console.log(`| ${r} | | | | |`)
  else {
    console.log(
      `| ${r.name} | ${r.enqueuePerSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${
        r.drainSeconds.toFixed(2)
      } |`
    )
  }
}
process.exit(0)
