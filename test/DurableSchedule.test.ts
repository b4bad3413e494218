/**
 * Recurring (cron) schedules of durable hook actions on real SQLite, under TestClock: each tick fires once per
 * handler with a job id from the schedule and the tick, the schedule is listed, removed and replaced, bad cron input
 * is refused with a one-line typed error, and a schedule keeps firing after its runner is closed and built again on
 * the same file.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Ref, Schema } from "effect"
import { CurrentJob, type DurableScheduleInvalid } from "../src/durable/index.ts"
import { Hook } from "../src/index.ts"
import {
  advanceUntil,
  tempDb,
  withDurable as withDurableFast,
  withDurableAt as withDurableAtFast
} from "./fixtures/durable/harness.ts"

// The clock moves by tens of seconds here: a poll every 2 s of it, not every 20 ms (each poll is a query).
const slow = { pollInterval: "2 seconds" } as const
const withDurable: typeof withDurableFast = (body) => withDurableFast(body, slow)
const withDurableAt: typeof withDurableAtFast = (file, body) => withDurableAtFast(file, body, slow)

const Digest = Hook.action("digest.send", { args: [Schema.String] })

/** A handler recording each run's job id and the time it ran. */
const recorder = Effect.map(
  Ref.make<ReadonlyArray<{ readonly job: string; readonly at: number }>>([]),
  (runs) => ({
    runs,
    handler: (_list: string) =>
      Effect.flatMap(
        Effect.all([CurrentJob, Clock.currentTimeMillis]),
        ([job, at]) => Ref.update(runs, (xs) => [...xs, { job: job!.id, at }])
      )
  })
)

const iso = (ms: number) => new Date(ms).toISOString()

