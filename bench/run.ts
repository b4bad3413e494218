/**
 * `npm run bench`: hookbus against its peers, in one process and one run. Writes bench/results.json,
 * docs/benchmarks.md and docs/benchmarks-filter-10.svg. `--quick` is a short smoke run (nothing is asserted about
 * speed) whose cold, few-round figures must never replace the report: it writes into a new temporary directory
 * (printed at the end) unless `--out <dir>` names one; `--out <dir>` writes a full run's results elsewhere too.
 */
import { createPlugin } from "@extism/extism"
import { createHooks } from "@wordpress/hooks"
import { Effect, Exit, Layer, ManagedRuntime, Scope, Tracer } from "effect"
import Emittery from "emittery"
import { EventEmitter } from "eventemitter3"
import { createHooks as createHookable } from "hookable"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { SyncWaterfallHook } from "tapable"
import { buildAll } from "../scripts/build-plugins.ts"
import { Hook, HookBus, type HookBusOptions, type HookBusShape } from "../src/index.ts"
import { HookInspector } from "../src/inspector/index.ts"
import { PluginInstance } from "../src/wasm/index.ts"
import { abiModule, compileWatPromise } from "../test/fixtures/wat.ts"
import { barChart, markdown, Results } from "./harness.ts"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const outIndex = args.indexOf("--out")
const root = fileURLToPath(new URL("..", import.meta.url))
const outDir = outIndex >= 0 ? args[outIndex + 1] : undefined
const results = new Results({ quick })
const LOOP = 1000

/** A bus that lives for the whole run, with a scope for registrations. */
const makeBus = async (options: HookBusOptions): Promise<{ bus: HookBusShape; scope: Scope.Closeable }> => {
  const runtime = ManagedRuntime.make(HookBus.layerWith(options) as Layer.Layer<HookBus>)
  const bus = await runtime.runPromise(HookBus.use(Effect.succeed))
  return { bus, scope: Scope.makeUnsafe() }
}
const register = (scope: Scope.Closeable, effect: Effect.Effect<unknown, unknown, Scope.Scope>) =>
  Effect.runSync(Effect.provideService(effect, Scope.Scope, scope))

const off: HookBusOptions = { tracing: "off", metrics: false }

const filterLoop = (bus: HookBusShape, hook: Hook.FilterHook<number, []>) => {
  const loop = Effect.gen(function*() {
    let x = 0
    for (let i = 0; i < LOOP; i++) x = yield* bus.applyFilters(hook, x)
    return x
  })
  return () => Effect.runSync(loop)
}

// ---------------------------------------------------------------------------------------------------------------
// Memory first, in a fresh heap, before the other cases leave garbage behind.
console.log("memory")
{
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) {
    const count = quick ? 10_000 : 100_000
    const { bus, scope } = await makeBus(off)
    // Spread over 1,000 hooks: one chain of 100,000 would measure the copy-on-write arrays, not the registrations.
    const H = Array.from({ length: 1000 }, (_, i) => Hook.filter<number, []>(`heap-${i}`))
    const handler = (v: number) => Effect.succeed(v)
    const settled = () => {
      for (let i = 0; i < 4; i++) gc()
      return process.memoryUsage().heapUsed
    }
    // Hook slots exist before the measurement, so it counts registrations only.
    for (const hook of H) register(scope, bus.addFilter(hook, handler))
    const before = settled()
    for (let i = 0; i < count; i++) register(scope, bus.addFilter(H[i % 1000], handler))
    const after = settled()
    results.target({
      name: `heap per registration (${count.toLocaleString("en")} registrations over 1,000 hooks)`,
      measured: Math.round((after - before) / count),
      bound: 400,
      kind: "max",
      unit: " B"
    })
  } else {
    results.figure("heap per registration", "not measured (run with node --expose-gc)")
  }
}

