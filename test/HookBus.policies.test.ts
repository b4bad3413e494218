import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Random, Ref } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { type FilterFailed, Hook, HookBus, type HookBusShape, InvalidOptions } from "../src/index.ts"
import { captureLogs, type LogEntry, messageOf } from "./helpers.ts"

const Numbers = Hook.filter<number>("numbers")
const Ping = Hook.action<Array<string>>("ping")

const withBus = <A, E, R>(
  f: (bus: HookBusShape) => Effect.Effect<A, E, R>,
  layer: Layer.Layer<HookBus, InvalidOptions> = HookBus.layer
) => HookBus.use(f).pipe(Effect.provide(Layer.fresh(layer)))

const sourcesOf = (bus: HookBusShape, hook: Hook.AnyHook) =>
  Effect.map(bus.handlers(hook), (hs) => hs.map((h) => h.source))

describe("ordering constraints", () => {
  it.effect("before/after override priority; handlers() shows the resolved order", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        const add = (source: string, o: { priority?: number; before?: Array<string>; after?: Array<string> }) =>
          bus.addAction(Ping, () => Effect.sync(() => ran.push(source)), { source, ...o })
        yield* add("seo", { priority: 1, after: ["cache"] })
        yield* add("cache", { priority: 20 })
        yield* add("first", { priority: 50, before: ["cache"] })
        yield* bus.doAction(Ping)
        assert.deepStrictEqual(ran, ["first", "cache", "seo"])
        assert.deepStrictEqual(yield* sourcesOf(bus, Ping), ["first", "cache", "seo"])
      })
    ))

  it.effect("a cycle is rejected, naming the sources, and the chain is unchanged", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Ping, () => Effect.void, { source: "a", after: ["b"] })
        yield* bus.addAction(Ping, () => Effect.void, { source: "b", after: ["c"] })
        const before = yield* bus.handlers(Ping)
        const error = yield* Effect.flip(bus.addAction(Ping, () => Effect.void, { source: "c", after: ["a"] }))
        assert.strictEqual(error.reason, "Cycle")
        assert.match(error.message, /a/)
        assert.match(error.message, /b/)
        assert.match(error.message, /c/)
        assert.deepStrictEqual(yield* bus.handlers(Ping), before)
      })
    ))

  it.effect("naming your own source is rejected", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(bus.addAction(Ping, () => Effect.void, { source: "me", before: ["me"] }))
        assert.strictEqual(error.reason, "SelfConstraint")
        assert.isFalse(yield* bus.has(Ping))
      })
    ))

  it.effect("an unknown source is ignored with one warning, and takes effect when it registers", () => {
    const logs: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Ping, () => Effect.void, { source: "late-reader", priority: 1, after: ["writer"] })
        yield* bus.addAction(Ping, () => Effect.void, { source: "other", priority: 5 })
        const warnings = logs.filter((l) => l.level === "WARN")
        assert.strictEqual(warnings.length, 1)
        assert.match(messageOf(warnings[0]), /writer/)
        assert.strictEqual(warnings[0].annotations.source, "late-reader")
        assert.deepStrictEqual(yield* sourcesOf(bus, Ping), ["late-reader", "other"])
        // The writer registers later, with a higher priority number: the constraint now holds.
        yield* bus.addAction(Ping, () => Effect.void, { source: "writer", priority: 30 })
        assert.deepStrictEqual(yield* sourcesOf(bus, Ping), ["other", "writer", "late-reader"])
      })
    ).pipe(captureLogs(logs))
  })

  it.effect("removing a handler re-resolves the order", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Ping, () => Effect.void, { source: "b", priority: 5 })
        yield* bus.addAction(Ping, () => Effect.void, { source: "c", priority: 1, after: ["a"] })
        const a = yield* bus.addAction(Ping, () => Effect.void, { source: "a", priority: 10 })
        assert.deepStrictEqual(yield* sourcesOf(bus, Ping), ["b", "a", "c"])
        yield* a.remove
        assert.deepStrictEqual(yield* sourcesOf(bus, Ping), ["c", "b"])
      })
    ))

  it.effect("the bus agrees with the ordering rules for random registrations (property)", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ priority: fc.integer({ min: 0, max: 3 }), after: fc.nat(10) }), {
            minLength: 1,
            maxLength: 10
          }),
          async (specs) => {
            const order = await Effect.runPromise(
              withBus((bus) =>
                Effect.gen(function*() {
                  for (let i = 0; i < specs.length; i++) {
                    // Only constraints on earlier handlers: acyclic by construction.
                    const after = specs[i].after < i ? [`h${specs[i].after}`] : []
                    yield* bus.addAction(Ping, () => Effect.void, {
                      source: `h${i}`,
                      priority: specs[i].priority,
                      after
                    })
                  }
                  return yield* bus.handlers(Ping)
                })
              ).pipe(Effect.scoped)
            )
            const index = new Map(order.map((h, i) => [h.source, i]))
            return order.length === specs.length &&
              order.every((h) => h.after.every((s) => index.get(s)! < index.get(h.source)!))
          }
        ),
        { numRuns: 200 }
      )
    ))
})

