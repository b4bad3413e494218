/**
 * Soak, shutdown and concurrency workloads, shared by the test (scaled down) and `npm run soak` (full size). Each
 * returns its figures and throws when a property does not hold.
 */
import { Context, Effect, Exit, Fiber, Layer, Metric, Random, Scope } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Hook, HookBus } from "../../src/index.ts"
import { makeHookBus } from "../../src/layers/HookBusLive.ts"
import { Plugin } from "../../src/wasm/index.ts"

/** `global.gc`, even when node was started without --expose-gc. */
export const gc = (): () => void => {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing !== undefined) return existing
  setFlagsFromString("--expose-gc")
  return runInNewContext("gc") as () => void
}

const heap = (collect: () => void) => {
  collect()
  collect()
  return process.memoryUsage().heapUsed
}

/** Add and remove a handler `cycles` times; heap growth after GC must stay under `maxGrowth` bytes. */
export const addRemoveCycles = (cycles: number, maxGrowth = 5 * 1024 * 1024) =>
  Effect.gen(function*() {
    const collect = gc()
    const bus = yield* makeHookBus({ tracing: "off", metrics: false })
    const H = Hook.filter<number>("cycle")
    // Warm up so lazily created structures exist before the measurement.
    for (let i = 0; i < 1_000; i++) {
      yield* Effect.flatMap(bus.addFilter(H, (v) => Effect.succeed(v + 1)), (r) => r.remove)
    }
    const before = heap(collect)
    for (let i = 0; i < cycles; i++) {
      const registration = yield* bus.addFilter(H, (v) => Effect.succeed(v + 1), { source: "cycling" })
      if (i % 1000 === 0 && (yield* bus.applyFilters(H, 0)) !== 1) throw new Error("the handler did not run")
      yield* registration.remove
    }
    const growth = heap(collect) - before
    if ((yield* bus.handlers(H)).length !== 0) throw new Error("registrations leaked")
    if (growth > maxGrowth) throw new Error(`heap grew by ${growth} bytes over ${cycles} add/remove cycles`)
    return { cycles, growthBytes: growth }
  }).pipe(Effect.scoped)

/** `count` async actions, then awaitIdle: every run happened once, and nothing is left in flight. */
export const asyncFlood = (count: number) =>
  Effect.gen(function*() {
    const registry: Metric.MetricRegistry = new Map()
    const result = yield* Effect.gen(function*() {
      const bus = yield* HookBus
      const A = Hook.action<[number]>("flood")
      let runs = 0
      yield* bus.addAction(A, () => Effect.sync(() => void runs++), { mode: "async" })
      for (let i = 0; i < count; i++) yield* bus.doAction(A, i)
      yield* bus.awaitIdle
      const inFlight = (yield* Metric.snapshot).find((m) => m.id === "hookbus_async_in_flight")?.state as
        | { value: number }
        | undefined
      return { runs, inFlight: inFlight?.value ?? 0 }
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off" }))),
      Effect.provideService(Metric.MetricRegistry, registry)
    )
    if (result.runs !== count) throw new Error(`${result.runs} of ${count} async runs happened`)
    if (result.inFlight !== 0) throw new Error(`${result.inFlight} async runs still in flight after awaitIdle`)
    return { actions: count, ...result }
  })

/**
 * Closes a bus with `count` async handlers in flight, half of them finishing within the grace period: every one
 * settles (completed or interrupted), none is orphaned. Uses the live clock: `graceMs` real milliseconds.
 */
export const shutdownWithInFlight = (count: number, graceMs: number) =>
  Effect.gen(function*() {
    let completed = 0
    let interrupted = 0
    let started = 0
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false, asyncShutdownGrace: graceMs })),
      scope
    )
    const bus = Context.get(context, HookBus)
    const A = Hook.action<[number]>("slow")
    yield* bus.addAction(
      A,
      (i) =>
        Effect.sync(() => void started++).pipe(
          Effect.andThen(Effect.sleep(i % 2 === 0 ? graceMs / 4 : graceMs * 20)),
          Effect.andThen(Effect.sync(() => void completed++)),
          Effect.onInterrupt(() => Effect.sync(() => void interrupted++))
        ),
      { mode: "async" }
    ).pipe(Scope.provide(scope))
    for (let i = 0; i < count; i++) yield* bus.doAction(A, i)
    yield* Effect.sleep(5)
    const t0 = Date.now()
    yield* Scope.close(scope, Exit.void)
    const closeMs = Date.now() - t0
    if (completed + interrupted !== count) {
      throw new Error(
        `${count} in flight: ${completed} completed + ${interrupted} interrupted, ${
          count - completed - interrupted
        } orphaned`
      )
    }
    if (completed !== count / 2) {
      throw new Error(`expected ${count / 2} to complete within the grace period, got ${completed}`)
    }
    return { inFlight: count, started, completed, interrupted, closeMs }
  })

