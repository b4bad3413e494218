import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Context,
  Deferred,
  type Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Random,
  Ref,
  Schema,
  Scope
} from "effect"
import { TestClock } from "effect/testing"
import {
  type ActionFailed,
  type FilterFailed,
  Hook,
  HookBus,
  type HookBusShape,
  InvalidHookName,
  type InvalidOptions,
  MetaHook,
  type RecursionLimit,
  type RegistrationRejected,
  ShortCircuit
} from "../src/index.ts"
import { captureLogs, type LogEntry, messageOf } from "./helpers.ts"

const Numbers = Hook.filter<number>("numbers")
const Text = Hook.filter("text", { value: Schema.String, args: [Schema.Number] })
const Ping = Hook.action<Array<string>>("ping")

/** Runs `f` with a fresh bus (default options unless given), in a scope that outlives the test body. */
const withBus = <A, E, R>(
  f: (bus: HookBusShape) => Effect.Effect<A, E, R>,
  layer: Layer.Layer<HookBus, InvalidOptions> = HookBus.layer
) => HookBus.use(f).pipe(Effect.provide(Layer.fresh(layer)))

describe("hook definitions", () => {
  it("identify a hook by kind and name", () => {
    assert.strictEqual(Hook.filter("x").key, Hook.filter("x").key)
    assert.notStrictEqual(Hook.filter("x").key, Hook.action("x").key)
  })

  it("reject names that break the rules", () => {
    assert.throws(() => Hook.action(""), InvalidHookName)
    assert.throws(() => Hook.filter("é".repeat(129)), /at most 256 UTF-8 bytes/)
    assert.strictEqual(Hook.filter("é".repeat(128)).name.length, 128)
  })

  it.effect("shortCircuit fails with ShortCircuit carrying the value", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Hook.shortCircuit(7))
      assert.instanceOf(error, ShortCircuit)
      assert.strictEqual(error.value, 7)
    }))
})

describe("1. priorities", () => {
  it.effect("lower priority runs first, ties keep registration order", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const order: Array<string> = []
        const add = (source: string, priority?: number) =>
          bus.addAction(Ping, () => Effect.sync(() => order.push(source)), { source, priority })
        yield* add("c", 20)
        yield* add("a1", 5)
        yield* add("d")
        yield* add("a2", 5)
        yield* add("b")
        yield* bus.doAction(Ping)
        assert.deepStrictEqual(order, ["a1", "a2", "d", "b", "c"])
        assert.deepStrictEqual((yield* bus.handlers(Ping)).map((h) => [h.source, h.priority]), [
          ["a1", 5],
          ["a2", 5],
          ["d", 10],
          ["b", 10],
          ["c", 20]
        ])
      })
    ))

  it.effect("a non-finite priority is rejected and nothing is registered", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        for (const priority of [Number.NaN, Infinity, -Infinity]) {
          const error = yield* Effect.flip(bus.addAction(Ping, () => Effect.void, { priority }))
          assert.strictEqual(error._tag, "RegistrationRejected")
          assert.strictEqual(error.reason, "InvalidPriority")
          assert.strictEqual(error.hook, "ping")
        }
        assert.isFalse(yield* bus.has(Ping))
      })
    ))
})

