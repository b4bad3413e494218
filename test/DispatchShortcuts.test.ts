/**
 * The dispatch takes two kinds of handler result in place, without a runtime step: an already-completed Effect
 * (`Effect.succeed`, `Effect.void`, an `Exit`) and an `Effect.sync`, whose thunk it calls itself. These tests pin
 * that the shortcut is invisible: every chain gives the same outcome as when each handler's Effect runs in the fiber.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, References, Tracer } from "effect"
import * as fc from "fast-check"
import * as TraceTree from "../src/cli/TraceTree.ts"
import { type ActionFailed, type FilterFailed, Hook, HookBus, type HookBusShape } from "../src/index.ts"
import * as EffectCompat from "../src/layers/internal/EffectCompat.ts"

describe("EffectCompat.syncThunk", () => {
  it("reads back the thunk of an Effect.sync and nothing else", () => {
    assert.isTrue(EffectCompat.syncShortcut, "the installed Effect's Effect.sync is recognised")
    const thunk = () => 42
    assert.strictEqual(EffectCompat.syncThunk(Effect.sync(thunk)), thunk)
    const others: Array<unknown> = [
      Effect.succeed(1),
      Effect.void,
      Effect.fail("e"),
      Effect.die("d"),
      Effect.suspend(() => Effect.succeed(1)),
      Effect.map(Effect.sync(thunk), (n) => n + 1),
      Effect.gen(function*() {
        return yield* Effect.sync(thunk)
      }),
      Effect.try(() => 1),
      Effect.promise(() => Promise.resolve(1)),
      { _tag: "Sync" },
      null,
      undefined,
      thunk
    ]
    for (const other of others) assert.isUndefined(EffectCompat.syncThunk(other), String(other))
  })

  it("calling the thunk is what running the Effect.sync does", () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const effect = Effect.sync(() => value)
        // `Object.is`: the same value, NaN included.
        assert.isTrue(Object.is(EffectCompat.syncThunk(effect)!(), Effect.runSync(effect)))
      })
    )
    const error = new Error("thrown")
    const exit = Effect.runSyncExit(Effect.sync(() => {
      throw error
    }))
    assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause) && Cause.squash(exit.cause) === error)
  })
})

/** How a generated handler answers. */
type Kind = "succeed" | "sync" | "gen" | "syncThrow" | "throw" | "fail" | "short"
const kinds: ReadonlyArray<Kind> = ["succeed", "sync", "gen", "syncThrow", "throw", "fail", "short"]

/** The handler's Effect; `forceSlow` hides it behind `Effect.suspend`, so the dispatch must run it in the fiber. */
const answer = (
  kind: Kind,
  v: number,
  ran: Array<number>,
  i: number,
  forceSlow: boolean
): Effect.Effect<number, string> => {
  const effect: Effect.Effect<number, string> = (() => {
    switch (kind) {
      case "succeed":
        ran.push(i)
        return Effect.succeed(v + 1)
      case "sync":
        return Effect.sync(() => {
          ran.push(i)
          return v * 2
        })
      case "gen":
        return Effect.gen(function*() {
          ran.push(i)
          return (yield* Effect.succeed(v)) + 3
        })
      case "syncThrow":
        return Effect.sync(() => {
          ran.push(i)
          throw new Error(`sync ${i}`)
        })
      case "throw":
        ran.push(i)
        throw new Error(`throw ${i}`)
      case "fail":
        ran.push(i)
        return Effect.fail(`fail ${i}`)
      case "short":
        ran.push(i)
        return Hook.shortCircuit(v + 100) as unknown as Effect.Effect<number, string>
    }
  })()
  return forceSlow ? Effect.suspend(() => effect) : effect
}

const outcomeOf = (exit: Exit.Exit<unknown, FilterFailed<unknown> | ActionFailed | unknown>): unknown => {
  if (Exit.isSuccess(exit)) return { ok: exit.value }
  const error = Cause.squash(exit.cause) as FilterFailed<number> | ActionFailed
  if (error._tag === "FilterFailed") {
    return {
      failed: error.failure.source,
      reason: error.failure.reason,
      error: String(Cause.squash(error.failure.cause)),
      value: error.value
    }
  }
  return {
    failed: error.failures.map((f) => [f.source, f.reason, String(Cause.squash(f.cause))])
  }
}

const Numbers = Hook.filter<number>("shortcuts.numbers")
const Ping = Hook.action<[number]>("shortcuts.ping")

