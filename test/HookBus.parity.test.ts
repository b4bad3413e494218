/**
 * The bus features peers offer (issue 18): removeAll, meta hooks, ...; each rule of docs/concepts.md that names a
 * peer's API has its test here.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Config,
  ConfigProvider,
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Ref,
  References,
  Result,
  Schema,
  Scope
} from "effect"
import * as fc from "fast-check"
import {
  ActionFailed,
  type DispatchRecord,
  FilterFailed,
  HandlerFailed,
  Hook,
  HookBus,
  HookBusConfig,
  type HookBusShape,
  HookRecorder,
  type Interceptor,
  InvalidHookName,
  MetaHook,
  RecursionLimit,
  RegistrationRejected,
  ShortCircuit
} from "../src/index.ts"
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

describe("defects are logged (the seed's sync handlers)", () => {
  it.effect("a sync action or filter handler that dies is logged at ERROR with hook, source and the pretty cause", () => {
    const logs: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Ping, () => Effect.void, { source: "fine" })
        yield* bus.addAction(Ping, () => {
          throw new RangeError("thrown outside an Effect")
        }, { source: "throws" })
        yield* bus.addAction(Ping, () => Effect.fail("typed"), { source: "fails" })
        yield* bus.addAction(Ping, () => Effect.sync(() => JSON.parse("{")), { source: "dies-later" })
        const failed = (yield* Effect.flip(bus.doAction(Ping))) as ActionFailed
        assert.deepStrictEqual(failed.failures.map((f) => f.reason), ["Defect", "Failure", "Defect"])
        yield* bus.addFilter(Numbers, () => Effect.die(new Error("filter defect")), { source: "filter-dies" })
        yield* Effect.flip(bus.applyFilters(Numbers, 1))
        const errors = logs.filter((l) => l.level === "ERROR")
        assert.deepStrictEqual(
          errors.map((l) => [messageOf(l), l.annotations.hook, l.annotations.kind, l.annotations.source]),
          [
            ["action handler died", "ping", "action", "throws"],
            ["action handler died", "ping", "action", "dies-later"],
            ["filter handler died", "numbers", "filter", "filter-dies"]
          ]
        )
        // The pretty cause: the defect's name, message and stack.
        assert.include(errors[0].cause, "RangeError: thrown outside an Effect")
        assert.include(errors[1].cause, "SyntaxError")
        assert.include(errors[2].cause, "Error: filter defect")
        assert.match(errors[2].cause!, /\bat\b/)
        // A typed failure is returned, not logged.
        assert.isUndefined(logs.find((l) => l.annotations.source === "fails"))
      })
    ).pipe(captureLogs(logs))
  })

  it.effect("a dispatch without defects logs nothing", () => {
    const logs: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Ping, () => Effect.fail("typed"), { source: "fails" })
        yield* bus.addFilter(Numbers, () => Effect.fail("typed"), { source: "fails" })
        yield* Effect.flip(bus.doAction(Ping))
        yield* Effect.flip(bus.applyFilters(Numbers, 1))
        assert.deepStrictEqual(logs, [])
      })
    ).pipe(captureLogs(logs))
  })
})

class Wrapped extends Data.TaggedError("Wrapped")<{ readonly cause: unknown }> {}

describe("wrapped short-circuit (Go's fmt.Errorf(\"...: %w\", ErrShortCircuit))", () => {
  const stopsWith = (handler: (n: number) => Effect.Effect<number, unknown>) =>
    withBus((bus) =>
      Effect.gen(function*() {
        const after: Array<number> = []
        yield* bus.addFilter(Numbers, handler as (n: number) => Effect.Effect<number>, { source: "stops" })
        yield* bus.addFilter(Numbers, (n) => Effect.sync(() => (after.push(n), n + 1000)), { source: "after" })
        const result = yield* Effect.result(bus.applyFiltersResult(Numbers, 1))
        return { result, after }
      })
    )

  it.effect("a ShortCircuit as the cause of the failing error (any depth up to 16) still short-circuits", () =>
    Effect.gen(function*() {
      for (const depth of [1, 2, 16]) {
        let error: unknown = new ShortCircuit({ value: depth })
        for (let i = 0; i < depth; i++) error = new Wrapped({ cause: error })
        const { after, result } = yield* stopsWith(() => Effect.fail(error))
        assert.isTrue(Result.isSuccess(result), `depth ${depth}`)
        if (Result.isSuccess(result)) {
          assert.strictEqual(result.success.value, depth)
          assert.deepStrictEqual(result.success.shortCircuitedBy, Option.some("stops"))
        }
        assert.deepStrictEqual(after, [])
      }
      // A plain Error's cause counts too; and past 16 links the search stops (a cycle of causes ends there).
      const { result } = yield* stopsWith(() =>
        Effect.fail(new Error("wrapped", { cause: new ShortCircuit({ value: 5 }) }))
      )
      assert.strictEqual(Result.getOrThrow(result).value, 5)
      let deep: unknown = new ShortCircuit({ value: 17 })
      for (let i = 0; i < 17; i++) deep = new Wrapped({ cause: deep })
      assert.isTrue(Result.isFailure((yield* stopsWith(() => Effect.fail(deep))).result))
      const cyclic: { cause?: unknown } = {}
      cyclic.cause = cyclic
      assert.isTrue(Result.isFailure((yield* stopsWith(() => Effect.fail(cyclic))).result))
    }))

  it.effect("a ShortCircuit in the Cause (among other typed failures, or a Cause held as cause) short-circuits", () =>
    Effect.gen(function*() {
      const both = Cause.fromReasons<unknown>([
        Cause.makeFailReason("other"),
        Cause.makeFailReason(new ShortCircuit({ value: 3 }))
      ])
      const { after, result } = yield* stopsWith(() => Effect.failCause(both))
      assert.strictEqual(Result.getOrThrow(result).value, 3)
      assert.deepStrictEqual(after, [])
      const held = new Wrapped({ cause: Cause.fail(new ShortCircuit({ value: 4 })) })
      assert.strictEqual(Result.getOrThrow((yield* stopsWith(() => Effect.fail(held))).result).value, 4)
    }))

  it.effect("not a short-circuit: a defect or interruption in the Cause, an unrelated cause, an action handler", () =>
    Effect.gen(function*() {
      const reasonOf = (handler: (n: number) => Effect.Effect<number, unknown>) =>
        Effect.map(stopsWith(handler), ({ after, result }) => {
          assert.deepStrictEqual(after, [])
          return Result.isFailure(result) ? (result.failure as FilterFailed).failure.reason : "short-circuit"
        })
      const sc = new ShortCircuit({ value: 9 })
      assert.strictEqual(yield* reasonOf(() => Effect.orDie(Effect.fail(sc))), "Defect")
      assert.strictEqual(
        yield* reasonOf(() =>
          Effect.failCause(Cause.fromReasons([Cause.makeFailReason(sc), Cause.makeDieReason("bug")]))
        ),
        "Defect"
      )
      assert.strictEqual(
        yield* reasonOf(() =>
          Effect.failCause(Cause.fromReasons([Cause.makeFailReason(sc), Cause.makeInterruptReason()]))
        ),
        "Failure"
      )
      assert.strictEqual(yield* reasonOf(() => Effect.fail(new Wrapped({ cause: new Error("x") }))), "Failure")
      const throwing = Object.defineProperty({}, "cause", {
        get() {
          throw new Error("getter")
        }
      })
      assert.strictEqual(yield* reasonOf(() => Effect.fail(throwing)), "Failure")
      // Actions have no short-circuit: wrapped or not, it is an ordinary failure.
      const failed = yield* withBus((bus) =>
        Effect.gen(function*() {
          yield* bus.addAction(Ping, () => Effect.fail(new Wrapped({ cause: sc })))
          return (yield* Effect.flip(bus.doAction(Ping))) as ActionFailed
        })
      )
      assert.strictEqual(failed.failures[0].reason, "Failure")
    }))

  it.effect("any wrapping depth from 0 to 16 short-circuits with the value (property)", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 16 }), fc.anything(), fc.boolean(), async (depth, value, plain) => {
          let error: unknown = new ShortCircuit({ value })
          for (let i = 0; i < depth; i++) {
            error = plain ? new Error(`level ${i}`, { cause: error }) : new Wrapped({ cause: error })
          }
          const { result } = await Effect.runPromise(Effect.scoped(stopsWith(() => Effect.fail(error))))
          assert.deepStrictEqual(Result.getOrThrow(result).value, value)
        }),
        { numRuns: 60 }
      )
    ))
})

describe("doActionParallel (hookable callHookParallel, tapable AsyncParallelHook, emittery emit)", () => {
  const parallelBus = <A, E>(concurrency: number, f: (bus: HookBusShape) => Effect.Effect<A, E, Scope.Scope>) =>
    HookBus.use(f).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ parallel: { concurrency } }))))

  it.effect("runs the handlers at once and waits for all of them", () =>
    parallelBus(16, (bus) =>
      Effect.gen(function*() {
        // Each handler waits until all four have started: run one at a time, this would never end.
        const started = yield* Ref.make(0)
        const all = yield* Deferred.make<void>()
        const done: Array<string> = []
        for (const source of ["a", "b", "c", "d"]) {
          yield* bus.addAction(Ping, (x) =>
            Effect.gen(function*() {
              if ((yield* Ref.updateAndGet(started, (n) => n + 1)) === 4) yield* Deferred.succeed(all, void 0)
              yield* Deferred.await(all)
              assert.deepStrictEqual(yield* bus.current, ["ping"])
              done.push(`${source}${x}`)
            }), { source })
        }
        yield* bus.doActionParallel(Ping, "!")
        assert.sameMembers(done, ["a!", "b!", "c!", "d!"])
        assert.strictEqual(yield* bus.dispatchCount(Ping), 1)
      })))

  it.effect("at most parallel.concurrency handlers are in flight", () =>
    parallelBus(2, (bus) =>
      Effect.gen(function*() {
        let inFlight = 0
        let most = 0
        let runs = 0
        for (let i = 0; i < 5; i++) {
          yield* bus.addAction(Ping, () =>
            Effect.gen(function*() {
              inFlight++
              most = Math.max(most, inFlight)
              for (let k = 0; k < 5; k++) yield* Effect.yieldNow
              inFlight--
              runs++
            }))
        }
        yield* bus.doActionParallel(Ping)
        assert.strictEqual(runs, 5)
        assert.strictEqual(most, 2)
      })))

  it.effect("failures come back in chain order, whatever order the handlers end in; defects are logged", () => {
    const logs: Array<LogEntry> = []
    return parallelBus(16, (bus) =>
      Effect.gen(function*() {
        const late = yield* Deferred.make<void>()
        yield* bus.addAction(Ping, () => Effect.andThen(Deferred.await(late), Effect.fail("first, ends last")), {
          source: "first"
        })
        yield* bus.addAction(Ping, () => Effect.void, { source: "ok" })
        yield* bus.addAction(Ping, () => Effect.andThen(Deferred.succeed(late, void 0), Effect.die("bug")), {
          source: "third"
        })
        const failed = (yield* Effect.flip(bus.doActionParallel(Ping))) as ActionFailed
        assert.deepStrictEqual(failed.failures.map((f) => [f.source, f.reason]), [["first", "Failure"], [
          "third",
          "Defect"
        ]])
        assert.deepStrictEqual(logs.filter((l) => l.level === "ERROR").map((l) => l.annotations.source), ["third"])
      })).pipe(captureLogs(logs))
  })

  it.effect("Effect.sync handlers run in place; one that throws is a Defect, in chain order with the others", () => {
    const logs: Array<LogEntry> = []
    return parallelBus(16, (bus) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        yield* bus.addAction(Ping, (x) => Effect.sync(() => void ran.push(`a${x}`)), { source: "a" })
        yield* bus.addAction(Ping, () =>
          Effect.sync(() => {
            throw new Error("sync bug")
          }), { source: "thrower" })
        yield* bus.addAction(Ping, () => Effect.fail("typed"), { source: "fails" })
        yield* bus.addAction(Ping, (x) => Effect.sync(() => void ran.push(`d${x}`)), { source: "d" })
        const failed = (yield* Effect.flip(bus.doActionParallel(Ping, "!"))) as ActionFailed
        assert.deepStrictEqual(ran, ["a!", "d!"])
        assert.deepStrictEqual(failed.failures.map((f) => [f.source, f.reason]), [["thrower", "Defect"], [
          "fails",
          "Failure"
        ]])
        assert.include(Cause.pretty(failed.failures[0].cause), "sync bug")
        assert.deepStrictEqual(logs.filter((l) => l.level === "ERROR").map((l) => l.annotations.source), ["thrower"])
      })).pipe(captureLogs(logs))
  })

  it.effect("async handlers are started, not awaited; once, removal and the recorder behave as in doAction", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const release = yield* Deferred.make<void>()
      let asyncDone = false
      let onceRuns = 0
      yield* bus.addAction(Ping, () => Effect.andThen(Deferred.await(release), Effect.sync(() => (asyncDone = true))), {
        mode: "async",
        source: "later"
      })
      yield* bus.addAction(Ping, () => Effect.sync(() => onceRuns++), { source: "once", once: true })
      yield* bus.doActionParallel(Ping, "x")
      yield* bus.doActionParallel(Ping, "y")
      assert.isFalse(asyncDone)
      assert.strictEqual(onceRuns, 1)
      yield* Deferred.succeed(release, void 0)
      yield* bus.awaitIdle
      assert.isTrue(asyncDone)
      const records = yield* HookRecorder.use((r) => r.recordsOf("ping"))
      assert.deepStrictEqual(records.map((r) => [r.args, r.outcome, r.handlers]), [
        [["x"], "ok", ["later", "once"]],
        [["y"], "ok", ["later"]]
      ])
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerTest))))

  it.effect("parallel.concurrency must be a positive integer", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(HookBus.layerWith({ parallel: { concurrency: 0 } })))
      assert.strictEqual(error.option, "parallel.concurrency")
    }))
})

describe("Layer helpers and the stub bus", () => {
  it.effect("HookBus.handler registers for the layer's life, an action or a filter by the hook's kind", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const handlers = Layer.mergeAll(
        HookBus.handler(Numbers, (n) => Effect.succeed(n * 2), { source: "double" }),
        HookBus.handler(Ping, (x) => Effect.sync(() => seen.push(x)), { source: "log" })
      )
      const bus = yield* HookBus
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(handlers.pipe(Layer.provide(Layer.succeed(HookBus, bus))), scope)
      assert.strictEqual(yield* bus.applyFilters(Numbers, 2), 4)
      yield* bus.doAction(Ping, "hi")
      assert.deepStrictEqual(seen, ["hi"])
      yield* Scope.close(scope, Exit.void)
      assert.isFalse(yield* bus.has(Numbers))
      assert.isFalse(yield* bus.has(Ping))
      const rejected = yield* Effect.flip(
        Layer.build(
          HookBus.handler(Numbers, Effect.succeed, { priority: Number.NaN }).pipe(
            Layer.provide(Layer.succeed(HookBus, bus))
          )
        )
      )
      assert.strictEqual(rejected.reason, "InvalidPriority")
    }).pipe(Effect.provide(Layer.fresh(HookBus.layer))))

  it.effect("layerStub answers from its table; unnamed hooks pass through; registrations never run", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      let ran = false
      yield* bus.addFilter(Numbers, () => Effect.sync(() => (ran = true, 0)))
      assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 11)
      assert.strictEqual(yield* bus.applyFilters(Hook.filter<number>("other"), 1), 1)
      const result = yield* bus.applyFiltersResult(Hook.filter<number>("other"), 1)
      assert.strictEqual(result.ran, 0)
      const failed = yield* Effect.flip(bus.applyFilters(Hook.filter<number>("broken"), 5))
      assert.strictEqual(failed._tag === "FilterFailed" && failed.value, 5)
      assert.strictEqual(failed._tag === "FilterFailed" && failed.failure.reason, "Defect")
      yield* bus.doAction(Ping, "a")
      yield* bus.doActionParallel(Ping, "b")
      assert.isFalse(ran)
      assert.isTrue(yield* bus.has(Numbers))
      assert.isFalse(yield* bus.has(Ping))
      assert.strictEqual(yield* bus.dispatchCount(Numbers), 1)
      assert.strictEqual(yield* bus.dispatchCount(Ping), 2)
    }).pipe(Effect.provide(HookBus.layerStub({
      filters: { numbers: (n: number) => Effect.succeed(n + 10), broken: () => Effect.die("stub bug") }
    }))))
})

describe("interceptors (tapable intercept({ call, register }), hookable beforeEach/afterEach)", () => {
  /** An interceptor that writes what it sees as lines. */
  const tracing = (lines: Array<string>): Interceptor => ({
    beforeEach: (d) => Effect.sync(() => lines.push(`before ${d.kind} ${d.hook} ${JSON.stringify([d.value, d.args])}`)),
    afterEach: (r) =>
      Effect.sync(() =>
        lines.push(
          `after ${r.kind} ${r.hook} ${r.outcome} [${r.handlers.join(",")}] ${JSON.stringify(r.result)} ${
            r.failures.map((f) => f.source).join(",")
          }`
        )
      ),
    register: (e) => Effect.sync(() => lines.push(`register ${e.kind} ${e.hook} ${e.handler.source}`))
  })

  it.effect("beforeEach and afterEach run around every dispatch, nested ones inside; register after each registration", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const lines: Array<string> = []
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { source: "early" })
        yield* bus.intercept(tracing(lines))
        yield* bus.addFilter(Numbers, (n) => n > 100 ? Hook.shortCircuit(-1) : Effect.succeed(n * 2), { source: "x2" })
        yield* bus.addAction(Ping, (s) => Effect.asVoid(bus.applyFilters(Numbers, s.length)), { source: "nest" })
        yield* bus.addAction(Ping, () => Effect.fail("no"), { source: "fails" })
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 4)
        assert.strictEqual((yield* bus.applyFiltersResult(Numbers, 200)).value, -1)
        yield* Effect.flip(bus.doAction(Ping, "abc"))
        yield* Effect.flip(bus.doActionParallel(Ping, "z"))
        assert.deepStrictEqual(lines, [
          "register filter numbers x2",
          "register action ping nest",
          "register action ping fails",
          "before filter numbers [1,[]]",
          "after filter numbers ok [early,x2] 4 ",
          "before filter numbers [200,[]]",
          "after filter numbers short_circuit [early,x2] -1 ",
          "before action ping [null,[\"abc\"]]",
          "before filter numbers [3,[]]",
          "after filter numbers ok [early,x2] 8 ",
          "after action ping failed [nest,fails] undefined fails",
          "before action ping [null,[\"z\"]]",
          "before filter numbers [1,[]]",
          "after filter numbers ok [early,x2] 4 ",
          "after action ping failed [nest,fails] undefined fails"
        ])
      })
    ))

  it.effect("scoped: closing the interceptor's scope removes it; two run in installation order", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        const lines: Array<string> = []
        yield* bus.addAction(Ping, () => Effect.void, { source: "h" })
        yield* bus.intercept({ beforeEach: (d) => Effect.sync(() => lines.push(`first ${d.hook}`)) })
        const scope = yield* Scope.make()
        yield* bus.intercept({
          beforeEach: (d) => Effect.sync(() => lines.push(`second ${d.hook}`)),
          register: (e) => Effect.sync(() => lines.push(`register ${e.handler.source}`))
        }).pipe(Scope.provide(scope))
        yield* bus.doAction(Ping)
        yield* bus.addAction(Ping, () => Effect.void, { source: "in-scope" })
        yield* Scope.close(scope, Exit.void)
        yield* bus.doAction(Ping)
        yield* bus.addAction(Ping, () => Effect.void, { source: "after" })
        assert.deepStrictEqual(lines, ["first ping", "second ping", "register in-scope", "first ping"])
      })
    ))

  it.effect("an interrupted dispatch reaches afterEach as interrupted; a RecursionLimit as failed", () =>
    HookBus.use((bus) =>
      Effect.gen(function*() {
        const records: Array<string> = []
        yield* bus.intercept({ afterEach: (r) => Effect.sync(() => records.push(`${r.hook} ${r.outcome}`)) })
        const started = yield* Deferred.make<void>()
        yield* bus.addAction(Ping, () => Effect.andThen(Deferred.succeed(started, void 0), Effect.never), {
          source: "hangs"
        })
        const fiber = yield* Effect.forkChild(bus.doAction(Ping))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        const Deep = Hook.action("deep")
        yield* bus.addAction(Deep, () => bus.doAction(Deep))
        const error = yield* Effect.flip(bus.doAction(Deep))
        assert.strictEqual(error._tag, "ActionFailed")
        assert.deepStrictEqual(records, ["ping interrupted", "deep failed", "deep failed", "deep failed"])
      })
    ).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ maxDepth: 2 })))))

  it.effect("a defect in an interceptor is logged at ERROR and changes nothing; its own dispatches are not intercepted", () => {
    const entries: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        let seen = 0
        yield* bus.addFilter(Numbers, (n) => Effect.succeed(n + 1), { source: "inc" })
        yield* bus.intercept({
          beforeEach: () => {
            throw new Error("before broke")
          },
          afterEach: () => Effect.die("after broke"),
          register: () => Effect.die("register broke")
        })
        // This one dispatches from inside: without the rule it would intercept its own dispatch forever.
        yield* bus.intercept({
          beforeEach: (d) =>
            d.hook === "numbers"
              ? Effect.asVoid(
                Effect.tap(Effect.orDie(bus.applyFilters(Numbers, 0)), (n) => Effect.sync(() => seen += n))
              )
              : Effect.void
        })
        assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 2)
        yield* bus.addAction(Ping, () => Effect.void, { source: "late" })
        assert.strictEqual(seen, 1)
        const errors = entries.filter((e) => e.level === "ERROR").map((e) => [
          messageOf(e),
          e.annotations.interceptor,
          e.annotations.hook,
          e.cause?.includes("broke")
        ])
        assert.deepStrictEqual(errors, [
          ["beforeEach interceptor died", "beforeEach", "numbers", true],
          ["afterEach interceptor died", "afterEach", "numbers", true],
          ["register interceptor died", "register", "ping", true]
        ])
      })
    ).pipe(captureLogs(entries))
  })

  it.effect("an interceptor's services come from where it was installed; it runs in the dispatching fiber", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        class Sink extends Context.Service<Sink, Array<string>>()("test/Sink") {}
        const got: Array<string> = []
        yield* bus.intercept({
          beforeEach: (d) =>
            Effect.gen(function*() {
              const annotations = yield* References.CurrentLogAnnotations
              ;(yield* Sink).push(`${d.hook} ${String(annotations.request)} ${(yield* bus.current).length}`)
            })
        }).pipe(Effect.provideService(Sink, got))
        yield* bus.doAction(Ping).pipe(Effect.annotateLogs({ request: "r-9" }))
        assert.deepStrictEqual(got, ["ping r-9 0"])
      })
    ))

  it.live("a recorder built on afterEach sees exactly what HookRecorder records", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant("action" as const)), { maxLength: 12 }),
          (steps) =>
            Effect.runPromise(
              Effect.gen(function*() {
                const bus = yield* HookBus
                const recorder = yield* HookRecorder
                const mine: Array<DispatchRecord> = []
                yield* bus.intercept({ afterEach: (r) => Effect.sync(() => mine.push(r)) })
                yield* bus.addFilter(Numbers, (n) => n < 0 ? Effect.fail("negative") : Effect.succeed(n + 1), {
                  source: "inc"
                })
                yield* bus.addFilter(Numbers, (n) => n > 3 ? Hook.shortCircuit(0) : Effect.succeed(n), {
                  source: "cap"
                })
                yield* bus.addAction(Ping, () => Effect.void, { source: "ping" })
                for (const step of steps) {
                  if (step === "action") yield* bus.doAction(Ping, "p")
                  else yield* Effect.exit(bus.applyFilters(Numbers, step))
                }
                const theirs = yield* recorder.records
                assert.strictEqual(mine.length, steps.length)
                assert.deepStrictEqual(mine, theirs)
              }).pipe(Effect.scoped, Effect.provide(Layer.fresh(HookBus.layerTest)))
            )
        ),
        { numRuns: 50 }
      )
    ))

  it.effect("the stub bus runs beforeEach and afterEach around its answers", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const lines: Array<string> = []
      yield* bus.intercept(tracing(lines))
      assert.strictEqual(yield* bus.applyFilters(Numbers, 1), 11)
      yield* Effect.flip(bus.doAction(Ping, "a"))
      yield* bus.addAction(Ping, () => Effect.void, { source: "never" })
      assert.deepStrictEqual(lines, [
        "before filter numbers [1,[]]",
        "after filter numbers ok [stub] 11 ",
        "before action ping [null,[\"a\"]]",
        "after action ping failed [stub] undefined stub"
      ])
    }).pipe(Effect.provide(HookBus.layerStub({
      filters: { numbers: (n: number) => Effect.succeed(n + 10) },
      actions: { ping: () => Effect.fail("stub says no") }
    }))))
})