describe("2. doAction", () => {
  it.effect("runs every handler; failures and defects are collected in chain order and told apart", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        const track = (source: string) => Effect.sync(() => ran.push(source))
        yield* bus.addAction(Ping, () => Effect.andThen(track("fails"), Effect.fail("nope")), { source: "fails" })
        yield* bus.addAction(Ping, () => track("ok1"), { source: "ok1" })
        yield* bus.addAction(Ping, () =>
          Effect.sync(() => {
            ran.push("throws")
            throw new Error("boom")
          }), { source: "throws" })
        yield* bus.addAction(Ping, () => Effect.die("dead"), { source: "dies" })
        yield* bus.addAction(Ping, () => Hook.shortCircuit(1), { source: "short" })
        yield* bus.addAction(Ping, () => {
          throw new Error("thrown outside an Effect")
        }, { source: "plain-throw" })
        yield* bus.addAction(Ping, () => track("ok2"), { source: "ok2" })

        const error = (yield* Effect.flip(bus.doAction(Ping, "x"))) as ActionFailed
        assert.deepStrictEqual(ran, ["fails", "ok1", "throws", "ok2"])
        assert.strictEqual(error._tag, "ActionFailed")
        assert.strictEqual(error.hook, "ping")
        assert.deepStrictEqual(error.failures.map((f) => [f.source, f.reason]), [
          ["fails", "Failure"],
          ["throws", "Defect"],
          ["dies", "Defect"],
          ["short", "Failure"],
          ["plain-throw", "Defect"]
        ])
        assert.strictEqual(error.failures[0].error, "nope")
        assert.instanceOf(error.failures[3].error, ShortCircuit)
        assert.isTrue(Cause.hasDies(error.failures[1].cause))
        assert.match(error.message, /5 handler\(s\) failed/)
      })
    ))

  it.effect("succeeds when every handler succeeds, and with no handlers", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.doAction(Ping)
        const seen: Array<ReadonlyArray<string>> = []
        yield* bus.addAction(Ping, (...args) => Effect.sync(() => seen.push(args)))
        yield* bus.doAction(Ping, "a", "b")
        assert.deepStrictEqual(seen, [["a", "b"]])
      })
    ))

  it.effect("a handler that returns something other than an Effect is a defect naming it", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Ping, (() => 42) as never, { source: "wrong" })
        const error = yield* Effect.flip(bus.doAction(Ping))
        assert.strictEqual(error._tag, "ActionFailed")
        const failure = (error as ActionFailed).failures[0]
        assert.strictEqual(failure.reason, "Defect")
        assert.match(failure.message, /handler "wrong" on action "ping" returned number, not an Effect/)
      })
    ))
})

describe("3. applyFilters", () => {
  it.effect("threads the value; args reach every handler unchanged", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const seenArgs: Array<number> = []
        yield* bus.addFilter(Text, (s, n) => Effect.sync(() => (seenArgs.push(n), `${s}a`)))
        yield* bus.addFilter(Text, (s, n) => Effect.sync(() => (seenArgs.push(n), `${s}b`)))
        yield* bus.addFilter(Text, (s, n) => Effect.succeed(`${s}${n}`))
        assert.strictEqual(yield* bus.applyFilters(Text, "", 7), "ab7")
        assert.deepStrictEqual(seenArgs, [7, 7])
      })
    ))

  it.effect("no handlers: the value as is", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const value = { a: 1 }
        assert.strictEqual(yield* bus.applyFilters(Hook.filter<{ a: number }>("obj"), value), value)
      })
    ))
})

describe("4. short-circuit", () => {
  it.effect("stops the chain; the dispatch succeeds with its value", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        yield* bus.addFilter(Numbers, (n) => Effect.sync(() => (ran.push("a"), n + 1)), { source: "a" })
        yield* bus.addFilter(Numbers, (n) =>
          Effect.andThen(Effect.sync(() => ran.push("b")), Hook.shortCircuit(n * 100)), {
          source: "b"
        })
        yield* bus.addFilter(Numbers, (n) =>
          Effect.sync(() => (ran.push("c"), n + 1)), { source: "c" })
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 200)
        assert.deepStrictEqual(ran, ["a", "b"])
        const result = yield* bus.applyFiltersResult(Numbers, 1)
        assert.strictEqual(result.value, 200)
        assert.deepStrictEqual(result.shortCircuitedBy, Option.some("b"))
        assert.strictEqual(result.ran, 2)
      })
    ))

  it.effect("an already-completed short-circuit takes the same path", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(Numbers, () => Hook.shortCircuit(-1), { source: "sc" })
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1))
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), -1)
      })
    ))
})

describe("5. filter failures", () => {
  it.effect("a failure stops the chain with the last accepted value", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        let lastRan = false
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { source: "inc" })
        yield* bus.addFilter(Numbers, () => Effect.fail("bad"), { source: "bad" })
        yield* bus.addFilter(Numbers, (n) => Effect.sync(() => (lastRan = true, n)), { source: "last" })
        const error: FilterFailed<number> | RecursionLimit = yield* Effect.flip(bus.applyFilters(Numbers, 1))
        assert.strictEqual(error._tag, "FilterFailed")
        const failed = error as FilterFailed<number>
        assert.strictEqual(failed.value, 2)
        assert.strictEqual(failed.failure.source, "bad")
        assert.strictEqual(failed.failure.reason, "Failure")
        assert.strictEqual(failed.failure.error, "bad")
        assert.isFalse(lastRan)
      })
    ))

  it.effect("a defect stops the chain too, and reads as a defect", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(Numbers, (n) => Effect.sync(() => n * 2), { source: "double" })
        yield* bus.addFilter(Numbers, () => Effect.sync(() => JSON.parse("{")), { source: "parse" })
        const error = (yield* Effect.flip(bus.applyFilters(Numbers, 4))) as FilterFailed<number>
        assert.strictEqual(error.value, 8)
        assert.strictEqual(error.failure.reason, "Defect")
        assert.instanceOf(Cause.squash(error.failure.cause), SyntaxError)
      })
    ))
})