// ---------------------------------------------------------------------------------------------------------------
console.log("filter chains")
const F = Hook.filter<number, []>("f")
const chainTime: Record<number, Record<string, number>> = {}
const syncTime: Record<number, Record<string, number>> = {}
for (const n of [1, 10, 100]) {
  for (const work of ["succeed", "sync"] as const) {
    const handlers = Array.from({ length: n }, () => (v: number) => v + 1)
    const bare = await makeBus(off)
    const defaults = await makeBus({})
    for (const { bus, scope } of [bare, defaults]) {
      for (const h of handlers) {
        register(
          scope,
          bus.addFilter(F, work === "succeed" ? (v) => Effect.succeed(h(v)) : (v) => Effect.sync(() => h(v)))
        )
      }
    }
    const wp = createHooks()
    handlers.forEach((h, i) => wp.addFilter("f", `ns/${i}`, h))
    const tap = new SyncWaterfallHook<[number]>(["v"])
    handlers.forEach((h, i) => tap.tap(`t${i}`, h))
    const measured = await results.compare(`filter chain, ${n} Effect.${work} handler(s)`, [
      ["@wordpress/hooks applyFilters", () => {
        let x = 0
        for (let i = 0; i < LOOP; i++) x = wp.applyFilters("f", x) as number
        return x
      }, LOOP],
      ["hookbus (observability off)", filterLoop(bare.bus, F), LOOP],
      ["hookbus (defaults: span + metrics)", filterLoop(defaults.bus, F), LOOP],
      ["tapable SyncWaterfallHook", () => {
        let x = 0
        for (let i = 0; i < LOOP; i++) x = tap.call(x)
        return x
      }, LOOP],
      ["plain loop over the functions", () => {
        let x = 0
        for (let i = 0; i < LOOP; i++) for (const h of handlers) x = h(x)
        return x
      }, LOOP]
    ])
    if (work === "succeed") chainTime[n] = measured
    else syncTime[n] = measured
  }
}
results.ratio(
  "filter chain, 10 Effect.succeed handler(s)",
  "hookbus (observability off)",
  "@wordpress/hooks applyFilters",
  {
    name: "10-handler filter, Effect.succeed handlers, observability off / @wordpress/hooks",
    bound: 0.45,
    kind: "max",
    unit: "x"
  },
  chainTime[10]
)
results.ratio(
  "filter chain, 10 Effect.sync handler(s)",
  "hookbus (observability off)",
  "@wordpress/hooks applyFilters",
  {
    name: "10-handler filter, Effect.sync handlers, observability off / @wordpress/hooks",
    bound: 1.5,
    kind: "max",
    unit: "x"
  },
  syncTime[10]
)

// ---------------------------------------------------------------------------------------------------------------
console.log("observability cost")
const modes: ReadonlyArray<readonly [string, HookBusOptions]> = [
  ["tracing off, metrics off", off],
  ["metrics only", { tracing: "off" }],
  ["dispatch span only", { metrics: false }],
  ["defaults (dispatch span + metrics)", {}],
  ["handlers (span per handler + metrics)", { tracing: "handlers" }]
]
const modeCases: Array<readonly [string, () => unknown, number]> = []
for (const [name, options] of modes) {
  const { bus, scope } = await makeBus(options)
  for (let i = 0; i < 10; i++) register(scope, bus.addFilter(F, (v) => Effect.succeed(v + 1)))
  modeCases.push([`hookbus ${name}`, filterLoop(bus, F), LOOP])
}
{
  // Under Effect's own tracer, spans no one can see are never made; an installed tracer gets every one, up front.
  const { bus, scope } = await makeBus({})
  for (let i = 0; i < 10; i++) register(scope, bus.addFilter(F, (v) => Effect.succeed(v + 1)))
  const installed = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })
  const loop = Effect.gen(function*() {
    let x = 0
    for (let i = 0; i < LOOP; i++) x = yield* bus.applyFilters(F, x)
    return x
  }).pipe(Effect.withTracer(installed))
  modeCases.push(["hookbus defaults, a tracer installed", () => Effect.runSync(loop), LOOP])
}
const modeTimes = await results.compare("observability modes, filter of 10 handlers", modeCases)
const bareMode = modeTimes["hookbus tracing off, metrics off"]
results.ratio(
  "observability modes, filter of 10 handlers",
  "hookbus defaults (dispatch span + metrics)",
  "hookbus tracing off, metrics off",
  {
    name: "default observability (dispatch span + metrics) / off, 10-handler filter",
    bound: 1.6,
    kind: "max",
    unit: "x"
  },
  modeTimes
)
results.figure(
  "default observability with a tracer installed (every span made) / off, 10-handler filter",
  `${(modeTimes["hookbus defaults, a tracer installed"] / bareMode).toFixed(2)}x`
)
results.figure("cost of metrics per dispatch", `${(modeTimes["hookbus metrics only"] - bareMode).toFixed(0)} ns`)
results.figure(
  "cost of the dispatch span per dispatch",
  `${(modeTimes["hookbus dispatch span only"] - bareMode).toFixed(0)} ns`
)
results.figure(
  "cost of per-handler spans (10 handlers) per dispatch",
  `${
    (modeTimes["hookbus handlers (span per handler + metrics)"] -
      modeTimes["hookbus defaults (dispatch span + metrics)"]).toFixed(0)
  } ns`
)