/**
 * `dispatchers` fibers dispatch while others add and remove handlers and reload a plugin, for `operations` in all:
 * every handler that stays registered runs exactly once per dispatch, a transient one at most once, and the plugin
 * exactly once (old or new version, never both or neither).
 */
export const concurrentChurn = (dispatchers: number, operations: number) =>
  Effect.gen(function*() {
    const bus = yield* HookBus
    const C = Hook.filter<string, [runs: Array<string>]>("the_content")
    const stable = ["s1", "s2", "s3"]
    for (const source of stable) {
      yield* bus.addFilter(C, (v, runs) => Effect.sync(() => (runs.push(source), v)), { source })
    }
    // reading-time appends a suffix: running it twice, or not at all, shows in the value.
    const readingTime = readFileSync(
      fileURLToPath(new URL("../../examples/plugins/reading-time/build/reading-time.wasm", import.meta.url))
    )
    const plugin = yield* Plugin.fromBytes(readingTime, {
      abi: 1,
      name: "churner",
      version: "1.0.0",
      hooks: [{ name: "the_content", kind: "filter" }]
    })
    let dispatched = 0
    let violations = 0
    let remaining = operations
    const take = () => remaining-- > 0
    const dispatcher = Effect.gen(function*() {
      while (take()) {
        const runs: Array<string> = []
        const value = yield* bus.applyFilters(C, "read me", runs).pipe(Effect.orDie)
        dispatched++
        const count = (s: string) => runs.filter((r) => r === s).length
        if (stable.some((s) => count(s) !== 1) || value !== "read me\n\n(1 min read)") violations++
        if (runs.filter((r) => r.startsWith("t")).some((t) => count(t) > 1)) violations++
        if ((yield* Random.nextIntBetween(0, 3)) === 0) yield* Effect.yieldNow
      }
    })
    let transient = 0
    const mutator = Effect.gen(function*() {
      while (take()) {
        const source = `t${++transient}`
        const registration = yield* bus.addFilter(C, (v, runs) => Effect.sync(() => (runs.push(source), v)), {
          source,
          priority: yield* Random.nextIntBetween(0, 20)
        })
        yield* Effect.yieldNow
        yield* registration.remove
      }
    }).pipe(Effect.scoped)
    let reloads = 0
    const reloader = Effect.gen(function*() {
      while (take()) {
        yield* Plugin.reload(plugin, {
          bytes: readingTime,
          manifest: {
            abi: 1,
            name: "churner",
            version: `1.0.${++reloads}`,
            // Alternate priorities so every other reload registers anew rather than retargeting.
            hooks: [{ name: "the_content", kind: "filter", priority: reloads % 2 === 0 ? 10 : 5 }]
          }
        }).pipe(Effect.orDie)
        yield* Effect.yieldNow
      }
    })
    const fibers = [
      ...Array.from({ length: dispatchers }, () => dispatcher),
      mutator,
      mutator,
      reloader
    ]
    const running = yield* Effect.forEach(fibers, (f) => Effect.forkChild(f))
    yield* Effect.forEach(running, Fiber.join, { discard: true })
    if (violations > 0) throw new Error(`${violations} dispatches ran a handler twice or missed one`)
    if ((yield* bus.handlers(C)).length !== stable.length + 1) throw new Error("registrations leaked")
    return { operations, dispatched, transientHandlers: transient, reloads, violations }
  }).pipe(Effect.scoped, Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))))