describe("6. async actions", () => {
  it.effect("doAction returns without waiting; failures are logged with hook and source, never returned", () => {
    const logs: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<string>()
        yield* bus.addAction(Ping, (x) => Effect.andThen(Effect.sleep("1 second"), Deferred.succeed(done, x)), {
          mode: "async",
          source: "slow"
        })
        yield* bus.addAction(Ping, () => Effect.fail("async failure"), { mode: "async", source: "bad" })
        yield* bus.addAction(Ping, () => Effect.die("async defect"), { mode: "async", source: "dies" })
        yield* bus.doAction(Ping, "hello")
        assert.isFalse(yield* Deferred.isDone(done))
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* Deferred.await(done), "hello")
        yield* bus.awaitIdle
        const errors = logs.filter((l) => l.level === "ERROR")
        assert.deepStrictEqual(errors.map((l) => [l.annotations.hook, l.annotations.source]).sort(), [
          ["ping", "bad"],
          ["ping", "dies"]
        ])
        assert.match(messageOf(errors.find((l) => l.annotations.source === "dies")!), /died/)
      })
    ).pipe(captureLogs(logs))
  })

  it.effect("the caller's scope ending or interruption does not cancel an async handler", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<void>()
        yield* bus.addAction(Ping, () => Effect.andThen(Effect.sleep("10 seconds"), Deferred.succeed(done, void 0)), {
          mode: "async"
        })
        const caller = yield* Effect.forkChild(
          Effect.scoped(Effect.andThen(bus.doAction(Ping), Effect.never))
        )
        yield* Effect.yieldNow
        yield* Fiber.interrupt(caller)
        yield* TestClock.adjust("10 seconds")
        yield* bus.awaitIdle
        // A cancelled handler would leave the bus idle with `done` never completed.
        assert.isTrue(yield* Deferred.isDone(done))
      })
    ))

  it.effect("closing the bus gives in-flight handlers the grace period, then interrupts them", () =>
    Effect.gen(function*() {
      const finished = yield* Ref.make<Array<string>>([])
      const interrupted = yield* Ref.make<Array<string>>([])
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(HookBus.layerWith({ asyncShutdownGrace: "5 seconds" }), scope)
      const bus = Context.get(context, HookBus)
      const handler = (name: string, duration: Duration.Input) =>
        bus.addAction(
          Ping,
          () =>
            Effect.sleep(duration).pipe(
              Effect.andThen(Ref.update(finished, (xs) => [...xs, name])),
              Effect.onInterrupt(() => Ref.update(interrupted, (xs) => [...xs, name]))
            ),
          { mode: "async", source: name }
        ).pipe(Scope.provide(scope))
      yield* handler("quick", "1 second")
      yield* handler("slow", "1 minute")
      yield* bus.doAction(Ping)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Ref.get(finished), ["quick"])
      assert.isUndefined(closing.pollUnsafe())
      yield* TestClock.adjust("4 seconds")
      yield* Fiber.join(closing)
      assert.deepStrictEqual(yield* Ref.get(finished), ["quick"])
      assert.deepStrictEqual(yield* Ref.get(interrupted), ["slow"])
    }))
})

