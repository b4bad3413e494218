/**
 * Durable hook actions on real SQLite storage (node:sqlite files in a temporary directory): registration rules,
 * persistence before `doAction` returns, idempotent dispatch ids, retries with backoff (under TestClock), a failed
 * job keeping its last cause, retry/cancel, scheduled actions, bad arguments persisting nothing, and a runner
 * process killed with SIGKILL while transactional jobs are in flight, restarted, every side effect happening once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { fileURLToPath } from "node:url"
import {
  CurrentJob,
  Durable,
  DurableArgsRejected,
  type JobInfo,
  JobSql,
  type ScheduleInfo
} from "../src/durable/index.ts"
import { type ActionFailed, Hook, HookBus, type RegistrationRejected } from "../src/index.ts"
import { awaitStatus, tempDb, withDurable, withDurableAt } from "./fixtures/durable/harness.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const PostSaved = Hook.action("post.saved", { args: [Schema.String, Schema.Number] })
const Untyped = Hook.action<[string]>("post.untyped")

describe("durable registration", () => {
  it.live("an untyped hook is refused with RegistrationRejected UntypedHook naming the hook", () =>
    withDurable((bus) =>
      Effect.gen(function*() {
        const error: RegistrationRejected = yield* Effect.flip(
          bus.addAction(Untyped, () => Effect.void, { mode: "durable", source: "audit" })
        )
        assert.strictEqual(error.reason, "UntypedHook")
        assert.strictEqual(error.hook, "post.untyped")
        assert.include(error.message, "post.untyped")
      })
    ))

  it.effect("without a durable layer, mode durable is refused (DurableUnavailable)", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const error = yield* Effect.flip(bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "a" }))
      assert.strictEqual(error.reason, "DurableUnavailable")
      assert.include(error.message, "hookbus/durable")
    }).pipe(Effect.provide(HookBus.layer)))

  it.live("a durable handler needs a source, valid retry options, and shows as mode durable", () =>
    withDurable((bus) =>
      Effect.gen(function*() {
        const noSource = yield* Effect.flip(bus.addAction(PostSaved, () => Effect.void, { mode: "durable" }))
        assert.strictEqual(noSource.reason, "InvalidOption")
        const badRetry = yield* Effect.flip(
          bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "a", retry: { maxAttempts: 0 } })
        )
        assert.include(badRetry.message, "retry.maxAttempts")
        const retryOnSync = yield* Effect.flip(bus.addAction(PostSaved, () => Effect.void, { retry: {} }))
        assert.include(retryOnSync.message, "durable")
        const transactionalOnAsync = yield* Effect.flip(
          bus.addAction(PostSaved, () => Effect.void, { mode: "async", transactional: true })
        )
        assert.include(transactionalOnAsync.message, "transactional applies to durable action handlers only")
        const notBoolean = yield* Effect.flip(
          bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "a", transactional: "yes" as any })
        )
        assert.include(notBoolean.message, "transactional must be a boolean")
        yield* bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "audit" })
        const twice = yield* Effect.flip(
          bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "audit" })
        )
        assert.include(twice.message, "already registered")
        const [info] = yield* bus.handlers(PostSaved)
        assert.strictEqual(info.mode, "durable")
        assert.strictEqual(info.source, "audit")
      })
    ))
})

describe("durable execution (SQLite)", () => {
  it.live("doAction returns once the job is stored; the job runs with the job context and ends done", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const seen = yield* Ref.make<ReadonlyArray<string>>([])
        yield* bus.addAction(
          PostSaved,
          (id, n) =>
            Effect.flatMap(CurrentJob, (job) => Ref.update(seen, (xs) => [...xs, `${id}:${n}:${job?.attempt}`])),
          { mode: "durable", source: "audit" }
        )
        const receipt = yield* durable.doAction(PostSaved, "p1", 7)
        assert.strictEqual(receipt.jobs.length, 1)
        const stored = yield* durable.get(receipt.jobs[0])
        assert.isTrue(["queued", "running", "done"].includes(stored.status))
        const done = yield* awaitStatus(durable, receipt.jobs[0], ["done"])
        assert.strictEqual(done.attempts, 1)
        assert.deepStrictEqual(yield* Ref.get(seen), ["p1:7:1"])
        // Plain bus.doAction persists too.
        yield* bus.doAction(PostSaved, "p2", 8)
        const all = yield* durable.list({ hook: "post.saved" })
        assert.strictEqual(all.length, 2)
      })
    ))

  it.live("the same dispatch id submitted twice persists one job and runs it once", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const runs = yield* Ref.make(0)
        yield* bus.addAction(PostSaved, () => Ref.update(runs, (n) => n + 1), { mode: "durable", source: "audit" })
        const a = yield* durable.doActionWithId("order-42", PostSaved, "p", 1)
        const b = yield* durable.doActionWithId("order-42", PostSaved, "p", 1)
        assert.deepStrictEqual(a.jobs, b.jobs)
        yield* awaitStatus(durable, a.jobs[0], ["done"])
        const c = yield* durable.doActionWithId("order-42", PostSaved, "p", 1)
        assert.deepStrictEqual(c.jobs, a.jobs)
        yield* Effect.sleep("200 millis")
        assert.strictEqual(yield* Ref.get(runs), 1)
        assert.strictEqual((yield* durable.list()).length, 1)
      })
    ))

  it.live("bus.doAction and doActionParallel return the ids of the jobs they stored; other actions return none", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const Plain = Hook.action<[string]>("post.plain")
        yield* bus.addAction(Plain, () => Effect.void)
        yield* bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "audit" })
        yield* bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "search" })
        yield* bus.addAction(PostSaved, () => Effect.void, { source: "sync" })
        const jobs = yield* bus.doAction(PostSaved, "p1", 1)
        assert.strictEqual(jobs.length, 2)
        assert.deepStrictEqual(jobs.map((id) => id.split("/").slice(0, 2).join("/")), [
          "post.saved/audit",
          "post.saved/search"
        ])
        // One dispatch id for the dispatch's jobs; a new one for the next dispatch.
        const dispatchOf = (id: string) => id.split("/")[2]
        assert.strictEqual(dispatchOf(jobs[0]), dispatchOf(jobs[1]))
        const stored = yield* durable.get(jobs[0])
        assert.strictEqual(stored.hook, "post.saved")
        const parallel = yield* bus.doActionParallel(PostSaved, "p2", 2)
        assert.sameMembers(parallel.map((id) => id.split("/")[1]), ["audit", "search"])
        assert.notStrictEqual(dispatchOf(parallel[0]), dispatchOf(jobs[0]))
        assert.deepStrictEqual(yield* bus.doAction(Plain, "x"), [])
        assert.strictEqual((yield* durable.list({ hook: "post.saved" })).length, 4)
      })
    ))

  it.live("a dispatch id asked for is taken by that hook's dispatch only, not by the dispatches it makes", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const Outer = Hook.action("order.placed", { args: [Schema.String] })
        yield* bus.addAction(Outer, (id) => Effect.asVoid(bus.doAction(PostSaved, id, 1)), { source: "fan" })
        yield* bus.addAction(Outer, () => Effect.void, { mode: "durable", source: "mail" })
        yield* bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "audit" })
        const receipt = yield* durable.doActionWithId("order-7", Outer, "p9")
        assert.deepStrictEqual(receipt.jobs, ["order.placed/mail/order-7"])
        const nested = yield* durable.list({ hook: "post.saved" })
        assert.strictEqual(nested.length, 1)
        assert.notInclude(nested[0].id, "order-7")
      })
    ))

  it.live("bus.durable lists, gets, counts, retries and cancels the jobs of the runner provided", () =>
    withDurable((bus) =>
      Effect.gen(function*() {
        // The first run fails; a retried one runs until it is cancelled.
        let runs = 0
        yield* bus.addAction(PostSaved, () => runs++ === 0 ? Effect.fail("boom") : Effect.never, {
          mode: "durable",
          source: "audit",
          retry: { maxAttempts: 1 }
        })
        const [id] = yield* bus.doAction(PostSaved, "p1", 1)
        let job = yield* bus.durable.get(id)
        for (let i = 0; i < 500 && job.status !== "failed"; i++) {
          yield* Effect.sleep("10 millis")
          job = yield* bus.durable.get(id)
        }
        assert.strictEqual(job.status, "failed")
        assert.include(job.lastError, "boom")
        assert.deepStrictEqual((yield* bus.durable.list({ status: "failed" })).map((j) => j.id), [id])
        assert.strictEqual((yield* bus.durable.counts).failed, 1)
        const retried = yield* bus.durable.retry(id)
        assert.strictEqual(retried.round, 1)
        for (let i = 0; i < 500 && job.status !== "running"; i++) {
          yield* Effect.sleep("10 millis")
          job = yield* bus.durable.get(id)
        }
        assert.strictEqual(job.status, "running")
        const cancelled = yield* bus.durable.cancel(id)
        assert.strictEqual(cancelled.status, "cancelled")
        assert.strictEqual((yield* bus.durable.get(id)).status, "cancelled")
        const missing = yield* Effect.flip(bus.durable.get("no/such/job"))
        assert.strictEqual(missing._tag, "DurableJobNotFound")
      })
    ))

  it.effect("without a durable runner, bus.durable fails with DurableUnavailable naming the operation", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const error = yield* Effect.flip(bus.durable.list())
      assert.strictEqual(error._tag, "DurableUnavailable")
      assert.include(error.message, "bus.durable.list")
      assert.include(error.message, "Durable.layerSqlite")
      const counted = yield* Effect.flip(bus.durable.counts)
      assert.strictEqual(counted._tag, "DurableUnavailable")
      const stub = yield* Effect.flip(
        Effect.flatMap(HookBus, (b) => b.durable.cancel("x")).pipe(Effect.provide(HookBus.layerStub({})))
      )
      assert.strictEqual(stub._tag, "DurableUnavailable")
    }).pipe(Effect.provide(HookBus.layer)))

  it.live("a transactional handler's writes commit with its job's done mark, and roll back with a failed attempt", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const Write = Hook.action("note.write", { args: [Schema.String, Schema.Boolean] })
        const Read = Hook.action("note.read", { args: [] })
        const seen = yield* Ref.make<ReadonlyArray<string>>([])
        yield* bus.addAction(
          Write,
          (note, fail) =>
            Effect.flatMap(JobSql, (sql) =>
              sql`CREATE TABLE IF NOT EXISTS notes (note TEXT NOT NULL)`.pipe(
                Effect.andThen(sql`INSERT INTO notes (note) VALUES (${note})`),
                Effect.andThen(fail ? Effect.fail(`refused ${note}`) : Effect.void)
              )),
          { mode: "durable", source: "notes", transactional: true, retry: { maxAttempts: 1 } }
        )
        yield* bus.addAction(
          Read,
          () =>
            Effect.flatMap(JobSql, (sql) =>
              Effect.flatMap(sql<{ note: string }>`SELECT note FROM notes ORDER BY note`, (rows) =>
                Ref.set(
                  seen,
                  rows.map((r) =>
                    r.note
                  )
                ))),
          { mode: "durable", source: "reader", transactional: true }
        )
        const [kept] = yield* bus.doAction(Write, "kept", false)
        const [refused] = yield* bus.doAction(Write, "refused", true)
        yield* awaitStatus(durable, kept, ["done"])
        const failed = yield* awaitStatus(durable, refused, ["failed"])
        assert.include(failed.lastError, "refused refused")
        const [read] = yield* bus.doAction(Read)
        yield* awaitStatus(durable, read, ["done"])
        assert.deepStrictEqual(yield* Ref.get(seen), ["kept"])
        // Outside a transactional attempt, JobSql is a typed failure.
        const outside = yield* Effect.flip(JobSql)
        assert.strictEqual(outside._tag, "DurableNotTransactional")
        assert.include(outside.message, "transactional: true")
      })
    ))

  it.live("arguments that do not encode fail doAction with DurableArgsRejected and persist nothing", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        yield* bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "audit" })
        const error = (yield* Effect.flip(bus.doAction(PostSaved, 42 as unknown as string, 1))) as ActionFailed
        const failure = error.failures[0]
        assert.strictEqual(failure.source, "audit")
        const cause = Cause.findErrorOption(failure.cause)
        assert.isTrue(cause._tag === "Some" && cause.value instanceof DurableArgsRejected)
        if (cause._tag === "Some" && cause.value instanceof DurableArgsRejected) {
          assert.strictEqual(cause.value.hook, "post.saved")
        }
        assert.deepStrictEqual(yield* durable.list(), [])
      })
    ))

  it.live("a handler that keeps failing ends failed with its last cause; retry runs it again, from attempt 1", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const calls = yield* Ref.make(0)
        yield* bus.addAction(
          PostSaved,
          (id) =>
            Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), (n) =>
              n <= 2 ? Effect.fail(`refused ${id} #${n}`) : Effect.void),
          { mode: "durable", source: "flaky", retry: { maxAttempts: 2, initialDelay: "5 millis" } }
        )
        const { jobs } = yield* durable.doAction(PostSaved, "p9", 1)
        const failed = yield* awaitStatus(durable, jobs[0], ["failed"])
        assert.strictEqual(failed.attempts, 2)
        assert.include(failed.lastError ?? "", "refused p9 #2")
        assert.deepStrictEqual(
          (yield* durable.list({ status: "failed" })).map((j) =>
            j.id
          ),
          jobs
        )
        const retried = yield* durable.retry(jobs[0])
        assert.strictEqual(retried.round, 1)
        const done = yield* awaitStatus(durable, jobs[0], ["done"])
        assert.strictEqual(done.attempts, 1)
        assert.strictEqual(done.lastError, undefined)
        assert.strictEqual(yield* Ref.get(calls), 3)
        const notFailed = yield* Effect.flip(durable.retry(jobs[0]))
        assert.strictEqual(notFailed._tag, "DurableJobState")
        const missing = yield* Effect.flip(durable.retry("no-such-job"))
        assert.strictEqual(missing._tag, "DurableJobNotFound")
      })
    ))

  it.live("cancel stops a scheduled job before it starts; scheduleAction with a delay runs after it", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const runs = yield* Ref.make<ReadonlyArray<string>>([])
        yield* bus.addAction(PostSaved, (id) => Ref.update(runs, (xs) => [...xs, id]), {
          mode: "durable",
          source: "audit"
        })
        const later = yield* durable.scheduleAction(PostSaved, { delay: "1 hour" }, "later", 1)
        const soon = yield* durable.scheduleAction(PostSaved, { delay: "50 millis" }, "soon", 2)
        const job = yield* durable.get(later.jobs[0])
        assert.isAtLeast(job.runAt - job.createdAt, 3_599_000)
        const cancelled = yield* durable.cancel(later.jobs[0])
        assert.strictEqual(cancelled.status, "cancelled")
        yield* awaitStatus(durable, soon.jobs[0], ["done"])
        assert.deepStrictEqual(yield* Ref.get(runs), ["soon"])
        const again = yield* Effect.flip(durable.cancel(soon.jobs[0]))
        assert.strictEqual(again._tag, "DurableJobState")
        const counts = yield* durable.counts
        assert.strictEqual(counts.done, 1)
        assert.strictEqual(counts.cancelled, 1)
      })
    ))

  it.effect("retries wait the exponential backoff on the durable clock (TestClock)", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const attempts = yield* Ref.make<ReadonlyArray<number>>([])
        yield* bus.addAction(
          PostSaved,
          () =>
            Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (now) =>
              Effect.andThen(Ref.update(attempts, (xs) => [...xs, now]), Effect.fail("not yet"))),
          { mode: "durable", source: "backoff", retry: { maxAttempts: 4, initialDelay: "2 seconds", factor: 2 } }
        )
        const { jobs } = yield* durable.doAction(PostSaved, "p", 1)
        // Move the clock half a second at a time, letting the runner work between steps.
        for (let i = 0; i < 100 && (yield* Ref.get(attempts)).length < 4; i++) {
          yield* TestClock.adjust("500 millis")
          yield* Effect.sleep("0 millis")
        }
        const times = yield* Ref.get(attempts)
        assert.strictEqual(times.length, 4)
        const gaps = times.slice(1).map((t, i) =>
          t - times[i]
        )
        // 2 s, 4 s, 8 s, each to within the 0.5 s steps the clock moved by.
        for (const [gap, expected] of gaps.map((g, i) => [g, [2_000, 4_000, 8_000][i]])) {
          assert.isAtLeast(gap, expected)
          assert.isAtMost(gap, expected + 1_000)
        }
        for (let i = 0; i < 50; i++) {
          if ((yield* durable.get(jobs[0])).status === "failed") break
          yield* TestClock.adjust("500 millis")
        }
        assert.strictEqual((yield* durable.get(jobs[0])).status, "failed")
      })
    ))
})

/** Runs the runner fixture; resolves with the process once it printed `marker`. */
const runner = (args: ReadonlyArray<string>, marker = "ready") =>
  Effect.acquireRelease(
    Effect.callback<ChildProcess>((resume) => {
      const child = spawn(process.execPath, ["test/fixtures/durable/runner.ts", ...args], { cwd: root })
      let out = ""
      child.stdout.on("data", (d) => {
        out += String(d)
        if (out.includes(marker)) resume(Effect.succeed(child))
      })
      child.stderr.on("data", (d) => (out += String(d)))
      child.on("exit", (code) => resume(Effect.die(new Error(`runner exited with ${code}: ${out}`))))
    }),
    (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

const exited = (child: ChildProcess) =>
  Effect.callback<number | null>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) resume(Effect.succeed(child.exitCode))
    else child.on("exit", (code) => resume(Effect.succeed(code)))
  })

