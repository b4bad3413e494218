/**
 * `bus.dispatches` and `bus.stream(hook)` (emittery `events()`): a Stream of every dispatch as it ends, made only
 * while someone subscribes, with a sliding buffer per subscriber.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Stream } from "effect"
import { type DispatchRecord, Hook, HookBus } from "../src/index.ts"

const Title = Hook.filter<string>("records.title")
const Saved = Hook.action<[id: number, by: string]>("records.saved")
const Other = Hook.action<[n: number]>("records.other")

const offBus = Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))

/** Starts consuming `stream` at once (subscribed when this returns), collecting `n` items. */
const collect = <A>(stream: Stream.Stream<A>, n: number) =>
  Effect.forkChild(Stream.runCollect(Stream.take(stream, n)), { startImmediately: true })

const summary = (r: DispatchRecord) => [r.kind, r.hook, r.outcome, r.handlers, r.value, r.result, r.args]

describe("bus.dispatches", () => {
  it.effect("reports each dispatch as it ends, in order, with what went in and out", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(Title, (s) => Effect.succeed(s.toUpperCase()), { source: "upper" })
      yield* bus.addFilter(Title, (s) => Hook.shortCircuit(`${s}!`), { source: "stop", priority: 20 })
      yield* bus.addAction(Saved, () => Effect.fail("nope"), { source: "bad" })
      yield* bus.addAction(Saved, () => Effect.void, { source: "good" })
      const records = yield* collect(bus.dispatches, 3)
      yield* bus.applyFilters(Title, "hi")
      yield* Effect.exit(bus.doAction(Saved, 7, "ana"))
      yield* bus.doAction(Other, 1)
      const got = Array.from(yield* Fiber.join(records))
      assert.deepStrictEqual(got.map(summary), [
        ["filter", "records.title", "short_circuit", ["upper", "stop"], "hi", "HI!", []],
        ["action", "records.saved", "failed", ["bad", "good"], undefined, undefined, [7, "ana"]],
        ["action", "records.other", "ok", [], undefined, undefined, [1]]
      ])
      assert.strictEqual(got[0].shortCircuitedBy, "stop")
      assert.deepStrictEqual(got[1].failures.map((f) => [f.source, f.reason]), [["bad", "Failure"]])
    }).pipe(Effect.provide(offBus)))

  it.effect("sees only what is dispatched while it listens; each subscriber gets every record", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.doAction(Other, 1)
      const first = yield* collect(bus.dispatches, 2)
      const second = yield* collect(bus.dispatches, 1)
      yield* bus.doAction(Other, 2)
      yield* bus.doAction(Other, 3)
      assert.deepStrictEqual(Array.from(yield* Fiber.join(first)).map((r) => r.args), [[2], [3]])
      assert.deepStrictEqual(Array.from(yield* Fiber.join(second)).map((r) => r.args), [[2]])
      // Both have ended: nothing is kept for a later subscriber.
      yield* bus.doAction(Other, 4)
      const later = yield* collect(bus.dispatches, 1)
      yield* bus.doAction(Other, 5)
      assert.deepStrictEqual(Array.from(yield* Fiber.join(later)).map((r) => r.args), [[5]])
    }).pipe(Effect.provide(offBus)))

  it.effect("a subscriber that falls behind keeps the newest 1,024 records and never holds up a dispatch", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      // Subscribed, but stuck on its first record until every dispatch is done.
      const gate = yield* Deferred.make<void>()
      // Before it blocks, the subscriber may take one batch into the stream (whatever was queued when the
      // dispatching fiber first yielded, more the cheaper a dispatch is); far more than that plus 1,024 are sent.
      const total = 5000
      const stuck = bus.dispatches.pipe(
        Stream.mapEffect((r) => Effect.as(Deferred.await(gate), r)),
        Stream.takeUntil((r) => r.args[0] === total - 1)
      )
      const records = yield* Effect.forkChild(Stream.runCollect(stuck), { startImmediately: true })
      for (let i = 0; i < total; i++) yield* bus.doAction(Other, i)
      // Every dispatch ended while the subscriber read nothing.
      yield* Deferred.succeed(gate, void 0)
      const got = Array.from(yield* Fiber.join(records)).map((r) => r.args[0] as number)
      assert.isTrue(got.length < total, `${got.length} records: the oldest unread ones were dropped`)
      const newest = got.slice(-1024)
      assert.deepStrictEqual(newest, Array.from({ length: 1024 }, (_, i) => total - 1024 + i))
    }).pipe(Effect.provide(offBus)))

  it.effect("lists the handlers each dispatch started, timed or not, across once handlers, hand-overs and chain changes", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      // Under TestClock every dispatch falls in one millisecond: a hook's first is timed, the rest are not.
      yield* bus.addFilter(Title, (s) => Effect.succeed(`${s}a`), { source: "a", priority: 1 })
      yield* bus.addFilter(Title, (s) => Effect.succeed(`${s}b`), { source: "b", priority: 2, once: true })
      yield* bus.addFilter(Title, (s) => s === "waita" ? Effect.as(Effect.yieldNow, s) : Effect.succeed(`${s}c`), {
        source: "c",
        priority: 3
      })
      yield* bus.addAction(Saved, () => Effect.void, { source: "first", priority: 1 })
      yield* bus.addAction(Saved, () => Effect.void, { source: "later", priority: 2, mode: "async" })
      yield* bus.addAction(Saved, () => Effect.sync(() => undefined), { source: "last", priority: 3 })
      const records = yield* collect(bus.dispatches, 7)
      yield* bus.applyFilters(Title, "x")
      yield* bus.applyFilters(Title, "x")
      yield* bus.applyFilters(Title, "wait")
      yield* bus.addFilter(Title, (s) => Effect.succeed(`${s}d`), { source: "d", priority: 4 })
      yield* bus.applyFilters(Title, "x")
      yield* bus.applyFilters(Title, "x")
      yield* bus.doAction(Saved, 1, "ana")
      yield* bus.doAction(Saved, 2, "bo")
      const got = Array.from(yield* Fiber.join(records))
      assert.deepStrictEqual(got.map((r) => [r.handlers, r.result, r.timings !== undefined]), [
        [["a", "b", "c"], "xabc", true],
        [["a", "c"], "xac", false],
        [["a", "c"], "waita", false],
        [["a", "c", "d"], "xacd", false],
        [["a", "c", "d"], "xacd", false],
        [["first", "later", "last"], undefined, true],
        [["first", "later", "last"], undefined, false]
      ])
      // The records of a chain that ran whole share its list: nothing per dispatch.
      assert.strictEqual(got[3].handlers, got[4].handlers)
    }).pipe(Effect.provide(offBus)))
})

describe("bus.stream(hook)", () => {
  it.effect("yields the arguments of that action hook's dispatches only", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addAction(Saved, () => Effect.void)
      const saved = yield* collect(bus.stream(Saved), 2)
      yield* bus.doAction(Other, 9)
      yield* bus.doAction(Saved, 1, "ana")
      yield* bus.applyFilters(Title, "x")
      yield* bus.doAction(Saved, 2, "bo")
      const got: ReadonlyArray<readonly [number, string]> = Array.from(yield* Fiber.join(saved))
      assert.deepStrictEqual(got, [[1, "ana"], [2, "bo"]])
    }).pipe(Effect.provide(offBus)))
})