describe("filter error policy", () => {
  it.effect("skip (per hook) passes over failing and dying handlers and reports them", () => {
    const logs: Array<LogEntry> = []
    return withBus(
      (bus) =>
        Effect.gen(function*() {
          yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { source: "inc" })
          yield* bus.addFilter(Numbers, () => Effect.fail("nope"), { source: "fails" })
          yield* bus.addFilter(Numbers, () => Effect.die("dead"), { source: "dies" })
          yield* bus.addFilter(Numbers, (n) => Effect.succeed(n * 10), { source: "times10" })
          const result = yield* bus.applyFiltersResult(Numbers, 1)
          assert.strictEqual(result.value, 20)
          assert.strictEqual(result.ran, 4)
          assert.isTrue(Option.isNone(result.shortCircuitedBy))
          assert.deepStrictEqual(result.skipped.map((f) => [f.source, f.reason]), [["fails", "Failure"], [
            "dies",
            "Defect"
          ]])
          assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 20)
          // A failure skipped is a warning; a defect skipped is an error (a defect is a bug whatever the policy).
          const warnings = logs.filter((l) => l.level === "WARN")
          assert.deepStrictEqual(warnings.map((w) => w.annotations.source), ["fails", "fails"])
          const errors = logs.filter((l) => l.level === "ERROR")
          assert.deepStrictEqual(errors.map((w) => w.annotations.source), ["dies", "dies"])
          assert.include(messageOf(errors[0]), "died and was skipped")
        }),
      HookBus.layerWith({ filterErrors: { numbers: "skip" } })
    ).pipe(captureLogs(logs))
  })

  it.effect("per-registration onError overrides the hook policy", () =>
    withBus(
      (bus) =>
        Effect.gen(function*() {
          yield* bus.addFilter(Numbers, () => Effect.fail("tolerated"), { source: "soft", onError: "skip" })
          yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { source: "inc" })
          assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 2)
          yield* bus.addFilter(Numbers, () => Effect.fail("fatal"), { source: "hard", onError: "abort" })
          const error = (yield* Effect.flip(bus.applyFilters(Numbers, 1))) as FilterFailed<number>
          assert.strictEqual(error.failure.source, "hard")
          assert.strictEqual(error.value, 2)
        }),
      HookBus.layerWith({ filterErrors: { numbers: "abort" } })
    ))

  it.effect("applyFiltersResult tells completion from short-circuit", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(Numbers, (n) => n > 5 ? Hook.shortCircuit(n) : Effect.succeed(n + 1), { source: "cap" })
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { source: "inc" })
        const done = yield* bus.applyFiltersResult(Numbers, 1)
        assert.deepStrictEqual([done.value, done.shortCircuitedBy, done.ran], [3, Option.none(), 2])
        const stopped = yield* bus.applyFiltersResult(Numbers, 9)
        assert.deepStrictEqual([stopped.value, stopped.shortCircuitedBy, stopped.ran], [9, Option.some("cap"), 1])
      })
    ))
})