const effectRows = (file: string) =>
  Effect.sync(() => {
    const db = new DatabaseSync(file, { timeout: 10_000, readOnly: true })
    try {
      const exists = db.prepare("SELECT name FROM sqlite_master WHERE name = 'effects'").get()
      return exists === undefined
        ? []
        : db.prepare("SELECT job, runs FROM effects").all() as Array<{ job: string; runs: number }>
    } finally {
      db.close()
    }
  })

describe("durable runner crash", () => {
  it.live(
    "SIGKILL with jobs in flight; after a restart every transactional job's side effect happened exactly once",
    () =>
      Effect.gen(function*() {
        const file = yield* tempDb
        const jobs = 40
        const first = yield* runner(["sqlite", file, "A", "--enqueue", String(jobs)], "enqueued")
        let before: ReadonlyArray<{ job: string; runs: number }> = []
        for (let i = 0; i < 2_000 && before.length < 8; i++) {
          yield* Effect.sleep("5 millis")
          before = yield* effectRows(file)
        }
        first.kill("SIGKILL")
        assert.strictEqual(yield* exited(first), null)
        assert.isAtLeast(before.length, 8)
        const killedAt = yield* effectRows(file)
        assert.isBelow(killedAt.length, jobs, "the kill came before every job ran")
        const second = yield* runner(["sqlite", file, "B", "--until", String(jobs)])
        assert.strictEqual(yield* exited(second), 0)
        const after = yield* effectRows(file)
        // Every job has its side effect, counted once: an attempt the kill cut short rolled back with its
        // transaction, and one whose done mark committed before its stored result is not run again on replay.
        assert.strictEqual(after.length, jobs)
        assert.deepStrictEqual(new Set(after.map((r) => r.job)).size, jobs)
        for (const r of after) assert.strictEqual(r.runs, 1, `${r.job} ran ${r.runs} times`)
        const db = new DatabaseSync(file)
        const statuses = db.prepare("SELECT status, COUNT(*) AS n FROM hookbus_durable_jobs GROUP BY status").all()
        db.close()
        assert.deepStrictEqual(statuses, [{ status: "done", n: jobs }])
      }),
    60_000
  )
})