// ---------------------------------------------------------------------------------------------------------------
console.log("inspector cost")
{
  // The inspector subscribes to bus.dispatches and renders each record in a fiber of its own. Each operation is
  // LOOP dispatches and two turns of the event loop, in both cases, so that work lands inside the measured time.
  const turns = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))
  const withTurns = (run: () => unknown) => async () => {
    run()
    await turns()
  }
  const defaults = await makeBus({})
  const inspected = ManagedRuntime.make(
    HookInspector.layer({ port: 0, announce: false }).pipe(Layer.provideMerge(HookBus.layerWith({})))
  )
  const inspectedBus = await inspected.runPromise(HookBus.use(Effect.succeed))
  const inspectedScope = Scope.makeUnsafe()
  for (let i = 0; i < 10; i++) {
    register(defaults.scope, defaults.bus.addFilter(F, (v) => Effect.succeed(v + 1)))
    register(inspectedScope, inspectedBus.addFilter(F, (v) => Effect.succeed(v + 1)))
  }
  const group = "inspector, filter of 10 handlers"
  const times = await results.compareAsync(group, [
    ["hookbus defaults", withTurns(filterLoop(defaults.bus, F)), LOOP],
    ["hookbus defaults + HookInspector.layer", withTurns(filterLoop(inspectedBus, F)), LOOP]
  ])
  results.ratio(group, "hookbus defaults + HookInspector.layer", "hookbus defaults", {
    name: "HookInspector.layer provided / defaults, 10-handler filter",
    bound: 1.5,
    kind: "max",
    unit: "x"
  }, times)
  await inspected.dispose()
}