describe("Hook.deprecate (hookable deprecateHook)", () => {
  const warningsOf = (entries: ReadonlyArray<LogEntry>) =>
    entries.filter((e) => e.level === "WARN").map((e) => [messageOf(e), e.annotations.source ?? null])

  it.effect("registering logs one warning per source, dispatching one per hook; the hook is otherwise the same", () => {
    const entries: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        const Old = Hook.deprecate(Hook.action<[string]>("post.old"), { message: "use post.new", since: "2.0.0" })
        assert.deepStrictEqual([Old.kind, Old.name, Old.key], ["action", "post.old", "action:post.old"])
        const seen: Array<string> = []
        yield* bus.addAction(Old, (s) => Effect.sync(() => seen.push(`a${s}`)), { source: "a" })
        yield* bus.addAction(Old, (s) => Effect.sync(() => seen.push(`a${s}`)), { source: "a" })
        yield* bus.addAction(Old, (s) => Effect.sync(() => seen.push(`b${s}`)), { source: "b" })
        yield* bus.doAction(Old, "1")
        yield* bus.doActionParallel(Old, "2")
        // Another definition of the same hook (a plugin's, by name) warns too, once the bus has met the deprecation.
        const Plain = Hook.action<[string]>("post.old")
        yield* bus.addAction(Plain, () => Effect.void, { source: "plugin:legacy" })
        yield* bus.doAction(Plain, "3")
        // A hook that is not deprecated warns never.
        yield* bus.addAction(Ping, () => Effect.void, { source: "a" })
        yield* bus.doAction(Ping)
        assert.deepStrictEqual(seen, ["a1", "a1", "b1", "a2", "a2", "b2", "a3", "a3", "b3"])
        assert.deepStrictEqual(warningsOf(entries), [
          [`handler "a" registered on deprecated action "post.old" (since 2.0.0): use post.new`, "a"],
          [`handler "b" registered on deprecated action "post.old" (since 2.0.0): use post.new`, "b"],
          [`deprecated action "post.old" dispatched (since 2.0.0): use post.new`, null],
          [
            `handler "plugin:legacy" registered on deprecated action "post.old" (since 2.0.0): use post.new`,
            "plugin:legacy"
          ]
        ])
        assert.deepStrictEqual(
          entries.filter((e) => e.level === "WARN").map((e) => [e.annotations.hook, e.annotations.since]),
          Array.from({ length: 4 }, () => ["post.old", "2.0.0"])
        )
      })
    ).pipe(captureLogs(entries))
  })

  it.effect("a deprecated filter warns on its first dispatch even with no handler; a refused registration warns not", () => {
    const entries: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        const Old = Hook.deprecate(Hook.filter<number>("old.numbers"), { message: "gone in 3", since: "2.1.0" })
        assert.strictEqual(yield* bus.applyFilters(Old, 1), 1)
        assert.strictEqual((yield* bus.applyFiltersResult(Old, 2)).value, 2)
        yield* Effect.flip(bus.addFilter(Old, Effect.succeed, { source: "bad", priority: Number.NaN }))
        assert.deepStrictEqual(warningsOf(entries), [
          [`deprecated filter "old.numbers" dispatched (since 2.1.0): gone in 3`, null]
        ])
      })
    ).pipe(captureLogs(entries))
  })
})