const runChain = (
  chain: ReadonlyArray<{ readonly kind: Kind; readonly skip: boolean }>,
  forceSlow: boolean,
  tracing: "off" | "dispatch" | "handlers"
) =>
  Effect.gen(function*() {
    const bus: HookBusShape = yield* HookBus
    const ranFilter: Array<number> = []
    const ranAction: Array<number> = []
    for (let i = 0; i < chain.length; i++) {
      const { kind, skip } = chain[i]
      yield* bus.addFilter(Numbers, (v) => answer(kind, v, ranFilter, i, forceSlow), {
        source: `h${i}`,
        onError: skip ? "skip" : "abort"
      })
      yield* bus.addAction(Ping, (v) => answer(kind === "short" ? "succeed" : kind, v, ranAction, i, forceSlow), {
        source: `h${i}`
      })
    }
    const filter = outcomeOf(yield* Effect.exit(bus.applyFilters(Numbers, 1)))
    const action = outcomeOf(yield* Effect.exit(bus.doAction(Ping, 5)))
    return { filter, action, ranFilter, ranAction }
  }).pipe(
    Effect.scoped,
    // The skip policy's warnings are not what is compared here.
    Effect.provideService(References.MinimumLogLevel, "None"),
    Effect.provide(Layer.fresh(HookBus.layerWith({ tracing, metrics: false })))
  )

describe("dispatch shortcuts are invisible", () => {
  it.effect("any chain of handlers gives what it gives when every handler runs in the fiber", () =>
    Effect.sync(() =>
      fc.assert(
        fc.property(
          fc.array(fc.record({ kind: fc.constantFrom(...kinds), skip: fc.boolean() }), { maxLength: 8 }),
          fc.constantFrom("off" as const, "dispatch" as const, "handlers" as const),
          (chain, tracing) => {
            const fast = Effect.runSync(runChain(chain, false, tracing))
            const slow = Effect.runSync(runChain(chain, true, tracing))
            assert.deepStrictEqual(fast, slow)
          }
        ),
        { numRuns: 300 }
      )
    ))

  it.effect("an Effect.sync handler that throws is a defect naming its source; the action's others still run", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const ran: Array<string> = []
      yield* bus.addAction(Ping, () =>
        Effect.sync(() => {
          throw new Error("kaput")
        }), { source: "thrower" })
      yield* bus.addAction(Ping, () => Effect.sync(() => void ran.push("after")), { source: "after" })
      const error = yield* Effect.flip(bus.doAction(Ping, 1))
      assert.strictEqual(error._tag, "ActionFailed")
      const failures = (error as ActionFailed).failures
      assert.deepStrictEqual(failures.map((f) => [f.source, f.reason]), [["thrower", "Defect"]])
      assert.strictEqual((Cause.squash(failures[0].cause) as Error).message, "kaput")
      assert.deepStrictEqual(ran, ["after"])
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerTest))))

  it.effect("under per-handler tracing an Effect.sync handler still gets its span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TraceTree.recorder()
      const bus = yield* HookBus
      yield* bus.addFilter(Numbers, (v) => Effect.sync(() => v + 1), { source: "inc" })
      assert.strictEqual(yield* bus.applyFilters(Numbers, 1).pipe(Effect.provideService(Tracer.Tracer, tracer)), 2)
      assert.deepStrictEqual(spans.map((s) => s.name), ["hook.filter shortcuts.numbers", "hook.handler inc"])
      assert.strictEqual(spans[1].parent._tag === "Some" ? spans[1].parent.value : undefined, spans[0])
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "handlers", metrics: false })))))

  it.effect("a dispatch in a new context sees that context's hook stack (the frame cache is per context)", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const Inner = Hook.filter<number>("shortcuts.inner")
      const seen: Array<string | undefined> = []
      yield* bus.addFilter(Inner, (v) =>
        Effect.gen(function*() {
          seen.push((yield* HookBus.currentHook)?.name)
          return v
        }))
      yield* bus.addFilter(Numbers, (v) => bus.applyFilters(Inner, v))
      seen.push((yield* HookBus.currentHook)?.name)
      yield* bus.applyFilters(Inner, 1)
      yield* bus.applyFilters(Numbers, 1)
      yield* bus.applyFilters(Inner, 1)
      // The depth of nesting is counted per dispatching context too: the nested dispatch is at depth 2.
      const Deep = Hook.filter<number>("shortcuts.deep")
      yield* bus.addFilter(Deep, (v) => v < 100 ? bus.applyFilters(Deep, v + 1) : Effect.succeed(v))
      let error: { readonly _tag: string } = yield* Effect.flip(bus.applyFilters(Deep, 0))
      let levels = 0
      while (error._tag === "FilterFailed") {
        error = Cause.squash((error as FilterFailed<number>).failure.cause) as { readonly _tag: string }
        levels++
      }
      assert.strictEqual(error._tag, "RecursionLimit")
      assert.strictEqual(levels, (error as unknown as { readonly depth: number }).depth - 1)
      assert.deepStrictEqual(seen, [undefined, "shortcuts.inner", "shortcuts.inner", "shortcuts.inner"])
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerTest))))
})