// ---------------------------------------------------------------------------------------------------------------
console.log("action fan-out")
{
  const A = Hook.action<[number]>("a")
  const { bus, scope } = await makeBus(off)
  const effectful = await makeBus(off)
  let sink = 0
  // A sync handler doing its work in the function and returning a completed Effect, like the peers' listeners.
  for (let i = 0; i < 10; i++) {
    register(
      scope,
      bus.addAction(A, (n) => {
        sink += n
        return Effect.void
      })
    )
  }
  for (let i = 0; i < 10; i++) {
    register(
      effectful.scope,
      effectful.bus.addAction(A, (n) => Effect.sync(() => void (sink += n)))
    )
  }
  const wp = createHooks()
  for (let i = 0; i < 10; i++) wp.addAction("a", `ns/${i}`, (n: number) => void (sink += n))
  const ee = new EventEmitter()
  for (let i = 0; i < 10; i++) ee.on("a", (n: number) => void (sink += n))
  const loop = Effect.gen(function*() {
    for (let i = 0; i < LOOP; i++) yield* bus.doAction(A, i)
  })
  const effectfulLoop = Effect.gen(function*() {
    for (let i = 0; i < LOOP; i++) yield* effectful.bus.doAction(A, i)
  })
  const t = await results.compare("action fan-out, 10 sync handlers", [
    ["@wordpress/hooks doAction", () => {
      for (let i = 0; i < LOOP; i++) wp.doAction("a", i)
    }, LOOP],
    ["hookbus doAction (observability off)", () => Effect.runSync(loop), LOOP],
    ["hookbus doAction, Effect.sync handlers (observability off)", () => Effect.runSync(effectfulLoop), LOOP],
    ["eventemitter3 emit", () => {
      for (let i = 0; i < LOOP; i++) ee.emit("a", i)
    }, LOOP]
  ])
  results.ratio(
    "action fan-out, 10 sync handlers",
    "hookbus doAction (observability off)",
    "@wordpress/hooks doAction",
    {
      name: "10-handler action fan-out, observability off / @wordpress/hooks doAction",
      bound: 0.45,
      kind: "max",
      unit: "x"
    },
    t
  )

  const AA = Hook.action<[number]>("async")
  const asyncBus = await makeBus(off)
  for (let i = 0; i < 10; i++) {
    register(asyncBus.scope, asyncBus.bus.addAction(AA, (n) => Effect.sync(() => void (sink += n)), { mode: "async" }))
  }
  const hookable = createHookable<{ a: (n: number) => Promise<void> }>()
  for (let i = 0; i < 10; i++) hookable.hook("a", async (n) => void (sink += n))
  const emittery = new Emittery<{ a: number }>()
  for (let i = 0; i < 10; i++) emittery.on("a", async (n) => void (sink += n))
  const ASYNC_LOOP = 100
  const asyncLoop = Effect.gen(function*() {
    for (let i = 0; i < ASYNC_LOOP; i++) {
      yield* asyncBus.bus.doAction(AA, i)
      yield* asyncBus.bus.awaitIdle
    }
  })
  const at = await results.compareAsync("action fan-out, 10 async handlers (each dispatch awaited)", [
    ["hookable callHookParallel", async () => {
      for (let i = 0; i < ASYNC_LOOP; i++) await hookable.callHookParallel("a", i)
    }, ASYNC_LOOP],
    ["hookbus doAction + awaitIdle", () => Effect.runPromise(asyncLoop), ASYNC_LOOP],
    ["emittery emit", async () => {
      for (let i = 0; i < ASYNC_LOOP; i++) await emittery.emit("a", i)
    }, ASYNC_LOOP]
  ])
  results.ratio(
    "action fan-out, 10 async handlers (each dispatch awaited)",
    "hookbus doAction + awaitIdle",
    "hookable callHookParallel",
    { name: "10 async handlers, awaited fan-out / hookable callHookParallel", bound: 1.5, kind: "max", unit: "x" },
    at
  )
}