describe("timeouts", () => {
  it.effect("an overrunning sync handler is interrupted and fails with reason Timeout", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const interrupted = yield* Deferred.make<void>()
        yield* bus.addFilter(
          Numbers,
          () =>
            Effect.sleep("1 minute").pipe(
              Effect.as(0),
              Effect.onInterrupt(() => Deferred.succeed(interrupted, void 0))
            ),
          { source: "slow", timeout: "50 millis" }
        )
        const fiber = yield* Effect.forkChild(Effect.flip(bus.applyFilters(Numbers, 1)))
        yield* TestClock.adjust("50 millis")
        const error = (yield* Fiber.join(fiber)) as FilterFailed<number>
        assert.strictEqual(error.failure.reason, "Timeout")
        assert.strictEqual(error.failure.source, "slow")
        assert.match(error.failure.message, /timed out/)
        assert.isTrue(yield* Deferred.isDone(interrupted))
      })
    ))

  it.effect("a handler that finishes in time is unaffected", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(Numbers, (n) => Effect.sleep("10 millis").pipe(Effect.as(n + 1)), { timeout: "1 second" })
        const fiber = yield* Effect.forkChild(bus.applyFilters(Numbers, 1))
        yield* TestClock.adjust("10 millis")
        assert.strictEqual(yield* Fiber.join(fiber), 2)
      })
    ))

  it.effect("async handlers time out too, and the timeout is logged", () => {
    const logs: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Ping, () => Effect.never, { source: "stuck", mode: "async", timeout: "1 second" })
        yield* bus.doAction(Ping)
        yield* TestClock.adjust("1 second")
        yield* bus.awaitIdle
        const error = logs.find((l) => l.level === "ERROR")
        assert.strictEqual(error?.annotations.source, "stuck")
        assert.match(messageOf(error!), /timed out/)
      })
    ).pipe(captureLogs(logs))
  })

  it.effect("invalid timeouts are rejected", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(bus.addAction(Ping, () => Effect.void, { timeout: -5 }))
        assert.strictEqual(error.reason, "InvalidOption")
      })
    ))
})

describe("bounded async", () => {
  it.effect("overflow wait suspends the caller only while the bound is reached", () =>
    withBus(
      (bus) =>
        Effect.gen(function*() {
          const release = yield* Deferred.make<void>()
          yield* bus.addAction(Ping, () => Deferred.await(release), { mode: "async" })
          yield* bus.doAction(Ping)
          yield* bus.doAction(Ping)
          const third = yield* Effect.forkChild(bus.doAction(Ping))
          yield* Effect.yieldNow
          yield* Effect.yieldNow
          assert.isUndefined(third.pollUnsafe(), "the third dispatch waits for a slot")
          yield* Deferred.succeed(release, void 0)
          yield* Fiber.join(third)
          yield* bus.awaitIdle
        }),
      HookBus.layerWith({ async: { concurrency: 2, overflow: "wait" } })
    ))

  it.effect("overflow drop drops, logs and never waits", () => {
    const logs: Array<LogEntry> = []
    return withBus(
      (bus) =>
        Effect.gen(function*() {
          const runs = yield* Ref.make(0)
          const release = yield* Deferred.make<void>()
          yield* bus.addAction(Ping, () => Effect.andThen(Ref.update(runs, (n) => n + 1), Deferred.await(release)), {
            mode: "async",
            source: "worker"
          })
          for (let i = 0; i < 5; i++) yield* bus.doAction(Ping)
          yield* Deferred.succeed(release, void 0)
          yield* bus.awaitIdle
          assert.strictEqual(yield* Ref.get(runs), 2)
          const drops = logs.filter((l) => messageOf(l).includes("dropped"))
          assert.strictEqual(drops.length, 3)
          assert.strictEqual(drops[0].annotations.source, "worker")
        }),
      HookBus.layerWith({ async: { concurrency: 2, overflow: "drop" } })
    ).pipe(captureLogs(logs))
  })

  it.effect("a waiting caller that is interrupted leaves the queue", () =>
    withBus(
      (bus) =>
        Effect.gen(function*() {
          const release = yield* Deferred.make<void>()
          const runs = yield* Ref.make(0)
          yield* bus.addAction(Ping, () => Effect.andThen(Ref.update(runs, (n) => n + 1), Deferred.await(release)), {
            mode: "async"
          })
          yield* bus.doAction(Ping)
          const waiting = yield* Effect.forkChild(bus.doAction(Ping))
          yield* Effect.yieldNow
          yield* Fiber.interrupt(waiting)
          yield* Deferred.succeed(release, void 0)
          yield* bus.awaitIdle
          assert.strictEqual(yield* Ref.get(runs), 1)
        }),
      HookBus.layerWith({ async: { concurrency: 1 } })
    ))
})