describe("durable cron schedules (SQLite, TestClock)", () => {
  it.effect("each tick fires once, at the tick, as a job whose id names the schedule and the tick", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const { handler, runs } = yield* recorder
        yield* bus.addAction(Digest, handler, { mode: "durable", source: "mail" })
        const start = yield* Clock.currentTimeMillis
        const info = yield* durable.scheduleAction(Digest, { cron: "*/5 * * * *", id: "every-5" }, "weekly")
        const first = Math.ceil((start + 1) / 300_000) * 300_000
        assert.deepStrictEqual(
          { id: info.id, hook: info.hook, cron: info.cron, tz: info.tz, next: info.nextTickAt },
          { id: "every-5", hook: "digest.send", cron: "*/5 * * * *", tz: "UTC", next: first }
        )
        yield* advanceUntil(Effect.map(Ref.get(runs), (xs) => xs.length >= 3), "30 seconds", 100)
        const seen = yield* Ref.get(runs)
        assert.deepStrictEqual(
          seen.map((r) => r.job),
          [0, 1, 2].map((i) => `digest.send/mail/every-5#${iso(first + i * 300_000)}`)
        )
        for (const [i, r] of seen.entries()) {
          // At the tick, to within the clock's 30-second steps and a poll.
          assert.isAtLeast(r.at, first + i * 300_000)
          assert.isAtMost(r.at, first + i * 300_000 + 40_000)
        }
        const jobs = yield* durable.list({ hook: "digest.send" })
        assert.strictEqual(jobs.length, 3)
        assert.isTrue(jobs.every((j) => j.status === "done" && j.runAt % 300_000 === 0))
        const [listed] = yield* durable.schedules()
        assert.strictEqual(listed.lastTickAt, first + 600_000)
      })
    ))

  it.effect("every durable handler of the hook gets the tick; declaring the schedule again changes nothing", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const a = yield* recorder
        const b = yield* recorder
        yield* bus.addAction(Digest, a.handler, { mode: "durable", source: "a" })
        yield* bus.addAction(Digest, b.handler, { mode: "durable", source: "b" })
        const one = yield* durable.scheduleAction(Digest, { cron: "*/10 * * * *", id: "ten" }, "x")
        // As an application would at each start: the same definition keeps the schedule and its waiting ticks.
        const again = yield* durable.scheduleAction(Digest, { cron: " */10  *  * * *", id: "ten" }, "x")
        assert.strictEqual(again.createdAt, one.createdAt)
        assert.strictEqual((yield* durable.schedules()).length, 1)
        yield* advanceUntil(
          Effect.map(Effect.all([Ref.get(a.runs), Ref.get(b.runs)]), ([x, y]) => x.length >= 2 && y.length >= 2),
          "1 minutes",
          100
        )
        yield* advanceUntil(Effect.succeed(false), "1 minutes", 15).pipe(Effect.ignoreCause)
        const ticks = (xs: ReadonlyArray<{ readonly job: string }>) => xs.map((r) => r.job.split("#")[1])
        const [ra, rb] = [yield* Ref.get(a.runs), yield* Ref.get(b.runs)]
        assert.deepStrictEqual(ticks(ra), ticks(rb))
        assert.strictEqual(new Set(ticks(ra)).size, ra.length, "no tick fired twice")
        assert.isTrue(ra.every((r) => r.job.startsWith("digest.send/a/ten#")))
      })
    ))

  it.effect("removing a schedule stops its ticks; replacing it (another expression) fires the new one only", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        const { handler, runs } = yield* recorder
        yield* bus.addAction(Digest, handler, { mode: "durable", source: "mail" })
        yield* durable.scheduleAction(Digest, { cron: "*/10 * * * *", id: "s" }, "x")
        yield* durable.scheduleAction(Digest, { cron: "0 * * * *", id: "gone" }, "y")
        const removed = yield* durable.unschedule("gone")
        assert.strictEqual(removed.cron, "0 * * * *")
        const missing = yield* Effect.flip(durable.unschedule("gone"))
        assert.strictEqual(missing._tag, "DurableScheduleNotFound")
        assert.strictEqual(missing.message, `no durable schedule with id "gone"`)
        yield* advanceUntil(Effect.map(Ref.get(runs), (xs) => xs.length >= 1), "30 seconds", 100)
        const replaced = yield* durable.scheduleAction(Digest, { cron: "*/7 * * * *", id: "s" }, "x")
        assert.strictEqual(replaced.cron, "*/7 * * * *")
        yield* advanceUntil(Effect.map(Ref.get(runs), (xs) => xs.length >= 4), "30 seconds", 200)
        const minutes = (yield* Ref.get(runs)).map((r) => new Date(r.job.split("#")[1]).getUTCMinutes())
        // The first tick of */10, then only */7's (0, 7, 14, ... within the hour): never 0 * * * *'s, nor */10's.
        assert.strictEqual(minutes[0] % 10, 0)
        for (const m of minutes.slice(1)) assert.strictEqual(m % 7, 0, `minute ${m}`)
        assert.deepStrictEqual((yield* durable.schedules()).map((s) => s.id), ["s"])
        assert.isTrue((yield* durable.list()).every((j) => !j.id.includes("/gone#")))
      })
    ))

  it.effect("bad cron input fails with DurableScheduleInvalid, one line naming the problem, and stores nothing", () =>
    withDurable((bus, durable) =>
      Effect.gen(function*() {
        yield* bus.addAction(Digest, () => Effect.void, { mode: "durable", source: "mail" })
        const cases: ReadonlyArray<readonly [{ readonly cron: string; readonly tz?: string }, string]> = [
          [{ cron: "61 * * * *" }, `invalid cron "61 * * * *": Expected a value between 0 and 59`],
          [{ cron: "* * *" }, `invalid cron "* * *": Invalid number of segments in cron expression`],
          [{ cron: "0 0 31 2 *" }, `invalid cron "0 0 31 2 *": it matches no date`],
          [{ cron: "0 3 * * *", tz: "Mars/Olympus" }, `invalid cron "0 3 * * *" in Mars/Olympus: unknown time zone`]
        ]
        for (const [when, message] of cases) {
          const error = (yield* Effect.flip(durable.scheduleAction(Digest, when, "x"))) as DurableScheduleInvalid
          assert.strictEqual(error._tag, "DurableScheduleInvalid")
          assert.include(error.message, message)
          assert.notInclude(error.message, "\n")
        }
        const badArgs = yield* Effect.flip(durable.scheduleAction(Digest, { cron: "* * * * *" }, 42 as never))
        assert.strictEqual(badArgs._tag, "DurableArgsRejected")
        assert.deepStrictEqual(yield* durable.schedules(), [])
        // The default id: the hook, the expression and the arguments.
        const info = yield* durable.scheduleAction(Digest, { cron: "0 3 * * *", tz: "Europe/Paris" }, "x")
        assert.strictEqual(info.id, `digest.send 0 3 * * * ["x"]`)
        assert.strictEqual(new Date(info.nextTickAt).getUTCHours(), 2) // 03:00 in Paris in winter (TestClock's 1970)
      })
    ))

  it.effect("a schedule survives its runner: closed and built again on the same file, it keeps firing once a tick", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      const { handler, runs } = yield* recorder
      yield* withDurableAt(file, (bus, durable) =>
        Effect.gen(function*() {
          yield* bus.addAction(Digest, handler, { mode: "durable", source: "mail" })
          yield* durable.scheduleAction(Digest, { cron: "*/5 * * * *", id: "five" }, "x")
          yield* advanceUntil(Effect.map(Ref.get(runs), (xs) => xs.length >= 1), "30 seconds", 100)
        }))
      const before = (yield* Ref.get(runs)).length
      // Ten minutes with no runner: the ticks missed meanwhile fire once, as one tick, when it is back.
      yield* advanceUntil(Effect.succeed(false), "1 minutes", 10).pipe(Effect.ignoreCause)
      yield* withDurableAt(file, (bus, durable) =>
        Effect.gen(function*() {
          // Only the handler: the schedule comes from the file.
          yield* bus.addAction(Digest, handler, { mode: "durable", source: "mail" })
          yield* advanceUntil(Effect.map(Ref.get(runs), (xs) => xs.length >= before + 3), "30 seconds", 150)
          const jobs = yield* durable.list({ hook: "digest.send" })
          assert.strictEqual(jobs.length, (yield* Ref.get(runs)).length)
          assert.strictEqual(new Set(jobs.map((j) => j.id)).size, jobs.length)
        }))
      const ids = (yield* Ref.get(runs)).map((r) => r.job)
      assert.strictEqual(new Set(ids).size, ids.length, `a tick fired twice: ${ids.join(", ")}`)
      assert.isTrue(ids.every((id) => id.startsWith("digest.send/mail/five#")))
      // The runner closed after 00:05 and came back after 00:15: of the ticks missed meanwhile, the first fired
      // (late) and the others were skipped.
      const ticks = ids.map((id) => id.split("#")[1].slice(11, 16))
      assert.deepStrictEqual(ticks.slice(0, 3), ["00:05", "00:10", "00:20"])
    }))
})
