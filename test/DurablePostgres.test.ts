/**
 * Durable hook actions on a real PostgreSQL (Debian's server, started by scripts/postgres.sh from a temporary data
 * directory on 127.0.0.1 and a free port, stopped afterwards): two runner processes share 1,000 jobs, each run
 * exactly once and both taking part; a server that is down makes the runner fail to start, and `doAction` fail,
 * with DurableStorageError within the timeout.
 */
import { PgClient } from "@effect/sql-pg"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Durable, DurableStorageError } from "../src/durable/index.ts"
import { type ActionFailed, Hook, HookBus } from "../src/index.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const script = join(root, "scripts/postgres.sh")

const startServer = () => {
  const dir = mkdtempSync(join(tmpdir(), "hookbus-pg-"))
  const port = Number(execFileSync("bash", [script, "start", dir], { encoding: "utf8" }).trim())
  return { dir, port, stop: () => execFileSync("bash", [script, "stop", dir]) }
}

const freePort = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0)))
  })
})

let server: ReturnType<typeof startServer>
beforeAll(() => {
  server = startServer()
}, 90_000)
afterAll(() => server?.stop())

const runner = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, ["test/fixtures/durable/runner.ts", ...args], { cwd: root })
      let out = ""
      child.stdout.on("data", (d) => (out += String(d)))
      child.stderr.on("data", (d) => (out += String(d)))
      return { child, output: () => out }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

const exited = (child: ChildProcess) =>
  Effect.callback<number | null>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) resume(Effect.succeed(child.exitCode))
    else child.on("exit", (code) => resume(Effect.succeed(code)))
  })

const pg = (port: number) => PgClient.layer({ host: "127.0.0.1", port, username: "postgres", database: "postgres" })