describe("ordered async", () => {
  it.effect("same key: one event at a time in dispatch order; different keys: in parallel", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const Saved = Hook.action<[key: string, n: number]>("saved")
        const log: Array<string> = []
        const active = new Map<string, number>()
        let maxParallelKeys = 0
        const handler = (tag: string) => (key: string, n: number) =>
          Effect.gen(function*() {
            active.set(key, (active.get(key) ?? 0) + 1)
            assert.strictEqual(active.get(key), 1, "two runs of one key overlapped")
            maxParallelKeys = Math.max(maxParallelKeys, active.size)
            yield* Effect.sleep("10 millis")
            log.push(`${key}${n}${tag}`)
            active.set(key, active.get(key)! - 1)
            if (active.get(key) === 0) active.delete(key)
          })
        yield* bus.addAction(Saved, handler("x"), { mode: "async", orderBy: (key) => key, source: "x" })
        yield* bus.addAction(Saved, handler("y"), { mode: "async", orderBy: (key) => key, source: "y" })
        for (let n = 0; n < 3; n++) for (const key of ["a", "b"]) yield* bus.doAction(Saved, key, n)
        yield* TestClock.adjust("1 second")
        yield* bus.awaitIdle
        for (const key of ["a", "b"]) {
          assert.deepStrictEqual(
            log.filter((l) => l.startsWith(key)).map((l) => l.slice(1, 2)),
            ["0", "0", "1", "1", "2", "2"],
            `events of ${key} ran out of order`
          )
        }
        assert.strictEqual(maxParallelKeys, 2)
      })
    ))

  it.live("no event is lost or run twice while keys go idle and come back (many keys, tiny gaps)", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const Event = Hook.action<[key: string, seq: number]>("event")
        const seen = new Map<string, Array<number>>()
        yield* bus.addAction(
          Event,
          (key, seq) =>
            Effect.gen(function*() {
              if ((yield* Random.nextIntBetween(0, 3)) === 0) yield* Effect.yieldNow
              const list = seen.get(key) ?? []
              list.push(seq)
              seen.set(key, list)
            }),
          { mode: "async", orderBy: (key) => key }
        )
        const keys = 50
        const perKey = 40
        yield* Effect.forEach(
          Array.from({ length: 8 }, (_, w) => w),
          (w) =>
            Effect.gen(function*() {
              for (let seq = 0; seq < perKey; seq++) {
                for (let k = w; k < keys; k += 8) {
                  yield* bus.doAction(Event, `k${k}`, seq)
                  if ((yield* Random.nextIntBetween(0, 4)) === 0) yield* Effect.yieldNow
                }
              }
            }),
          { concurrency: "unbounded" }
        )
        yield* bus.awaitIdle
        assert.strictEqual(seen.size, keys)
        for (const [key, list] of seen) {
          assert.deepStrictEqual(list, Array.from({ length: perKey }, (_, i) => i), `key ${key}`)
        }
      })
    ))
})

describe("once", () => {
  it.effect("runs exactly once, also under concurrent dispatch", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const runs = yield* Ref.make(0)
        yield* bus.addAction(Ping, () => Effect.andThen(Effect.yieldNow, Ref.update(runs, (n) => n + 1)), {
          once: true
        })
        yield* Effect.forEach(Array.from({ length: 50 }), () => bus.doAction(Ping), { concurrency: "unbounded" })
        assert.strictEqual(yield* Ref.get(runs), 1)
        assert.isFalse(yield* bus.has(Ping))
      })
    ))

  it.effect("a once filter that completes on the spot is removed too", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { once: true })
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 2)
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 1)
      })
    ))
})