// ---------------------------------------------------------------------------------------------------------------
console.log("scale")
{
  // A collected heap first: the garbage of the cases above would otherwise decide the cache misses measured here.
  const collect = (globalThis as { gc?: () => void }).gc
  for (let i = 0; i < 4; i++) collect?.()
  // Round-robin over 1,000 hooks, on a bus holding only those and on one holding 100 times as many: the slot lookup
  // and the cache misses of a large bus, not the handlers, are what differs.
  const many = quick ? 10_000 : 100_000
  const spread = 1_000
  const small = await makeBus(off)
  const big = await makeBus(off)
  const smallHooks = Array.from({ length: spread }, (_, i) => Hook.filter<number, []>(`rr-${i}`))
  const bigHooks = Array.from({ length: many }, (_, i) => Hook.filter<number, []>(`rr-${i}`))
  for (const hook of smallHooks) register(small.scope, small.bus.addFilter(hook, (v) => Effect.succeed(v + 1)))
  for (const hook of bigHooks) register(big.scope, big.bus.addFilter(hook, (v) => Effect.succeed(v + 1)))
  const step = many / spread
  const dispatched = Array.from({ length: spread }, (_, i) => bigHooks[i * step])
  const roundRobin = (bus: HookBusShape, hooks: ReadonlyArray<Hook.FilterHook<number, []>>) => {
    const loop = Effect.gen(function*() {
      let x = 0
      for (let i = 0; i < LOOP; i++) x = yield* bus.applyFilters(hooks[i % spread], x)
      return x
    })
    return () => Effect.runSync(loop)
  }
  const rrGroup = `round-robin dispatch over ${spread.toLocaleString("en")} hooks`
  const t = await results.compare(rrGroup, [
    [`hookbus, bus of ${spread.toLocaleString("en")} hooks`, roundRobin(small.bus, smallHooks), LOOP],
    [`hookbus, bus of ${many.toLocaleString("en")} hooks`, roundRobin(big.bus, dispatched), LOOP]
  ])
  results.ratio(
    rrGroup,
    `hookbus, bus of ${many.toLocaleString("en")} hooks`,
    `hookbus, bus of ${spread.toLocaleString("en")} hooks`,
    {
      name: `round-robin dispatch over 1,000 hooks of a ${many.toLocaleString("en")}-hook bus / on a 1,000-hook bus`,
      bound: 1.3,
      kind: "max",
      unit: "x"
    },
    t
  )

  const perHandler: Record<number, number> = {}
  for (const n of [10, 1000]) {
    const { bus, scope } = await makeBus(off)
    for (let i = 0; i < n; i++) register(scope, bus.addFilter(F, (v) => Effect.succeed(v + 1)))
    const loops = n === 10 ? LOOP : 10
    const loop = Effect.gen(function*() {
      let x = 0
      for (let i = 0; i < loops; i++) x = yield* bus.applyFilters(F, x)
      return x
    })
    const r = await results.compare(`per-handler cost at ${n} handlers`, [
      [`hookbus, ${n} handlers (per handler)`, () => Effect.runSync(loop), loops * n]
    ])
    perHandler[n] = r[`hookbus, ${n} handlers (per handler)`]
  }
  results.target({
    name: "per-handler cost at 1,000 handlers / at 10",
    measured: perHandler[1000] / perHandler[10],
    bound: 1.5,
    kind: "max",
    unit: "x"
  })

  // Registering n handlers on one hook and removing them all: per handler, long chain against short.
  const churnCase = (n: number) =>
    [`hookbus, ${n.toLocaleString("en")} handlers on one hook (per add + remove)`, async () => {
      const scope = Scope.makeUnsafe()
      const H = Hook.filter<number, []>(`churn-${n}`)
      for (let i = 0; i < n; i++) register(scope, small.bus.addFilter(H, (v) => Effect.succeed(v)))
      Effect.runSync(Scope.close(scope, Exit.void))
    }, n] as const
  const longChurn = quick ? 2_000 : 10_000
  const churnGroup = "register and remove handlers on one hook"
  const c = await results.compareAsync(churnGroup, [churnCase(100), churnCase(longChurn)])
  results.ratio(churnGroup, churnCase(longChurn)[0], churnCase(100)[0], {
    name: `add + remove at ${longChurn.toLocaleString("en")} handlers on one hook / at 100`,
    bound: 1.5,
    kind: "max",
    unit: "x"
  }, c)
}

