/**
 * What the bus relies on about Effect beyond its documented API (src/layers/internal/EffectCompat.ts), checked
 * against the installed `effect`: if an upgrade changes any of it, this file fails before the bus misbehaves.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Clock,
  Console,
  Context,
  Effect,
  Exit,
  Layer,
  MutableRef,
  Random,
  Ref,
  References,
  Scheduler,
  Scope,
  Tracer
} from "effect"
import { type FilterFailed, Hook, HookBus, ShortCircuit } from "../src/index.ts"
import * as EffectCompat from "../src/layers/internal/EffectCompat.ts"
import * as HandlerContext from "../src/layers/internal/HandlerContext.ts"

const ExitKey = "~effect/Exit"

describe("EffectCompat: completed Effects", () => {
  it("a Ref's chain written through its MutableRef (Registry's renewal) is what Ref.get reads", () =>
    Effect.gen(function*() {
      const ref = Ref.makeUnsafe<ReadonlyArray<number>>([])
      MutableRef.set(ref.ref, [1, 2])
      assert.deepStrictEqual(yield* Ref.get(ref), [1, 2])
      assert.deepStrictEqual(Ref.getUnsafe(ref), [1, 2])
    }).pipe(Effect.runSync))

  it("recognises every way of making an already-completed Effect", () => {
    const successes: Array<unknown> = [
      Effect.succeed(1),
      Effect.void,
      Effect.undefined,
      Effect.succeedNone,
      Exit.succeed("x"),
      Exit.void
    ]
    const failures: Array<unknown> = [
      Effect.fail("e"),
      Effect.die(new Error("d")),
      Effect.failCause(Cause.fail(1)),
      Effect.interrupt,
      Exit.fail(1),
      Exit.die(1),
      Exit.failCause(Cause.die(1)),
      Hook.shortCircuit(3),
      Effect.fail(new ShortCircuit({ value: 2 }))
    ]
    for (const s of successes) {
      assert.isTrue(EffectCompat.isSuccessExit(s), String(s))
      assert.strictEqual(EffectCompat.completedExit(s), s)
      assert.isTrue(Exit.isExit(s) && Exit.isSuccess(s))
    }
    for (const f of failures) {
      // `Effect.interrupt` is not completed in every Effect version; the rest must be.
      if (!Exit.isExit(f)) continue
      assert.isFalse(EffectCompat.isSuccessExit(f), String(f))
      assert.strictEqual(EffectCompat.completedExit(f), f)
      assert.isTrue(Exit.isFailure(f))
    }
    assert.isTrue(failures.filter((f) => EffectCompat.completedExit(f) !== undefined).length >= failures.length - 1)
  })

  it("does not take an Effect still to run, a plain value, or a forged Exit for a completed one", () => {
    const others: Array<unknown> = [
      Effect.sync(() => 1),
      Effect.suspend(() => Effect.succeed(1)),
      Effect.map(Effect.succeed(1), (n) => n + 1),
      null,
      undefined,
      0,
      "Success",
      [],
      { _tag: "Success", value: 1 },
      { [ExitKey]: ExitKey, _tag: "Success", value: 1 },
      { [ExitKey]: ExitKey, _tag: "Failure", cause: "forged" },
      Object.create(null)
    ]
    for (const o of others) {
      assert.isUndefined(EffectCompat.completedExit(o))
      assert.isFalse(EffectCompat.isSuccessExit(o))
    }
    // The reason the check is not `Exit.isExit`: it accepts the forged object.
    assert.isTrue(Exit.isExit({ [ExitKey]: ExitKey, _tag: "Failure", cause: "forged" }))
  })
})

describe("EffectCompat: genuine Effects", () => {
  class Key extends Context.Service<Key, { readonly n: number }>()("test/Key") {}
  it("takes every kind of Effect the library builds, and no plain object carrying the Effect key", () => {
    const genuine: Array<unknown> = [
      Effect.succeed(1),
      Effect.sync(() => 1),
      Effect.gen(function*() {
        return yield* Effect.succeed(1)
      }),
      Effect.fnUntraced(function*() {
        return yield* Effect.succeed(1)
      })(),
      Effect.never,
      Effect.promise(() => Promise.resolve(1)),
      Key,
      new ShortCircuit({ value: 1 }),
      Exit.fail(1)
    ]
    for (const e of genuine) assert.isTrue(EffectCompat.isGenuineEffect(e), String(e))
    const forged: Array<unknown> = [
      { "~effect/Effect": {} },
      { "~effect/Effect": "~effect/Effect", [ExitKey]: ExitKey, _tag: "Success", value: 2 },
      1,
      null,
      { _tag: "Success" }
    ]
    for (const f of forged) assert.isFalse(EffectCompat.isGenuineEffect(f), JSON.stringify(f))
    // The reason the check is not `Effect.isEffect` alone: it accepts the forged object.
    assert.isTrue(Effect.isEffect({ "~effect/Effect": {} }))
  })
})

describe("EffectCompat: context services", () => {
  class A extends Context.Service<A, { readonly n: number }>()("test/A") {}
  class B extends Context.Service<B, { readonly n: number }>()("test/B") {}
  const a = { n: 1 }
  const b = { n: 2 }

  it("sees services by their key, through overlays and past the flattening depth", () => {
    const services = Context.make(A, a).pipe(Context.add(B, b))
    assert.strictEqual(EffectCompat.size(services), 2)
    assert.strictEqual(EffectCompat.size(Context.empty()), 0)
    let deep: Context.Context<never> = Context.make(B, b).pipe(Context.add(A, a)) as Context.Context<never>
    for (let i = 0; i < 20; i++) deep = Context.add(deep, Context.Service<number>(`test/filler-${i}`), i)
    assert.isTrue(EffectCompat.holdsAll(deep, services as Context.Context<never>))
    assert.isTrue(EffectCompat.holdsAll(services as Context.Context<never>, Context.empty()))
    assert.isFalse(
      EffectCompat.holdsAll(Context.make(A, a) as Context.Context<never>, services as Context.Context<never>)
    )
    assert.isFalse(
      EffectCompat.holdsAll(
        Context.make(A, { n: 1 }).pipe(Context.add(B, b)) as Context.Context<never>,
        services as Context.Context<never>
      )
    )
  })

  it("a Reference left at its default is not in a context, one that was set is", () => {
    const Level = Context.Reference<number>("test/Level", { defaultValue: () => 0 })
    assert.strictEqual(EffectCompat.size(Context.make(A, a)), 1)
    const set = Context.add(Context.make(A, a), Level, 3)
    assert.strictEqual(EffectCompat.size(set), 2)
    assert.isFalse(EffectCompat.holdsAll(Context.make(A, a) as Context.Context<never>, set as Context.Context<never>))
  })

  it("the keys a registration never lends are Effect's own References, the parent span and the Scope", () => {
    const keys = new Set(HandlerContext.notLent.map((k) => k.key))
    const expected = [
      Tracer.ParentSpan,
      Tracer.Tracer,
      Tracer.DisablePropagation,
      Tracer.CurrentTraceLevel,
      Tracer.MinimumTraceLevel,
      References.CurrentLogAnnotations,
      References.CurrentLogLevel,
      References.CurrentLogSpans,
      References.CurrentStackFrame,
      References.MinimumLogLevel,
      References.TracerEnabled,
      References.TracerSpanAnnotations,
      References.TracerSpanLinks,
      References.TracerTimingEnabled,
      References.UnhandledLogLevel,
      References.CurrentLoggers,
      References.LogToStderr,
      Scheduler.Scheduler,
      Scheduler.MaxOpsBeforeYield,
      Scheduler.PreventSchedulerYield,
      Clock.Clock,
      Random.Random,
      Console.Console,
      Scope.Scope
    ]
    for (const key of expected) assert.isTrue(keys.has(key.key), key.key)
    assert.isTrue(keys.has("hookbus/CurrentHookFrame"))
  })
})

describe("a handler returning an object that looks like an Exit", () => {
  const Text = Hook.filter<string>("compat.text")
  const Ping = Hook.action("compat.ping")
  const forgedFailure = { [ExitKey]: ExitKey, _tag: "Failure", cause: "forged" }
  const forgedSuccess = { [ExitKey]: ExitKey, _tag: "Success", value: "forged" }

  it.effect("is a handler defect naming the hook, not a broken dispatch", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(Text, () => forgedFailure as unknown as Effect.Effect<string>, { source: "forger" })
      const error = yield* Effect.flip(bus.applyFilters(Text, "hello"))
      assert.strictEqual(error._tag, "FilterFailed")
      const failure = (error as FilterFailed<string>).failure
      assert.strictEqual(failure.reason, "Defect")
      assert.strictEqual(failure.source, "forger")
      assert.include(String(Cause.squash(failure.cause)), "not an Effect")
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerTest))))

  it.effect("a forged success is not taken as the filter's value", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(Text, () => forgedSuccess as unknown as Effect.Effect<string>, { onError: "skip" })
      assert.strictEqual(yield* bus.applyFilters(Text, "hello"), "hello")
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerTest))))

  it.effect("an action handler's forged Exit fails the action, the other handlers still run", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      let ran = 0
      yield* bus.addAction(Ping, () => forgedFailure as unknown as Effect.Effect<void>, { source: "forger" })
      yield* bus.addAction(Ping, () => Effect.sync(() => void ran++))
      const error = yield* Effect.flip(bus.doAction(Ping))
      assert.strictEqual(error._tag, "ActionFailed")
      assert.deepStrictEqual(
        error._tag === "ActionFailed" ? error.failures.map((f) => [f.source, f.reason]) : [],
        [["forger", "Defect"]]
      )
      assert.strictEqual(ran, 1)
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerTest))))
})