describe("removeSource", () => {
  it.effect("removes every handler with that source across all hooks", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Ping, () => Effect.void, { source: "plugin:seo" })
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { source: "plugin:seo" })
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n * 2), { source: "plugin:seo" })
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n * 3), { source: "core" })
        assert.strictEqual(yield* bus.removeSource("plugin:seo"), 3)
        assert.isFalse(yield* bus.has(Ping))
        assert.deepStrictEqual(yield* sourcesOf(bus, Numbers), ["core"])
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 3)
        assert.strictEqual(yield* bus.removeSource("plugin:seo"), 0)
      })
    ))
})

describe("hook names", () => {
  it.effect("empty or over 256 UTF-8 bytes: rejected with a clear error", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const forged = { ...Ping, name: "x".repeat(257), key: "action:long" }
        const error = yield* Effect.flip(bus.addAction(forged, () => Effect.void))
        assert.strictEqual(error.reason, "InvalidHookName")
        assert.match(error.message, /at most 256 UTF-8 bytes, got 257/)
        assert.throws(() => Hook.filter("🙂".repeat(65)), /at most 256 UTF-8 bytes, got 260/)
        assert.strictEqual(Hook.filter("🙂".repeat(64)).name, "🙂".repeat(64))
      })
    ))
})

describe("bus options", () => {
  it.effect("invalid options fail the layer with InvalidOptions naming the option and the value", () =>
    Effect.gen(function*() {
      const cases: Array<[Parameters<typeof HookBus.layerWith>[0], string, string]> = [
        [{ maxDepth: 0 }, "maxDepth", "must be a positive integer, got 0"],
        [{ maxDepth: "3" as never }, "maxDepth", "must be a positive integer, got \"3\""],
        [{ async: { concurrency: 1.5 } }, "async.concurrency", "must be a positive integer, got 1.5"],
        [{ async: { overflow: "spill" as never } }, "async.overflow", "must be \"wait\" | \"drop\", got \"spill\""],
        [{ filterErrors: { "post.saved": "ignore" as never } }, "filterErrors[\"post.saved\"]", "got \"ignore\""],
        [{ tracing: "all" as never }, "tracing", "must be \"off\" | \"dispatch\" | \"handlers\", got \"all\""],
        [{ metrics: { maxHookLabels: 0 } }, "metrics.maxHookLabels", "must be a positive integer, got 0"],
        [{ asyncShutdownGrace: "soon" as never }, "asyncShutdownGrace", "must be a duration"],
        [{ maxdepth: 3 } as never, "maxdepth", "is not an option"]
      ]
      for (const [options, option, detail] of cases) {
        const error = yield* Effect.flip(
          HookBus.use(() => Effect.void).pipe(Effect.provide(Layer.fresh(HookBus.layerWith(options))))
        )
        assert.instanceOf(error, InvalidOptions)
        assert.strictEqual(error._tag, "InvalidOptions")
        assert.strictEqual(error.of, "HookBus")
        assert.strictEqual(error.option, option)
        assert.include(error.detail, detail)
        assert.strictEqual(error.message, `invalid HookBus option ${option}: ${error.detail}`)
      }
      const testLayer = yield* Effect.flip(
        HookBus.use(() => Effect.void).pipe(Effect.provide(Layer.fresh(HookBus.layerTestWith({ maxDepth: -1 }))))
      )
      assert.strictEqual(testLayer.option, "maxDepth")
    }))

  it.effect("valid options build the bus; undefined fields take their defaults", () =>
    HookBus.use((bus) => bus.applyFilters(Numbers, 1)).pipe(
      Effect.map((n) => assert.strictEqual(n, 1)),
      Effect.provide(Layer.fresh(HookBus.layerWith({
        maxDepth: undefined,
        asyncShutdownGrace: 100,
        filterErrors: { numbers: "skip" },
        async: { concurrency: 4, overflow: "drop" },
        tracing: "off",
        metrics: { maxHookLabels: 10 }
      })))
    ))
})