// ---------------------------------------------------------------------------------------------------------------
console.log("WebAssembly")
{
  await buildAll()
  const upperBytes = readFileSync(join(root, "examples/plugins/uppercase/build/uppercase.wasm"))
  const dispatcherScope = Scope.makeUnsafe()
  const make = (options: PluginInstance.PluginInstanceOptions, bytes: Uint8Array = upperBytes) =>
    Effect.runPromise(PluginInstance.make(bytes, { name: "bench", ...options }).pipe(Scope.provide(dispatcherScope)))
  const unmetered = await make({ fuel: false })
  const metered = await make({})

  // The same work by a minimal hand-written host: the name's bytes written once, the JSON payload encoded with
  // `encodeInto` straight into guest memory, the result decoded straight from it.
  const instance = new WebAssembly.Instance(new WebAssembly.Module(upperBytes), {
    env: { gn_panic: () => {}, gn_log: () => {}, gn_time_ms: () => 0n }
  })
  const ex = instance.exports as unknown as {
    memory: WebAssembly.Memory
    gn_alloc: (n: number) => number
    gn_free: (p: number, n: number) => void
    gn_handle_hook: (a: number, b: number, c: number, d: number) => bigint
  }
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  const nameBytes = encoder.encode("the_content")
  const byHand = (value: string): unknown => {
    const json = JSON.stringify({ kind: "filter", value, args: [] })
    const np = ex.gn_alloc(nameBytes.length)
    new Uint8Array(ex.memory.buffer, np, nameBytes.length).set(nameBytes)
    // At most 3 bytes per UTF-16 unit: allocate the bound, encode in place, pass the written length.
    const capacity = json.length * 3
    const pp = ex.gn_alloc(capacity)
    const { written } = encoder.encodeInto(json, new Uint8Array(ex.memory.buffer, pp, capacity))
    const packed = ex.gn_handle_hook(np, nameBytes.length, pp, written)
    const ptr = Number(packed >> 32n)
    const len = Number(packed & 0xffffffffn)
    const body = JSON.parse(decoder.decode(new Uint8Array(ex.memory.buffer, ptr, len))) as { value: unknown }
    ex.gn_free(ptr, len)
    ex.gn_free(np, nameBytes.length)
    ex.gn_free(pp, capacity)
    return body.value
  }
  const CALLS = 100
  for (const [label, size] of [["100 B", 100], ["1 KiB", 1024], ["16 KiB", 16 * 1024]] as const) {
    const value = "lorem ipsum dolor sit amet ".repeat(Math.ceil(size / 27)).slice(0, size)
    const loop = (d: PluginInstance.PluginInstance) => {
      const effect = Effect.gen(function*() {
        for (let i = 0; i < CALLS; i++) yield* d.callFilter("the_content", value)
      })
      return () => Effect.runPromise(effect)
    }
    const t = await results.compareAsync(`wasm filter call, ${label} value`, [
      ["minimal host by hand: encodeInto + call + decode", async () => {
        for (let i = 0; i < CALLS; i++) byHand(value)
      }, CALLS],
      ["hookbus dispatcher, inline, no fuel", loop(unmetered), CALLS],
      ["hookbus dispatcher, inline, fuel on", loop(metered), CALLS]
    ])
    if (size === 100) {
      results.ratio(
        `wasm filter call, ${label} value`,
        "hookbus dispatcher, inline, no fuel",
        "minimal host by hand: encodeInto + call + decode",
        {
          name: "wasm filter, 100 B value, dispatcher / a minimal hand-written round trip",
          bound: 1.15,
          kind: "max",
          unit: "x"
        },
        t
      )
    }
  }

  // Worker mode: per-call overhead against Extism's worker mode.
  const worker = await make({ execution: "worker", pool: { size: 1 }, fuel: false })
  const tiny = "x"
  const WORKER_CALLS = 50
  const workerLoop = Effect.gen(function*() {
    for (let i = 0; i < WORKER_CALLS; i++) yield* worker.callFilter("the_content", tiny)
  })
  const noopWat = `(module (func (export "noop") (result i32) (i32.const 0)))`
  const extism = await createPlugin({ wasm: [{ data: await compileWatPromise(noopWat) }] }, {
    useWasi: false,
    runInWorker: true
  })
  // Both sides cross a thread per call; their JIT (here and in the worker) needs thousands of calls to settle.
  for (let i = 0; i < (quick ? 500 : 3_000); i++) {
    await Effect.runPromise(worker.callFilter("the_content", tiny))
    await extism.call("noop", tiny)
  }
  const w = await results.compareAsync("per-call overhead, worker mode", [
    ["Extism JS SDK, runInWorker (no-op export)", async () => {
      for (let i = 0; i < WORKER_CALLS; i++) await extism.call("noop", tiny)
    }, WORKER_CALLS],
    ["hookbus dispatcher, worker mode (1-byte filter)", () => Effect.runPromise(workerLoop), WORKER_CALLS],
    ["hookbus dispatcher, inline (1-byte filter)", () =>
      Effect.runPromise(Effect.gen(function*() {
        for (let i = 0; i < WORKER_CALLS; i++) yield* unmetered.callFilter("the_content", tiny)
      })), WORKER_CALLS]
  ])
  await extism.close()
  results.ratio(
    "per-call overhead, worker mode",
    "hookbus dispatcher, worker mode (1-byte filter)",
    "Extism JS SDK, runInWorker (no-op export)",
    { name: "worker-mode call / Extism worker mode", bound: 0.15, kind: "max", unit: "x" },
    w
  )

  // Fuel on a loop-heavy guest.
  const spin = (iterations: number) =>
    abiModule({
      handle: `(local $i i32) (local $x i32) (local.set $x (i32.const 1))
        (loop $l
          (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
          (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
          (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const ${iterations}))))
        (drop (local.get $x)) (i64.const 0)`
    })
  const loopBytes = await compileWatPromise(spin(200_000))
  const loopOff = await make({ fuel: false }, loopBytes)
  const loopOn = await make({}, loopBytes)
  const FUEL_CALLS = 20
  const fuelLoop = (d: PluginInstance.PluginInstance) => () =>
    Effect.runPromise(Effect.gen(function*() {
      for (let i = 0; i < FUEL_CALLS; i++) yield* d.callAction("spin")
    }))
  const f = await results.compareAsync("loop-heavy guest (200,000 iterations per call)", [
    ["hookbus, fuel off", fuelLoop(loopOff), FUEL_CALLS],
    ["hookbus, fuel on", fuelLoop(loopOn), FUEL_CALLS]
  ])
  results.ratio("loop-heavy guest (200,000 iterations per call)", "hookbus, fuel on", "hookbus, fuel off", {
    name: "fuel on / off, loop-heavy guest",
    bound: 1.15,
    kind: "max",
    unit: "x"
  }, f)

  // Pools: 2 workers against 1 on a CPU-bound plugin.
  const heavy = await compileWatPromise(spin(3_000_000))
  const pool1 = await make(
    { execution: "worker", pool: { size: 1 }, fuel: false, limits: { timeoutMs: 60_000 } },
    heavy
  )
  const pool2 = await make(
    { execution: "worker", pool: { size: 2 }, fuel: false, limits: { timeoutMs: 60_000 } },
    heavy
  )
  const BURST = 8
  const burst = (d: PluginInstance.PluginInstance) => () =>
    Effect.runPromise(
      Effect.forEach(Array.from({ length: BURST }), () => d.callAction("spin"), { concurrency: "unbounded" })
    )
  const p = await results.compareAsync(`CPU-bound plugin, ${BURST} concurrent calls (time per call)`, [
    ["hookbus worker pool of 1", burst(pool1), BURST],
    ["hookbus worker pool of 2", burst(pool2), BURST]
  ])
  results.ratio(
    `CPU-bound plugin, ${BURST} concurrent calls (time per call)`,
    "hookbus worker pool of 1",
    "hookbus worker pool of 2",
    {
      name: "throughput, worker pool of 2 / pool of 1 (CPU-bound)",
      bound: 1.8,
      kind: "min",
      unit: "x",
      note: `${availableParallelism()} cores, shared`
    },
    p
  )
  await Effect.runPromise(Scope.close(dispatcherScope, Exit.void))
}

