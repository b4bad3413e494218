/**
 * What durable hook actions show of themselves, on real SQLite: the `hookbus_durable_jobs{status}` gauge read back
 * through effect's Metric API (under TestClock, refreshed every metricsInterval), and the spans
 * `hookbus.durable.enqueue` (a child of the dispatch span) and `hookbus.durable.attempt` (linked to the enqueue
 * span), recorded by a tracer of the test's.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schema, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { recorder } from "../src/cli/TraceTree.ts"
import { Durable } from "../src/durable/index.ts"
import { Hook, HookBus } from "../src/index.ts"
import { advanceUntil, awaitStatus, tempDb } from "./fixtures/durable/harness.ts"

const PostSaved = Hook.action("post.saved", { args: [Schema.String] })

/** The gauge's value per status, from the metric registry's snapshot. */
const gauge = Effect.map(Metric.snapshot, (metrics) => {
  const out: Record<string, number> = {}
  for (const m of metrics) {
    if (m.id !== "hookbus_durable_jobs") continue
    const status = m.attributes?.["status"]
    if (typeof status === "string") out[status] = Number((m.state as { readonly value: number }).value)
  }
  return out
})

describe("durable metrics", () => {
  it.effect("hookbus_durable_jobs{status} counts the store's jobs per status, refreshed every metricsInterval", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      yield* Effect.gen(function*() {
        const bus = yield* HookBus
        const durable = yield* Durable
        yield* bus.addAction(PostSaved, (id) => id === "bad" ? Effect.fail("refused") : Effect.void, {
          mode: "durable",
          source: "audit",
          retry: { maxAttempts: 1 }
        })
        // At start: counted once, an empty store.
        yield* advanceUntil(Effect.map(gauge, (g) => g["done"] === 0), "100 millis", 10)
        const start = yield* gauge
        assert.deepStrictEqual(start, { queued: 0, running: 0, retrying: 0, failed: 0, done: 0, cancelled: 0 })
        yield* durable.doAction(PostSaved, "a")
        yield* durable.doAction(PostSaved, "b")
        yield* durable.doAction(PostSaved, "bad")
        const later = yield* durable.scheduleAction(PostSaved, { delay: "1 hour" }, "later")
        yield* advanceUntil(
          Effect.map(durable.counts, (c) => c.done === 2 && c.failed === 1),
          "100 millis",
          200
        )
        // Not yet refreshed: the gauge changes at the next interval, not on each transition.
        const before = yield* gauge
        assert.strictEqual(before["done"], 0)
        yield* TestClock.adjust("10 seconds")
        yield* advanceUntil(Effect.map(gauge, (g) => g["done"] === 2), "100 millis", 20)
        assert.deepStrictEqual(yield* gauge, { queued: 1, running: 0, retrying: 0, failed: 1, done: 2, cancelled: 0 })
        yield* durable.cancel(later.jobs[0])
        yield* TestClock.adjust("10 seconds")
        yield* advanceUntil(Effect.map(gauge, (g) => g["cancelled"] === 1), "100 millis", 20)
        assert.strictEqual((yield* gauge)["queued"], 0)
      }).pipe(
        Effect.scoped,
        Effect.provide(
          Layer.mergeAll(
            HookBus.layer,
            Durable.layerSqlite({ filename: file, pollInterval: "20 millis", metricsInterval: "10 seconds" })
          ),
          { local: true }
        )
      )
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("layer options that cannot be used fail the layer with InvalidOptions naming the option", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      const build = (layer: Layer.Layer<Durable, unknown>) => Effect.flip(Effect.scoped(Layer.build(layer)))
      const notDuration = yield* build(Durable.layerSqlite({ filename: file, metricsInterval: "often" as never }))
      assert.strictEqual(
        (notDuration as Error).message,
        `invalid Durable.layerSqlite option metricsInterval: must be a finite, positive duration ("5 seconds", a number of milliseconds or a Duration), got "often"`
      )
      const zero = yield* build(Durable.layerSqlite({ filename: file, pollInterval: 0 }))
      assert.strictEqual((zero as { _tag: string })._tag, "InvalidOptions")
      assert.include((zero as Error).message, "option pollInterval")
      const misspelt = yield* build(Durable.layerSqlite({ filename: file, enqueueTimeOut: "1 second" } as never))
      assert.include((misspelt as Error).message, "option enqueueTimeOut: is not an option")
      const port = yield* build(Durable.layerPostgres({ runner: { host: "127.0.0.1", port: -1 } }))
      assert.include((port as Error).message, "invalid Durable.layerPostgres option runner.port")
    }))
})

describe("durable spans", () => {
  it.live("enqueue is a child of the dispatch span; each attempt is linked to the enqueue span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recorder()
      const file = yield* tempDb
      const jobId = yield* Effect.gen(function*() {
        const bus = yield* HookBus
        const durable = yield* Durable
        let calls = 0
        yield* bus.addAction(PostSaved, () => ++calls === 1 ? Effect.fail("once") : Effect.void, {
          mode: "durable",
          source: "audit",
          retry: { maxAttempts: 2, initialDelay: "5 millis" }
        })
        yield* bus.doAction(PostSaved, "p1")
        const [job] = yield* durable.list()
        yield* awaitStatus(durable, job.id, ["done"])
        return job.id
      }).pipe(
        Effect.scoped,
        Effect.provide(
          Layer.mergeAll(HookBus.layer, Durable.layerSqlite({ filename: file, pollInterval: "20 millis" })),
          { local: true }
        ),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      const dispatch = spans.filter((s) => s.name === "hook.action post.saved")
      const enqueue = spans.filter((s) => s.name === "hookbus.durable.enqueue")
      const attempts = spans.filter((s) => s.name === "hookbus.durable.attempt")
      assert.strictEqual(dispatch.length, 1)
      assert.strictEqual(enqueue.length, 1)
      const parent = enqueue[0].parent
      assert.isTrue(
        parent._tag === "Some" && parent.value.spanId === dispatch[0].spanId,
        "enqueue's parent is the dispatch"
      )
      assert.strictEqual(enqueue[0].traceId, dispatch[0].traceId)
      assert.strictEqual(enqueue[0].attributes.get("hook.name"), "post.saved")
      assert.strictEqual(enqueue[0].attributes.get("hook.source"), "audit")
      assert.deepStrictEqual(attempts.map((s) => s.attributes.get("job.attempt")), [1, 2])
      for (const attempt of attempts) {
        assert.strictEqual(attempt.attributes.get("job.id"), jobId)
        assert.deepStrictEqual(
          attempt.links.map((l) => [l.span.traceId, l.span.spanId]),
          [[enqueue[0].traceId, enqueue[0].spanId]],
          "each attempt links to the enqueue span"
        )
      }
      assert.strictEqual(attempts[0].status._tag === "Ended" && attempts[0].status.exit._tag, "Failure")
      assert.strictEqual(attempts[1].status._tag === "Ended" && attempts[1].status.exit._tag, "Success")
    }))
})