describe("7. scoped registration", () => {
  it.effect("closing the scope removes the handler; remove is earlier and idempotent", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const calls = yield* Ref.make(0)
        const bump = () => Ref.update(calls, (n) => n + 1)
        yield* Effect.scoped(Effect.gen(function*() {
          yield* bus.addAction(Ping, bump)
          yield* bus.doAction(Ping)
        }))
        yield* bus.doAction(Ping)
        assert.strictEqual(yield* Ref.get(calls), 1)
        assert.isFalse(yield* bus.has(Ping))

        const registration = yield* bus.addAction(Ping, bump, { source: "mine" })
        assert.strictEqual(registration.source, "mine")
        assert.strictEqual(registration.hook, "ping")
        assert.isTrue(yield* bus.has(Ping))
        yield* registration.remove
        yield* registration.remove
        yield* bus.doAction(Ping)
        assert.strictEqual(yield* Ref.get(calls), 1)
        assert.deepStrictEqual(yield* bus.handlers(Ping), [])
      })
    ))

  it.effect("a scope's end removes what is still registered in it, last first, and nothing of another scope", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const removed: Array<string> = []
        yield* bus.addAction(MetaHook.HandlerRemoved, (e) => Effect.sync(() => void removed.push(e.handler.source)))
        const first = yield* Scope.make()
        const second = yield* Scope.make()
        const inFirst = (source: string) =>
          bus.addAction(Ping, () => Effect.void, { source }).pipe(Scope.provide(first))
        yield* inFirst("a")
        const b = yield* inFirst("b")
        yield* bus.addAction(Ping, () => Effect.void, { source: "other" }).pipe(Scope.provide(second))
        yield* inFirst("c")
        yield* inFirst("d")
        yield* b.remove
        assert.deepStrictEqual(removed, ["b"])
        yield* Scope.close(first, Exit.void)
        assert.deepStrictEqual(removed, ["b", "d", "c", "a"])
        assert.deepStrictEqual((yield* bus.handlers(Ping)).map((h) => h.source), ["other"])
        // A registration made in the closed scope's place later gets a finalizer of its own.
        const third = yield* Scope.make()
        yield* bus.addAction(Ping, () => Effect.void, { source: "e" }).pipe(Scope.provide(third))
        yield* Scope.close(third, Exit.void)
        yield* Scope.close(second, Exit.void)
        assert.deepStrictEqual(removed, ["b", "d", "c", "a", "e", "other"])
        assert.isFalse(yield* bus.has(Ping))
      })
    ))

  it.effect("removeSource finds a source with one handler, with many, and a default source", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const lone = yield* bus.addAction(Ping, () => Effect.void)
        assert.strictEqual(lone.source, `handler-${lone.id}`)
        yield* bus.addAction(Ping, () => Effect.void, { source: "one" })
        for (let i = 0; i < 3; i++) yield* bus.addAction(Ping, () => Effect.void, { source: "many" })
        assert.strictEqual(yield* bus.removeSource(lone.source), 1)
        assert.strictEqual(yield* bus.removeSource("many"), 3)
        assert.strictEqual(yield* bus.removeSource("many"), 0)
        assert.deepStrictEqual((yield* bus.handlers(Ping)).map((h) => h.source), ["one"])
        assert.strictEqual(yield* bus.removeSource("one"), 1)
        yield* lone.remove
        assert.isFalse(yield* bus.has(Ping))
      })
    ))

  it.effect("a source given as a default source's name is that source too, removed in registration order", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const removed: Array<number> = []
        yield* bus.addAction(MetaHook.HandlerRemoved, (e) => Effect.sync(() => void removed.push(e.handler.id)))
        const before = yield* bus.addAction(Ping, () => Effect.void, { source: "handler-1000" })
        const lone = yield* bus.addAction(Ping, () => Effect.void)
        const named = yield* bus.addAction(Ping, () => Effect.void, { source: lone.source })
        assert.strictEqual(yield* bus.removeSource(lone.source), 2)
        assert.deepStrictEqual(removed, [lone.id, named.id])
        assert.strictEqual(yield* bus.removeSource(lone.source), 0)
        assert.strictEqual(yield* bus.removeSource("handler-1000"), 1)
        assert.deepStrictEqual(removed, [lone.id, named.id, before.id])
        assert.strictEqual(yield* bus.removeSource("handler-0"), 0)
      })
    ))

  it.effect("a scope whose registrations were mostly removed one by one still removes the rest, last first", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const removed: Array<string> = []
        yield* bus.addAction(MetaHook.HandlerRemoved, (e) => Effect.sync(() => void removed.push(e.handler.source)))
        const scope = yield* Scope.make()
        const registrations = []
        for (let i = 0; i < 100; i++) {
          registrations.push(
            yield* bus.addAction(Ping, () => Effect.void, { source: `s${i}` }).pipe(Scope.provide(scope))
          )
        }
        // Every one but each tenth goes before the scope ends.
        for (const [i, registration] of registrations.entries()) if (i % 10 !== 0) yield* registration.remove
        removed.length = 0
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(removed, ["s90", "s80", "s70", "s60", "s50", "s40", "s30", "s20", "s10", "s0"])
        assert.isFalse(yield* bus.has(Ping))
      })
    ))
})