// ---------------------------------------------------------------------------------------------------------------
const peak = process.resourceUsage().maxRSS * 1024
results.figure("peak RSS of the whole benchmark", `${(peak / 1024 / 1024).toFixed(0)} MiB`)
const meta = {
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  cpu: `${cpus()[0]?.model ?? "?"} (${availableParallelism()} cores)`,
  mode: quick ? "quick (smoke run: few samples, smaller sizes)" : "full"
}
// A quick run's figures are cold and few: they go to a temporary directory, never over the report.
const out = outDir ?? (quick ? mkdtempSync(join(tmpdir(), "hookbus-bench-quick-")) : undefined)
const docs = out ?? join(root, "docs")
const benchDir = out ?? join(root, "bench")
mkdirSync(docs, { recursive: true })
mkdirSync(benchDir, { recursive: true })
writeFileSync(join(benchDir, "results.json"), JSON.stringify({ meta, ...results }, null, 2) + "\n")
writeFileSync(join(docs, "benchmarks.md"), markdown(results, meta))
writeFileSync(
  join(docs, "benchmarks-filter-10.svg"),
  barChart(
    results.cases.filter((c) => c.group === "filter chain, 10 Effect.succeed handler(s)"),
    "Filter chain of 10 handlers: time per dispatch"
  )
)
console.log(`wrote ${join(benchDir, "results.json")} and ${join(docs, "benchmarks.md")}`)
process.exit(0)