describe("durable on Postgres", () => {
  it.live(
    "two runner processes, 1,000 jobs: each runs exactly once and both runners take part",
    () =>
      Effect.gen(function*() {
        const jobs = 1_000
        const a = yield* runner([
          "postgres",
          String(server.port),
          "A",
          String(yield* freePort),
          "--until",
          String(jobs)
        ])
        const b = yield* runner([
          "postgres",
          String(server.port),
          "B",
          String(yield* freePort),
          "--enqueue",
          String(jobs),
          "--until",
          String(jobs),
          "--wait-stdin"
        ])
        // Work starts once both runners own shards (all 300 locked, by two connections; on Postgres a shard lock
        // is an advisory lock): the test is about sharing the work, not about the moment shards move to a runner
        // that joins.
        for (let i = 0; i < 900; i++) {
          const locks = yield* SqlClient.SqlClient.use((sql) =>
            sql<{ runners: number; shards: number }>`
              SELECT COUNT(DISTINCT pid)::int AS runners, COUNT(*)::int AS shards
              FROM pg_locks WHERE locktype = 'advisory' AND granted`
          ).pipe(Effect.provide(pg(server.port)), Effect.orElseSucceed(() => [{ runners: 0, shards: 0 }]))
          if (locks[0].runners === 2 && locks[0].shards === 300) break
          yield* Effect.sleep("100 millis")
        }
        b.child.stdin?.write("go\n")
        const [codeA, codeB] = yield* Effect.all([exited(a.child), exited(b.child)], { concurrency: 2 })
        assert.strictEqual(codeA, 0, a.output())
        assert.strictEqual(codeB, 0, b.output())
        const rows = yield* SqlClient.SqlClient.use((sql) =>
          sql<{ runner: string; runs: number; distinct_jobs: number }>`
          SELECT runner, COUNT(*)::int AS runs, COUNT(DISTINCT job)::int AS distinct_jobs FROM effects GROUP BY runner`
        ).pipe(Effect.provide(pg(server.port)))
        const total = yield* SqlClient.SqlClient.use((sql) =>
          sql<{ runs: number; distinct_jobs: number }>`
          SELECT COUNT(*)::int AS runs, COUNT(DISTINCT job)::int AS distinct_jobs FROM effects`
        ).pipe(Effect.provide(pg(server.port)))
        assert.deepStrictEqual(total[0], { runs: jobs, distinct_jobs: jobs }, "every job ran, none twice")
        assert.deepStrictEqual(rows.map((r) => r.runner).sort(), ["A", "B"], "both runners took part")
        for (const r of rows) assert.isAbove(r.runs, 0)
        const statuses = yield* SqlClient.SqlClient.use((sql) =>
          sql<
            { status: string; n: number }
          >`SELECT status, COUNT(*)::int AS n FROM hookbus_durable_jobs GROUP BY status`
        ).pipe(Effect.provide(pg(server.port)))
        assert.deepStrictEqual(statuses, [{ status: "done", n: jobs }])
      }),
    120_000
  )

  it.live(
    "a cron schedule declared by two runner processes on one Postgres fires each tick once",
    () =>
      Effect.gen(function*() {
        const ticks = 6
        yield* SqlClient.SqlClient.use((sql) => sql`CREATE DATABASE cron_ticks`).pipe(Effect.provide(pg(server.port)))
        const start = (name: string) =>
          Effect.flatMap(freePort, (port) =>
            runner([
              "postgres",
              String(server.port),
              name,
              String(port),
              "--db",
              "cron_ticks",
              "--cron",
              "* * * * * *",
              "--until",
              String(ticks),
              "--wait-stdin"
            ]))
        const [a, b] = [yield* start("A"), yield* start("B")]
        for (let i = 0; i < 900; i++) {
          const locks = yield* SqlClient.SqlClient.use((sql) =>
            sql<{ runners: number; shards: number }>`
              SELECT COUNT(DISTINCT pid)::int AS runners, COUNT(*)::int AS shards
              FROM pg_locks WHERE locktype = 'advisory' AND granted AND database =
                (SELECT oid FROM pg_database WHERE datname = 'cron_ticks')`
          ).pipe(Effect.provide(pg(server.port)), Effect.orElseSucceed(() => [{ runners: 0, shards: 0 }]))
          if (locks[0].runners === 2 && locks[0].shards === 300) break
          yield* Effect.sleep("100 millis")
        }
        // Both declare the schedule (one row: the same definition), each starting its ticks.
        a.child.stdin?.write("go\n")
        b.child.stdin?.write("go\n")
        const [codeA, codeB] = yield* Effect.all([exited(a.child), exited(b.child)], { concurrency: 2 })
        assert.strictEqual(codeA, 0, a.output())
        assert.strictEqual(codeB, 0, b.output())
        const db = PgClient.layer({
          host: "127.0.0.1",
          port: server.port,
          username: "postgres",
          database: "cron_ticks"
        })
        const runs = yield* SqlClient.SqlClient.use((sql) => sql<{ job: string }>`SELECT job FROM effects`).pipe(
          Effect.provide(db)
        )
        const jobs = runs.map((r) => r.job)
        assert.isAtLeast(jobs.length, ticks)
        assert.strictEqual(new Set(jobs).size, jobs.length, `a tick ran twice: ${jobs.sort().join(", ")}`)
        for (const job of jobs) assert.match(job, /^job\.run\/work\/every-tick#\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
        const schedules = yield* SqlClient.SqlClient.use((sql) =>
          sql<{ n: number }>`SELECT COUNT(*)::int AS n FROM hookbus_durable_schedules`
        ).pipe(Effect.provide(db))
        assert.strictEqual(schedules[0].n, 1)
      }),
    120_000
  )

  it.live(
    "a server that is down: the runner fails to start with DurableStorageError, within its timeout",
    () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(
          Effect.scoped(Layer.build(Durable.layerPostgres({
            host: "127.0.0.1",
            port: yield* freePort,
            username: "postgres",
            runner: { host: "127.0.0.1", port: yield* freePort },
            enqueueTimeout: "1 second"
          }))).pipe(Effect.timeout("20 seconds"))
        )
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = Cause.findErrorOption(exit.cause)
          assert.isTrue(error._tag === "Some" && error.value instanceof DurableStorageError, Cause.pretty(exit.cause))
        }
      }),
    30_000
  )

  it.live(
    "a server that goes down: doAction fails with DurableStorageError within the timeout; stored jobs stay",
    () =>
      Effect.gen(function*() {
        const own = startServer()
        yield* Effect.addFinalizer(() => Effect.sync(() => own.stop()))
        const Saved = Hook.action("post.saved", { args: [Schema.String] })
        const layer = Layer.mergeAll(
          HookBus.layer,
          Durable.layerPostgres({
            host: "127.0.0.1",
            port: own.port,
            username: "postgres",
            database: "postgres",
            runner: { host: "127.0.0.1", port: yield* freePort },
            enqueueTimeout: "2 seconds"
          })
        )
        yield* Effect.gen(function*() {
          const bus = yield* HookBus
          const durable = yield* Durable
          yield* bus.addAction(Saved, () => Effect.never, { mode: "durable", source: "slow" })
          const stored = yield* durable.doAction(Saved, "kept")
          execFileSync("bash", [script, "stop-server", own.dir])
          const started = performance.now()
          const error = (yield* Effect.flip(bus.doAction(Saved, "lost"))) as ActionFailed
          const elapsed = performance.now() - started
          const cause = Cause.findErrorOption(error.failures[0].cause)
          assert.isTrue(cause._tag === "Some" && cause.value instanceof DurableStorageError)
          assert.isBelow(elapsed, 10_000)
          execFileSync("bash", [script, "start-server", own.dir])
          const job = yield* durable.get(stored.jobs[0]).pipe(Effect.retry({ times: 20 }))
          assert.strictEqual(job.id, stored.jobs[0])
        }).pipe(Effect.provide(layer, { local: true }))
      }),
    90_000
  )
})