describe("8. reentrance", () => {
  it.effect("handlers added mid-dispatch join the next dispatch", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        yield* bus.addAction(Ping, () =>
          Effect.gen(function*() {
            ran.push("adder")
            if (ran.filter((r) => r === "adder").length === 1) {
              yield* bus.addAction(Ping, () => Effect.sync(() => ran.push("late")), { source: "late" })
            }
          }), { source: "adder" })
        yield* bus.doAction(Ping)
        assert.deepStrictEqual(ran, ["adder"])
        yield* bus.doAction(Ping)
        assert.deepStrictEqual(ran, ["adder", "adder", "late"])
      })
    ))

  it.effect("a handler removed before its turn is skipped; removing yourself does not skip the rest", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        const victim = Ref.makeUnsafe<Effect.Effect<void> | undefined>(undefined)
        const self = Ref.makeUnsafe<Effect.Effect<void> | undefined>(undefined)
        yield* bus.addAction(Ping, () =>
          Effect.gen(function*() {
            ran.push("remover")
            yield* (yield* Ref.get(victim))!
            yield* (yield* Ref.get(self))!
          }), { source: "remover" }).pipe(Effect.tap((r) => Ref.set(self, r.remove)))
        yield* bus.addAction(Ping, () => Effect.sync(() => ran.push("victim")), { source: "victim" }).pipe(
          Effect.tap((r) => Ref.set(victim, r.remove))
        )
        yield* bus.addAction(Ping, () => Effect.sync(() => ran.push("after")), { source: "after" })
        yield* bus.doAction(Ping)
        assert.deepStrictEqual(ran, ["remover", "after"])
        assert.deepStrictEqual((yield* bus.handlers(Ping)).map((h) => h.source), ["after"])
      })
    ))
})

describe("9. nesting", () => {
  it.effect("nested dispatch works and current shows the stack", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const Outer = Hook.action("outer")
        const Inner = Hook.filter<ReadonlyArray<string>>("inner")
        const seen: Array<ReadonlyArray<string>> = []
        yield* bus.addFilter(Inner, () => bus.current)
        yield* bus.addAction(Outer, () =>
          Effect.gen(function*() {
            seen.push(yield* bus.current)
            seen.push(yield* bus.applyFilters(Inner, []))
          }))
        yield* bus.doAction(Outer)
        assert.deepStrictEqual(seen, [["outer"], ["outer", "inner"]])
        assert.deepStrictEqual(yield* bus.current, [])
      })
    ))

  it.effect("deeper than maxDepth fails with RecursionLimit instead of overflowing", () =>
    withBus(
      (bus) =>
        Effect.gen(function*() {
          const Loop = Hook.filter<number>("loop")
          yield* bus.addFilter(Loop, (n) => bus.applyFilters(Loop, n + 1))
          const error = yield* Effect.flip(bus.applyFilters(Loop, 0))
          // The innermost dispatch fails with RecursionLimit; each outer handler reports it as its failure.
          let cause: unknown = error
          let depth = 0
          while ((cause as FilterFailed<number>)._tag === "FilterFailed") {
            depth++
            cause = (cause as FilterFailed<number>).failure.error
          }
          assert.strictEqual((cause as RecursionLimit)._tag, "RecursionLimit")
          assert.strictEqual((cause as RecursionLimit).depth, 11)
          assert.strictEqual(depth, 10)
        }),
      HookBus.layerWith({ maxDepth: 10 })
    ))

  it.effect("current is fiber-local under concurrency", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const hooks = ["a", "b", "c", "d"].map((name) => Hook.filter<ReadonlyArray<string>>(name))
        for (const hook of hooks) {
          yield* bus.addFilter(
            hook,
            () => Effect.andThen(Effect.flatMap(Random.nextIntBetween(1, 20), (ms) => Effect.sleep(ms)), bus.current)
          )
        }
        const fiber = yield* Effect.forkChild(
          Effect.forEach(hooks, (hook) => bus.applyFilters(hook, []), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("1 second")
        const results = yield* Fiber.join(fiber)
        assert.deepStrictEqual(results, [["a"], ["b"], ["c"], ["d"]])
      })
    ))
})

describe("10. interruption", () => {
  it.effect("interrupting the dispatching fiber stops the chain at once and propagates", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        const started = yield* Deferred.make<void>()
        yield* bus.addAction(Ping, () => Effect.andThen(Deferred.succeed(started, void 0), Effect.never), {
          source: "blocks"
        })
        yield* bus.addAction(Ping, () => Effect.sync(() => ran.push("after")), { source: "after" })
        const fiber = yield* Effect.forkChild(bus.doAction(Ping))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
        assert.deepStrictEqual(ran, [])
      })
    ))

  it.effect("a handler that interrupts itself is a HandlerFailed with reason Interrupt", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addFilter(Numbers, () => Effect.interrupt, { source: "self" })
        const error = (yield* Effect.flip(bus.applyFilters(Numbers, 1))) as FilterFailed<number>
        assert.strictEqual(error.failure.reason, "Interrupt")
      })
    ))
})