describe("hookbus jobs", () => {
  const cli = (...args: Array<string>) => {
    const result = spawnSync(process.execPath, ["src/cli/main.ts", "jobs", ...args], { cwd: root, encoding: "utf8" })
    return { code: result.status, stdout: result.stdout, stderr: result.stderr }
  }

  it.live("lists a store's jobs with status, attempts and last error; bad flags exit 2", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      yield* withDurableAt(file, (bus, durable) =>
        Effect.gen(function*() {
          yield* bus.addAction(PostSaved, (id) => id === "bad" ? Effect.fail(`no audit for ${id}`) : Effect.void, {
            mode: "durable",
            source: "audit",
            retry: { maxAttempts: 2, initialDelay: "5 millis" }
          })
          const ok = yield* durable.doActionWithId("ok-1", PostSaved, "good", 1)
          const bad = yield* durable.doActionWithId("bad-1", PostSaved, "bad", 2)
          yield* awaitStatus(durable, ok.jobs[0], ["done"])
          yield* awaitStatus(durable, bad.jobs[0], ["failed"])
        }))
      const all = cli("--sqlite", file)
      assert.strictEqual(all.code, 0, all.stderr)
      assert.match(all.stdout, /^queued 0 · running 0 · retrying 0 · failed 1 · done 1 · cancelled 0\n/)
      assert.match(all.stdout, /post\.saved\/audit\/bad-1 +failed +2\/2 +\S+ +.*no audit for bad/)
      assert.match(all.stdout, /post\.saved\/audit\/ok-1 +done +1\/2 +\S+\n/)
      const failed = cli("--sqlite", file, "--status", "failed", "--json")
      assert.strictEqual(failed.code, 0, failed.stderr)
      const json = JSON.parse(failed.stdout)
      assert.deepStrictEqual(json.jobs.map((j: JobInfo) => j.id), ["post.saved/audit/bad-1"])
      assert.strictEqual(json.counts.done, 1)
      const none = cli()
      assert.deepStrictEqual([none.code, none.stderr.trim()], [
        2,
        "hookbus: pass one of --sqlite <file> or --postgres <url>"
      ])
      const missing = cli("--sqlite", join(file, "..", "nope.db"))
      assert.strictEqual(missing.code, 2)
      assert.include(missing.stderr, "no such file")
    }))

  it.live("--schedules lists the recurring schedules with their last and next ticks; --hook narrows, --json", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      const declared = yield* withDurableAt(file, (bus, durable) =>
        Effect.gen(function*() {
          yield* bus.addAction(PostSaved, () => Effect.void, { mode: "durable", source: "audit" })
          const nightly = yield* durable.scheduleAction(PostSaved, { cron: "0 3 * * *", id: "nightly" }, "all", 1)
          const paris = yield* durable.scheduleAction(
            PostSaved,
            { cron: "30 8 * * 1-5", id: "weekdays", tz: "Europe/Paris" },
            "some",
            2
          )
          return [nightly, paris]
        }))
      const all = cli("--sqlite", file, "--schedules")
      assert.strictEqual(all.code, 0, all.stderr)
      const lines = all.stdout.trimEnd().split("\n")
      assert.strictEqual(lines[0], "2 schedules")
      assert.match(lines[1], /^id +hook +cron +tz +last tick +next tick$/)
      // Never ticked (the runner was stopped long before 03:00 came): "-"; the next tick as an ISO time.
      assert.match(lines[2], /^nightly +post\.saved +0 3 \* \* \* +UTC +- +\d{4}-\d\d-\d\dT03:00:00\.000Z$/)
      assert.match(lines[3], /^weekdays +post\.saved +30 8 \* \* 1-5 +Europe\/Paris +- +\S+Z$/)
      const json = cli("--sqlite", file, "--schedules", "--hook", "post.saved", "--json")
      assert.strictEqual(json.code, 0, json.stderr)
      const listed = JSON.parse(json.stdout).schedules
      assert.deepStrictEqual(
        listed.map((s: ScheduleInfo) => [s.id, s.cron, s.tz, s.createdAt]),
        declared.map((s) => [s.id, s.cron, s.tz, s.createdAt])
      )
      assert.deepStrictEqual(listed.map((s: ScheduleInfo) => s.nextTickAt >= declared[0].createdAt), [true, true])
      const other = cli("--sqlite", file, "--schedules", "--hook", "other.hook")
      assert.deepStrictEqual([other.code, other.stdout], [0, "0 schedules\n"])
      const mixed = cli("--sqlite", file, "--schedules", "--status", "failed")
      assert.deepStrictEqual([mixed.code, mixed.stderr.trim()], [
        2,
        "hookbus: --schedules lists schedules: it takes --hook and --json, not --status"
      ])
    }))
})

describe("durable exits", () => {
  it.live("a runner that cannot open its store fails to start with DurableStorageError connect", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.scoped(Layer.build(Durable.layerSqlite({ filename: "/nonexistent-dir/for/sure/jobs.db" })))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = Cause.findErrorOption(exit.cause)
        assert.isTrue(error._tag === "Some" && error.value._tag === "DurableStorageError")
      }
    }))
})
