import { Effect, Layer } from "effect"
import { Hook, HookBus } from "../src/index.ts"
const F = Hook.filter<number>("f")
const depth = Number(process.argv[2] ?? 16)
const prog = Effect.gen(function*() {
  const bus = yield* HookBus
  yield* bus.addFilter(F, (n) => bus.applyFilters(F, n + 1))
  const e = yield* Effect.flip(bus.applyFilters(F, 0))
  const t = performance.now()
  const m = e.message
  console.log(depth, (performance.now() - t).toFixed(1), "ms", m.length, m.slice(0, 300))
}).pipe(Effect.scoped, Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false, maxDepth: depth }))))
Effect.runPromise(prog)
import { Cause } from "effect"
const prog2 = Effect.gen(function*() {
  const bus = yield* HookBus
  yield* bus.addFilter(F, (n) => bus.applyFilters(F, n + 1))
  const e = yield* Effect.flip(bus.applyFilters(F, 0))
  const t = performance.now()
  const m = Cause.pretty(Cause.fail(e))
  const s = String((e as any).stack)
  console.log("pretty", (performance.now() - t).toFixed(1), "ms", m.length, s.length)
}).pipe(Effect.scoped, Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false, maxDepth: depth }))))
Effect.runPromise(prog2)