describe("typed errors: a hook's declared error type, and the bus's errors as schema classes", () => {
  class Denied extends Schema.TaggedError<Denied>()("Denied", { user: Schema.String }) {}
  const Login = Hook.action("user.login", { args: [Schema.String], error: Denied })
  const Greeting = Hook.filter("greeting", { value: Schema.String, error: Denied })

  it.effect("a handler's declared error reaches the caller typed; an undeclared one is a defect, logged", () => {
    const entries: Array<LogEntry> = []
    return withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Login, (user) => Effect.fail(new Denied({ user })), { source: "deny" })
        // A cast past the compile-time check: the bus still keeps `error` an E.
        yield* bus.addAction(Login, () => Effect.fail("not a Denied") as unknown as Effect.Effect<void, Denied>, {
          source: "liar"
        })
        const error = yield* Effect.flip(bus.doAction(Login, "ada"))
        assert.strictEqual(error._tag, "ActionFailed")
        if (error._tag !== "ActionFailed") return
        const [deny, liar] = error.failures
        const user: string | undefined = deny.error?.user
        assert.deepStrictEqual([deny.reason, user, deny.error instanceof Denied], ["Failure", "ada", true])
        assert.deepStrictEqual([liar.reason, liar.error], ["Defect", undefined])
        assert.strictEqual(Cause.squash(liar.cause), "not a Denied")
        assert.deepStrictEqual(
          entries.filter((e) => e.level === "ERROR").map((e) => [messageOf(e), e.annotations.source]),
          [["action handler died", "liar"]]
        )
        // A plain definition of the same hook (a plugin's, by name) is checked too once the bus met the declaration.
        yield* bus.addFilter(Greeting, (text) =>
          text === "" ? Effect.fail(new Denied({ user: "?" })) : Effect.succeed(text))
        yield* bus.addFilter(Hook.filter<string>("greeting"), () =>
          Effect.fail(new Error("plugin trap")), {
          source: "plugin:x",
          priority: 20
        })
        const filtered = yield* Effect.flip(bus.applyFilters(Greeting, ""))
        assert.strictEqual(filtered._tag === "FilterFailed" && filtered.failure.error?.user, "?")
        const other = yield* Effect.flip(bus.applyFilters(Greeting, "hi"))
        assert.deepStrictEqual(
          other._tag === "FilterFailed" ? [other.failure.source, other.failure.reason, other.value] : [],
          ["plugin:x", "Defect", "hi"]
        )
        // A short-circuit is always allowed on a filter.
        yield* bus.addFilter(Greeting, (text) => Hook.shortCircuit(`<${text}>`), { priority: 1 })
        assert.strictEqual(yield* bus.applyFilters(Greeting, "hi"), "<hi>")
      })
    ).pipe(captureLogs(entries))
  })

  it.effect("the stub bus applies the declared error type the same way", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const error = yield* Effect.flip(bus.doAction(Login, "ada"))
      assert.deepStrictEqual(
        error._tag === "ActionFailed" ? error.failures.map((f) => [f.reason, f.error?.user]) : [],
        [["Defect", undefined]]
      )
    }).pipe(Effect.provide(HookBus.layerStub({ actions: { "user.login": () => Effect.fail("undeclared") } }))))

  it.effect("every bus error encodes to JSON and decodes back with its _tag, fields and message", () =>
    withBus((bus) =>
      Effect.gen(function*() {
        yield* bus.addAction(Login, (user) => Effect.fail(new Denied({ user })), { source: "deny" })
        yield* bus.addFilter(Greeting, () => Effect.die(new TypeError("bug")), { source: "dies" })
        const actionFailed = yield* Effect.flip(bus.doAction(Login, "ada"))
        const filterFailed = yield* Effect.flip(bus.applyFilters(Greeting, "hi"))
        const rejected = yield* Effect.flip(bus.addAction(Login, () => Effect.void, { priority: Number.NaN }))
        const errors: ReadonlyArray<
          readonly [Schema.Codec<any, any>, { readonly _tag: string; readonly message: string }]
        > = [
          [ActionFailed, actionFailed],
          [FilterFailed, filterFailed],
          [HandlerFailed, (actionFailed as ActionFailed).failures[0]],
          [RegistrationRejected, rejected],
          [RecursionLimit, new RecursionLimit({ hook: "deep", depth: 65 })],
          [ShortCircuit, new ShortCircuit({ value: { cached: [1, 2] } })],
          [InvalidHookName, new InvalidHookName({ name: "", message: "a hook name is empty" })]
        ]
        for (const [schema, error] of errors) {
          const codec = Schema.fromJsonString(Schema.toCodecJson(schema))
          const json = Schema.encodeSync(codec)(error)
          const back = Schema.decodeSync(codec)(json) as { _tag: string; message: string }
          assert.strictEqual(JSON.parse(json)._tag, error._tag)
          assert.strictEqual(back._tag, error._tag)
          assert.instanceOf(back, schema as unknown as new(...args: Array<any>) => unknown)
          assert.strictEqual(back.message, error.message, error._tag)
        }
        const encoded = Schema.encodeSync(Schema.toCodecJson(ActionFailed))(actionFailed as ActionFailed)
        assert.deepStrictEqual(encoded, {
          _tag: "ActionFailed",
          hook: "user.login",
          failures: [{
            _tag: "HandlerFailed",
            hook: "user.login",
            kind: "action",
            source: "deny",
            reason: "Failure",
            cause: [{ _tag: "Fail", error: { name: "Denied", message: "" } }]
          }]
        })
      })
    ))
})

