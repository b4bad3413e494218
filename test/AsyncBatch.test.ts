/**
 * Async action handlers are started from one batch per scheduler task: a handler that finishes on the spot costs no
 * fiber, one that suspends gets its own. These tests pin that this is invisible: order, once-only, isolation from
 * each other, the dispatcher's context, failures logged, the concurrency bound.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Layer, Option, type Scope } from "effect"
import * as fc from "fast-check"
import { Hook, HookBus, type HookBusShape } from "../src/index.ts"
import { captureLogs, type LogEntry } from "./helpers.ts"

const Ping = Hook.action<[number]>("batch.ping")

const withBus = <A, E>(
  f: (bus: HookBusShape) => Effect.Effect<A, E, Scope.Scope>,
  options: Parameters<typeof HookBus.layerWith>[0] = {}
) =>
  HookBus.use(f).pipe(
    Effect.scoped,
    Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false, ...options })))
  )

class RequestId extends Context.Service<RequestId, string>()("test/RequestId") {}

describe("async handlers started in one batch", () => {
  it.effect("run after doAction returns, in registration order, each once", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        yield* bus.addAction(Ping, (n) => Effect.sync(() => void ran.push(`sync ${n}`)), { mode: "async" })
        yield* bus.addAction(Ping, (n) => Effect.succeed(void ran.push(`succeed ${n}`)), { mode: "async" })
        yield* bus.addAction(Ping, (n) => Effect.sync(() => void ran.push(`inline ${n}`)))
        yield* bus.doAction(Ping, 1)
        yield* bus.doAction(Ping, 2)
        assert.deepStrictEqual(ran, ["inline 1", "inline 2"])
        yield* bus.awaitIdle
        assert.deepStrictEqual(ran, ["inline 1", "inline 2", "sync 1", "succeed 1", "sync 2", "succeed 2"])
      })
    ))

  it.effect("a handler that suspends holds up none of the others of its dispatch", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const release = yield* Deferred.make<void>()
        const ran: Array<string> = []
        yield* bus.addAction(Ping, () => Effect.andThen(Deferred.await(release), Effect.sync(() => ran.push("slow"))), {
          mode: "async"
        })
        yield* bus.addAction(Ping, () => Effect.sync(() => void ran.push("quick")), { mode: "async" })
        yield* bus.addAction(Ping, () => Effect.andThen(Effect.yieldNow, Effect.sync(() => ran.push("yields"))), {
          mode: "async"
        })
        yield* bus.doAction(Ping, 0)
        for (let i = 0; i < 5; i++) yield* Effect.yieldNow
        assert.deepStrictEqual(ran, ["quick", "yields"])
        yield* Deferred.succeed(release, void 0)
        yield* bus.awaitIdle
        assert.deepStrictEqual(ran, ["quick", "yields", "slow"])
      })
    ))

  it.effect("a suspending handler runs in the dispatching fiber's context; failures are logged there", () => {
    const logs: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        const seen = yield* Deferred.make<string>()
        yield* bus.addAction(Ping, () =>
          Effect.gen(function*() {
            yield* Effect.yieldNow
            // Provided by the dispatching fiber, not the registering one.
            const id = yield* Effect.serviceOption(RequestId)
            yield* Deferred.succeed(seen, Option.getOrElse(id, () => "none"))
          }), { mode: "async", source: "reads" })
        yield* bus.addAction(Ping, () =>
          Effect.sync(() => {
            throw new Error("kaput")
          }), { mode: "async", source: "throws" })
        yield* bus.addAction(Ping, () => Effect.andThen(Effect.yieldNow, Effect.fail("late")), {
          mode: "async",
          source: "fails"
        })
        yield* bus.doAction(Ping, 0).pipe(
          Effect.provideService(RequestId, "req-7"),
          Effect.annotateLogs({ request: "req-7" })
        )
        assert.strictEqual(yield* Deferred.await(seen), "req-7")
        yield* bus.awaitIdle
        const errors = logs.filter((l) => l.level === "ERROR")
        assert.deepStrictEqual(
          errors.map((l) => [l.annotations.source, l.annotations.request, l.annotations.hook]).sort(),
          [["fails", "req-7", "batch.ping"], ["throws", "req-7", "batch.ping"]]
        )
      })
    ).pipe(captureLogs(logs))
  })

  it.live("any mix of handlers and bounds: every accepted run happens once, failures are logged, the bus goes idle", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 6 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 3 }),
          async (chain, concurrency, dispatches) => {
            const logs: Array<LogEntry> = []
            const counts = await Effect.runPromise(
              withBus((bus) =>
                Effect.gen(function*() {
                  const ranCounts = chain.map(() => 0)
                  for (let i = 0; i < chain.length; i++) {
                    yield* bus.addAction(Ping, () => answer(chain[i], () => void ranCounts[i]++), {
                      mode: "async",
                      source: `h${i}`
                    })
                  }
                  for (let d = 0; d < dispatches; d++) yield* bus.doAction(Ping, d)
                  yield* bus.awaitIdle
                  return ranCounts
                }), { async: { concurrency, overflow: "wait" } }).pipe(captureLogs(logs))
            )
            assert.deepStrictEqual(counts, chain.map(() => dispatches))
            const failing = chain.filter((k) => k === "fail" || k === "throw" || k === "syncThrow").length
            assert.strictEqual(logs.filter((l) => l.level === "ERROR").length, failing * dispatches)
          }
        ),
        { numRuns: 150 }
      )
    ))
})

const kinds = ["sync", "succeed", "yield", "fail", "throw", "syncThrow"] as const

/** A handler's answer of each kind; `count` marks that it ran. */
const answer = (kind: typeof kinds[number], count: () => void): Effect.Effect<void, string> => {
  switch (kind) {
    case "sync":
      return Effect.sync(count)
    case "succeed":
      return Effect.succeed(count())
    case "yield":
      return Effect.andThen(Effect.yieldNow, Effect.sync(count))
    case "fail":
      count()
      return Effect.fail("no")
    case "throw":
      count()
      throw new Error("thrown")
    case "syncThrow":
      return Effect.sync(() => {
        count()
        throw new Error("thrown in sync")
      })
  }
}
