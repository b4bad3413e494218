/**
 * The bus features peers offer (issue 18): removeAll, meta hooks, ...; each rule of docs/concepts.md that names a
 * peer's API has its test here.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import { Hook, HookBus, type HookBusShape, MetaHook } from "../src/index.ts"
import { captureLogs, type LogEntry, messageOf } from "./helpers.ts"

const Numbers = Hook.filter<number>("numbers")
const Ping = Hook.action<Array<string>>("ping")

const withBus = <A, E, R>(f: (bus: HookBusShape) => Effect.Effect<A, E, R>) =>
  HookBus.use(f).pipe(Effect.provide(Layer.fresh(HookBus.layer)))

describe("removeAll (WP removeAllFilters, hookable removeAllHooks, emittery clearListeners)", () => {
  it.effect("removes every handler of the hook, whatever its source, and no other hook's", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { source: "a" })
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n * 10), { source: "b" })
        yield* bus.addAction(Ping, () => Effect.void, { source: "a" })
        assert.strictEqual(yield* bus.removeAll(Numbers), 2)
        assert.isFalse(yield* bus.has(Numbers))
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 1)
        assert.isTrue(yield* bus.has(Ping))
        assert.strictEqual(yield* bus.removeAll(Numbers), 0)
        // The removed handlers' registrations stay idempotent, and the source index forgot them.
        assert.strictEqual(yield* bus.removeSource("b"), 0)
        assert.strictEqual(yield* bus.removeSource("a"), 1)
      })
    ))

  it.effect("a handler registered after removeAll runs", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const first = yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1))
        yield* bus.removeAll(Numbers)
        yield* first.remove
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 2))
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 3)
      })
    ))
})

describe("meta hooks (WP hookAdded/hookRemoved, emittery listenerAdded/listenerRemoved)", () => {
  const record = (bus: HookBusShape) =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const on = (tag: string) => (e: MetaHook.HandlerEvent) =>
        Effect.sync(() => events.push(`${tag} ${e.kind}:${e.hook} ${e.handler.source} p${e.handler.priority}`))
      yield* bus.addAction(MetaHook.HandlerAdded, on("+"), { source: "meta-added" })
      yield* bus.addAction(MetaHook.HandlerRemoved, on("-"), { source: "meta-removed" })
      return events
    })

  it.effect("fire on register, remove, scope end, removeSource and removeAll; not for themselves", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const events = yield* record(bus)
        assert.deepStrictEqual(events, [])
        const r = yield* bus.addFilter(Numbers, (n) => Effect.succeed(n), { source: "a", priority: 3 })
        yield* r.remove
        yield* r.remove
        const scope = yield* Scope.make()
        yield* bus.addAction(Ping, () => Effect.void, { source: "b" }).pipe(Scope.provide(scope))
        yield* Scope.close(scope, Exit.void)
        yield* bus.addAction(Ping, () => Effect.void, { source: "c" })
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n), { source: "c" })
        assert.strictEqual(yield* bus.removeSource("c"), 2)
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n), { source: "d" })
        yield* bus.removeAll(Numbers)
        assert.deepStrictEqual(events, [
          "+ filter:numbers a p3",
          "- filter:numbers a p3",
          "+ action:ping b p10",
          "- action:ping b p10",
          "+ action:ping c p10",
          "+ filter:numbers c p10",
          "- action:ping c p10",
          "- filter:numbers c p10",
          "+ filter:numbers d p10",
          "- filter:numbers d p10"
        ])
      })
    ))

  it.effect("a once handler leaving after its run fires nothing; a failing meta handler is logged, not returned", () => {
    const logs: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        const events = yield* record(bus)
        yield* bus.addAction(Ping, () => Effect.void, { source: "once", once: true })
        yield* bus.doAction(Ping)
        assert.deepStrictEqual(events, ["+ action:ping once p10"])
        yield* bus.addAction(MetaHook.HandlerAdded, () => Effect.fail("meta broke"), { source: "broken" })
        const registration = yield* bus.addAction(Ping, () => Effect.void, { source: "e" })
        assert.strictEqual(registration.source, "e")
        assert.isTrue(yield* bus.has(Ping))
        const line = logs.find((l) => l.level === "ERROR")
        assert.isDefined(line)
        assert.include(messageOf(line!), "hookbus.handlerAdded handler failed")
        assert.strictEqual(line!.annotations.source, "e")
      })
    ).pipe(captureLogs(logs))
  })

  it.effect("with no meta handler, registration and removal work as before", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const r = yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1))
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 2)
        yield* r.remove
        assert.isFalse(yield* bus.has(Numbers))
        assert.strictEqual(yield* bus.dispatchCount(MetaHook.HandlerAdded), 0)
      })
    ))
})