describe("HookBus.layerConfig: the bus's options from Config", () => {
  const fromEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnv({ env }))

  it.effect("reads every variable into the options layerWith takes; unset ones keep the defaults", () =>
    Effect.gen(function*() {
      const parse = (env: Record<string, string>) => HookBusConfig.config.parse(ConfigProvider.fromEnv({ env }))
      assert.deepStrictEqual(yield* parse({}), {})
      assert.deepStrictEqual(
        yield* parse({
          HOOKBUS_MAX_DEPTH: "8",
          HOOKBUS_ASYNC_SHUTDOWN_GRACE: "2 seconds",
          HOOKBUS_ASYNC_CONCURRENCY: "64",
          HOOKBUS_ASYNC_OVERFLOW: "drop",
          HOOKBUS_PARALLEL_CONCURRENCY: "4",
          HOOKBUS_TRACING: "off",
          HOOKBUS_METRICS_MAX_HOOK_LABELS: "200"
        }),
        {
          maxDepth: 8,
          asyncShutdownGrace: Duration.seconds(2),
          async: { concurrency: 64, overflow: "drop" },
          parallel: { concurrency: 4 },
          tracing: "off",
          metrics: { maxHookLabels: 200 }
        }
      )
      assert.deepStrictEqual(yield* parse({ HOOKBUS_METRICS: "false", HOOKBUS_METRICS_MAX_HOOK_LABELS: "5" }), {
        metrics: false
      })
      assert.deepStrictEqual(Object.values(HookBusConfig.variables).every((v) => v.startsWith("HOOKBUS_")), true)
    }))

  it.effect("the layer is a bus with those options", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const Deep = Hook.action("deep")
      yield* bus.addAction(Deep, () => bus.doAction(Deep))
      const error = yield* Effect.flip(bus.doAction(Deep))
      const failures = error._tag === "ActionFailed" ? error.failures : []
      // Depth 1 and 2 run; the third nested dispatch is over maxDepth 2.
      assert.strictEqual(failures[0]?.error !== undefined, true)
      const nested = failures[0]?.error as ActionFailed
      assert.strictEqual((nested.failures[0].error as { _tag: string; depth: number }).depth, 3)
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerConfig).pipe(Layer.provide(fromEnv({ HOOKBUS_MAX_DEPTH: "2" }))))))

  it.effect("a variable that cannot be used fails the layer with a ConfigError naming it, never a defect", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
        [{ HOOKBUS_MAX_DEPTH: "0" }, "HOOKBUS_MAX_DEPTH"],
        [{ HOOKBUS_MAX_DEPTH: "1.5" }, "HOOKBUS_MAX_DEPTH"],
        [{ HOOKBUS_ASYNC_CONCURRENCY: "many" }, "HOOKBUS_ASYNC_CONCURRENCY"],
        [{ HOOKBUS_ASYNC_OVERFLOW: "spill" }, "HOOKBUS_ASYNC_OVERFLOW"],
        [{ HOOKBUS_ASYNC_SHUTDOWN_GRACE: "soon" }, "HOOKBUS_ASYNC_SHUTDOWN_GRACE"],
        [{ HOOKBUS_TRACING: "loud" }, "HOOKBUS_TRACING"],
        [{ HOOKBUS_METRICS: "perhaps" }, "HOOKBUS_METRICS"],
        [{ HOOKBUS_PARALLEL_CONCURRENCY: "-1" }, "HOOKBUS_PARALLEL_CONCURRENCY"]
      ]
      for (const [env, variable] of cases) {
        const exit = yield* Effect.exit(Layer.build(Layer.fresh(HookBus.layerConfig).pipe(Layer.provide(fromEnv(env)))))
        assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), variable)
        const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(error) && error.value instanceof Config.ConfigError, variable)
        assert.include(Option.isSome(error) ? error.value.message : "", variable)
      }
    }))

  it.live("any HOOKBUS_MAX_DEPTH: a positive integer builds, anything refused is a ConfigError naming it, never a defect", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.oneof(fc.string({ maxLength: 6 }), fc.integer().map(String)), (value) =>
          Effect.runPromise(
            Effect.gen(function*() {
              const exit = yield* Effect.exit(
                Layer.build(Layer.fresh(HookBus.layerConfig).pipe(Layer.provide(fromEnv({ HOOKBUS_MAX_DEPTH: value }))))
              )
              if (Exit.isSuccess(exit)) {
                // Built: the variable was empty (unset) or a positive integer.
                const n = Number(value)
                assert.isTrue(value.trim() === "" || (Number.isInteger(n) && n >= 1), value)
              } else {
                assert.isFalse(Cause.hasDies(exit.cause), value)
                const error = Cause.findErrorOption(exit.cause)
                assert.isTrue(Option.isSome(error) && error.value.message.includes("HOOKBUS_MAX_DEPTH"), value)
                const n = Number(value)
                assert.isFalse(Number.isInteger(n) && n >= 1 && /^\d+$/.test(value), value)
              }
            }).pipe(Effect.scoped)
          )),
        { numRuns: 60 }
      )
    ))
})