class Greeting extends Context.Service<Greeting, string>()("test/Greeting") {}
class RequestId extends Context.Service<RequestId, string>()("test/RequestId") {}

describe("11. context", () => {
  it.effect("handlers see the dispatching fiber's span and log annotations; services come from registration", () => {
    const logs: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        const Say = Hook.filter<string>("say")
        yield* bus.addFilter(Say, (s) =>
          Effect.gen(function*() {
            const greeting = yield* Greeting
            const span = yield* Effect.currentSpan
            yield* Effect.log("in handler")
            // The handler runs under the dispatch span, itself a child of the caller's span.
            const parent = span.parent._tag === "Some" && span.parent.value._tag === "Span"
              ? span.parent.value.name
              : "?"
            return `${s}${greeting} from ${parent}`
          })).pipe(Effect.provideService(Greeting, "registration"))
        const result = yield* bus.applyFilters(Say, "").pipe(
          Effect.withSpan("caller-span"),
          Effect.annotateLogs({ requestId: "r-1" }),
          // The caller's own Greeting does not replace the one the handler was registered with.
          Effect.provideService(Greeting, "caller")
        )
        assert.strictEqual(result, "registration from caller-span")
        assert.strictEqual(logs.find((l) => messageOf(l) === "in handler")?.annotations.requestId, "r-1")
      })
    ).pipe(captureLogs(logs))
  })

  it.effect("services the caller has and the registration lacks stay visible", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const Say = Hook.filter<string>("say")
        yield* bus.addFilter(Say, () => Effect.map(Effect.serviceOption(RequestId), Option.getOrElse(() => "none")))
        assert.strictEqual(yield* bus.applyFilters(Say, "").pipe(Effect.provideService(RequestId, "r-9")), "r-9")
      })
    ))
})

describe("12. concurrency", () => {
  it.effect("thousands of interleaved adds, removes and dispatches lose nothing and never run a removed handler", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const Hot = Hook.action<[]>("hot")
        // Handlers whose remove has completed; running one of them is the bug this test hunts.
        const gone = new Set<number>()
        let violations = 0
        let runs = 0
        const worker = (w: number) =>
          Effect.gen(function*() {
            for (let i = 0; i < 250; i++) {
              const id = w * 1000 + i
              const registration = yield* bus.addAction(Hot, () =>
                Effect.sync(() => {
                  runs++
                  if (gone.has(id)) violations++
                }))
              const roll = yield* Random.nextIntBetween(0, 4)
              if (roll === 0) yield* Effect.yieldNow
              yield* bus.doAction(Hot)
              const handlers = yield* bus.handlers(Hot)
              assert.isTrue(handlers.some((h) => h.id === registration.id), "a live registration was lost")
              yield* registration.remove
              gone.add(id)
              if (roll === 1) yield* Effect.yieldNow
              yield* bus.doAction(Hot)
            }
          })
        yield* Effect.scoped(Effect.forEach([0, 1, 2, 3, 4, 5, 6, 7], worker, { concurrency: "unbounded" }))
        assert.strictEqual(violations, 0)
        assert.isAbove(runs, 2000)
        assert.deepStrictEqual(yield* bus.handlers(Hot), [])
        assert.strictEqual(yield* bus.dispatchCount(Hot), 8 * 250 * 2)
      })
    ))
})

describe("errors", () => {
  it.effect("registration errors name the hook and reason", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const error: RegistrationRejected = yield* Effect.flip(
          bus.addFilter(Numbers, (n) => Effect.succeed(n), { source: "" })
        )
        assert.strictEqual(error.reason, "InvalidOption")
        assert.strictEqual(error.hook, "numbers")
      })
    ))

  it.effect("dispatchCount counts dispatches, with or without handlers", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.doAction(Ping)
        yield* bus.doAction(Ping)
        yield* bus.applyFilters(Numbers, 1)
        assert.strictEqual(yield* bus.dispatchCount(Ping), 2)
        assert.strictEqual(yield* bus.dispatchCount(Numbers), 1)
        assert.strictEqual(yield* bus.dispatchCount(Hook.action("numbers")), 0)
      })
    ))
})
