/**
 * The plugin sandbox: fuel, memory cap, worker mode with timeouts, pools, circuit breaker, capability policy and
 * hot reload. After every kind of misbehaviour the bus keeps serving other plugins, and the misbehaving plugin
 * recovers when it behaves again.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Metric, References, Tracer } from "effect"
import { TestClock } from "effect/testing"
import type * as WorkerThreads from "node:worker_threads"
import { type FilterFailed, Hook, HookBus } from "../src/index.ts"
import { OutOfFuel, Plugin, type PluginCallError, PluginPolicy, WasmBinary, WasmDispatcher } from "../src/wasm/index.ts"
import * as WorkerExecutor from "../src/wasm/WorkerExecutor.ts"
import { abiModule, compileWat, fixture, packed } from "./fixtures/wat.ts"
import { captureLogs, type LogEntry, messageOf } from "./helpers.ts"

/**
 * A plugin that misbehaves on demand, by hook name: "spin" loops forever, "bomb" grows memory until refused then
 * reports the pages it reached, "deep" recurses without end, "trap" hits unreachable, "work" counts to 200,000,
 * "long" counts to 150 million (a few hundred milliseconds), anything else succeeds with no body.
 */
const unruly = abiModule({
  data: "spinbombdeeptrapworklong",
  fields: `
    (func $is (param $np i32) (param $nl i32) (param $at i32) (result i32)
      (i32.and (i32.eq (local.get $nl) (i32.const 4)) (i32.eq (i32.load (local.get $np)) (i32.load (local.get $at)))))
    (func $recurse (param i32) (result i32) (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))`,
  handle: `
    (local $i i32)
    (if (call $is (local.get $np) (local.get $nl) (i32.const 1024)) (then (loop $forever (br $forever))))
    (if (call $is (local.get $np) (local.get $nl) (i32.const 1028))
      (then
        (block $full (loop $grow (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $grow)))
        (return ${packed(0, 0).replace("(i32.const 0)", "(i32.sub (i32.const -100) (memory.size))")})))
    (if (call $is (local.get $np) (local.get $nl) (i32.const 1032)) (then (drop (call $recurse (i32.const 0)))))
    (if (call $is (local.get $np) (local.get $nl) (i32.const 1036)) (then unreachable))
    (if (call $is (local.get $np) (local.get $nl) (i32.const 1040))
      (then (loop $count (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $count (i32.lt_u (local.get $i) (i32.const 200000))))))
    (if (call $is (local.get $np) (local.get $nl) (i32.const 1044))
      (then (loop $long (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $long (i32.lt_u (local.get $i) (i32.const 150000000))))))
    (i64.const 0)`
})

const make = (options?: WasmDispatcher.WasmDispatcherOptions) =>
  Effect.flatMap(compileWat(unruly), (bytes) => WasmDispatcher.make(bytes, { name: "unruly", ...options }))

const callError = (d: WasmDispatcher.WasmDispatcher, hook: string) =>
  Effect.flip(d.invokeFilter(hook, null)) as Effect.Effect<PluginCallError>

const manifest = (name: string, hooks: ReadonlyArray<Record<string, unknown>>) => ({
  abi: 1,
  name,
  version: "1.0.0",
  hooks
})

const busLayer = () => Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))

describe("1. fuel", () => {
  it.effect("an infinite loop runs out of fuel: OutOfFuel, told apart from unreachable; the plugin recovers", () =>
    Effect.gen(function*() {
      const d = yield* make({ limits: { fuel: 100_000 } })
      const spin = yield* callError(d, "spin")
      assert.strictEqual(spin._tag, "OutOfFuel")
      if (spin._tag === "OutOfFuel") {
        assert.deepStrictEqual([spin.fuel, spin.hook, spin.plugin], [100_000, "spin", "unruly"])
      }
      assert.strictEqual((yield* callError(d, "trap"))._tag, "Trapped")
      yield* d.invokeFilter("fine", 1)
      assert.strictEqual((yield* d.status).lastFuelUsed! > 0, true)
    }))

  it.effect("the default budget (50 million units) bounds a call too", () =>
    Effect.gen(function*() {
      const d = yield* make()
      assert.strictEqual((yield* callError(d, "spin"))._tag, "OutOfFuel")
    }))

  it.effect("fuel used per call is a metric and a span attribute", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.NativeSpan> = []
      const tracer = Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          spans.push(span)
          return span
        }
      })
      const registry: Metric.MetricRegistry = new Map()
      const d = yield* make()
      yield* d.invokeFilter("work", null).pipe(
        Effect.withSpan("call"),
        Effect.provideService(Tracer.Tracer, tracer),
        Effect.provideService(Metric.MetricRegistry, registry)
      )
      const used = spans[0].attributes.get("plugin.fuel_used") as number
      assert.isAbove(used, 200_000)
      const snapshot = yield* Metric.snapshot.pipe(Effect.provideService(Metric.MetricRegistry, registry))
      const series = snapshot.find((m) => m.id === "hookbus_plugin_fuel_used")
      assert.deepStrictEqual(series?.attributes, { plugin: "unruly" })
      assert.strictEqual((series!.state as { count: number }).count, 1)
    }))

  it.effect("fuel: false turns metering off", () =>
    Effect.gen(function*() {
      const d = yield* make({ fuel: false })
      yield* d.invokeFilter("work", null)
      assert.isUndefined((yield* d.status).lastFuelUsed)
    }))
})

describe("2. memory cap", () => {
  it.effect("a memory bomb sees memory.grow fail at the cap; the host stays bounded", () =>
    Effect.gen(function*() {
      const d = yield* make({ limits: { memoryPages: 8 } })
      const before = yield* d.status
      assert.deepStrictEqual([before.memoryPagesUsed, before.memoryPages], [1, 8])
      const error = yield* callError(d, "bomb")
      assert.include(error.message, "unknown status -108")
      // status shows the memory in use, not only the cap.
      assert.deepStrictEqual([(yield* d.status).memoryPagesUsed, (yield* d.status).memoryPages], [8, 8])
    }))

  it.live("in worker mode, status shows each worker's memory as of its last answer", () =>
    Effect.gen(function*() {
      const d = yield* make({ execution: "worker", fuel: false, pool: { size: 1 }, limits: { memoryPages: 6 } })
      assert.strictEqual((yield* d.status).memoryPagesUsed, 0)
      yield* d.invokeFilter("fine", 1)
      assert.strictEqual((yield* d.status).memoryPagesUsed, 1)
      yield* callError(d, "bomb")
      assert.deepStrictEqual([(yield* d.status).memoryPagesUsed, (yield* d.status).memoryPages], [6, 6])
    }).pipe(Effect.scoped))

  it.effect("deep recursion traps as a stack overflow and the plugin recovers", () =>
    Effect.gen(function*() {
      const d = yield* make({ fuel: false })
      const error = yield* callError(d, "deep")
      assert.strictEqual(error._tag, "Trapped")
      if (error._tag === "Trapped") assert.strictEqual(error.kind, "stack_overflow")
      yield* d.invokeFilter("fine", 1)
    }))
})

describe("3-4. worker mode and pools", () => {
  it.live("an overrun terminates that worker with Timeout; a fresh worker takes its place", () =>
    Effect.gen(function*() {
      const d = yield* make({ execution: "worker", fuel: false, pool: { size: 1 }, limits: { timeoutMs: 200 } })
      assert.strictEqual(yield* d.instances, 1)
      const error = yield* callError(d, "spin")
      assert.strictEqual(error._tag, "Timeout")
      if (error._tag === "Timeout") assert.strictEqual(error.timeoutMs, 200)
      assert.strictEqual(yield* d.instances, 2)
      const ok = yield* d.invokeFilter("fine", { kept: true })
      assert.deepStrictEqual(ok.value, { kept: true })
    }))

  it.live("calls on other workers are not disturbed by a stuck one", () =>
    Effect.gen(function*() {
      const d = yield* make({ execution: "worker", fuel: false, pool: { size: 2 }, limits: { timeoutMs: 3_000 } })
      const stuck = yield* Effect.forkChild(callError(d, "spin"))
      yield* Effect.sleep("20 millis")
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* d.invokeFilter("fine", i)).value, i)
      assert.isUndefined(stuck.pollUnsafe(), "the free worker served every call while the other was still stuck")
      assert.strictEqual((yield* Fiber.join(stuck))._tag, "Timeout")
    }))

  it.live("worker mode speaks the same ABI: traps, logs and errors cross the thread boundary typed", () =>
    Effect.gen(function*() {
      const gonext = yield* fixture("abi-fixture.wat")
      const d = yield* WasmDispatcher.make(gonext, { name: "gonext", execution: "worker", pool: { size: 1 } })
      assert.strictEqual((yield* d.invokeFilter("the_content", "hi")).value, "HI")
      const panic = (yield* Effect.flip(d.invokeFilter("trip_panic", null))) as PluginCallError
      assert.strictEqual(panic._tag, "Trapped")
      if (panic._tag === "Trapped") assert.deepStrictEqual([panic.kind, panic.detail], ["panic", "tripped"])
      const unknown = (yield* Effect.flip(d.invokeFilter("nope", null))) as PluginCallError
      assert.strictEqual(unknown._tag, "UnknownHook")
      assert.strictEqual((yield* d.invokeFilter("the_content", "again")).value, "AGAIN")
    }))

  it.live("a call waits for a free instance; a waiter that is interrupted leaves the queue", () =>
    Effect.gen(function*() {
      const d = yield* make({ execution: "worker", fuel: false, pool: { size: 1 }, limits: { timeoutMs: 300 } })
      const busy = yield* Effect.forkChild(callError(d, "spin"))
      yield* Effect.sleep("20 millis")
      const waiter = yield* Effect.forkChild(d.invokeFilter("fine", "waiter"))
      yield* Effect.sleep("20 millis")
      assert.isUndefined(waiter.pollUnsafe(), "the waiter waits for the busy instance")
      yield* Fiber.interrupt(waiter)
      assert.strictEqual((yield* Fiber.join(busy))._tag, "Timeout")
      // The interrupted waiter took no slot: the next call gets the (fresh) instance.
      assert.strictEqual((yield* d.invokeFilter("fine", "next")).value, "next")
      assert.isTrue(Exit.isFailure(yield* Fiber.await(waiter)))
    }))
})

describe("5. circuit breaker", () => {
  it.effect("5 traps within the window suspend the plugin; after the cool-down one trial decides", () =>
    Effect.gen(function*() {
      const d = yield* make()
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* callError(d, "trap"))._tag, "Trapped")
      const instances = yield* d.instances
      const suspended = yield* callError(d, "fine")
      assert.strictEqual(suspended._tag, "PluginSuspended")
      assert.strictEqual(yield* d.instances, instances, "a suspended plugin is not called")
      let status = yield* d.status
      assert.deepStrictEqual([status.breaker, status.suspensions, status.rejected], ["open", 1, 1])
      yield* TestClock.adjust("30 seconds")
      // The trial fails: another cool-down.
      assert.strictEqual((yield* callError(d, "trap"))._tag, "Trapped")
      assert.strictEqual((yield* callError(d, "fine"))._tag, "PluginSuspended")
      yield* TestClock.adjust("30 seconds")
      // The trial succeeds: closed again.
      yield* d.invokeFilter("fine", 1)
      status = yield* d.status
      assert.deepStrictEqual([status.breaker, status.suspensions], ["closed", 2])
    }))

  it.effect("failures outside the window do not add up; guest errors do not count", () =>
    Effect.gen(function*() {
      const d = yield* make()
      for (let i = 0; i < 4; i++) yield* callError(d, "trap")
      yield* TestClock.adjust("61 seconds")
      for (let i = 0; i < 4; i++) yield* callError(d, "trap")
      assert.strictEqual((yield* d.status).breaker, "closed")
      assert.strictEqual((yield* d.status).recentFailures, 4)
    }))

  it.effect("in the bus: a suspended plugin's handlers are skipped (not failed), counted and logged", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const Content = Hook.filter<unknown>("spin")
      const handle = yield* Plugin.fromBytes(
        yield* compileWat(unruly),
        manifest("unruly", [{ name: "spin", kind: "filter" }, { name: "spun", kind: "action" }]),
        {
          limits: { fuel: 10_000 },
          breaker: { maxFailures: 2 }
        }
      )
      yield* bus.addFilter(Content, (v) => Effect.succeed(`${String(v)}!`), { source: "core", priority: 20 })
      // Under the default "abort" policy the misbehaving calls stop the chain...
      for (let i = 0; i < 2; i++) {
        const error = yield* Effect.flip(bus.applyFiltersResult(Content, "x"))
        assert.strictEqual((error as FilterFailed).failure.error instanceof OutOfFuel, true)
      }
      assert.strictEqual((yield* Plugin.status(handle)).breaker, "open")
      // ...and once suspended, its handlers are skipped: the value passes through, the rest of the chain runs.
      const logs: Array<LogEntry> = []
      const result = yield* bus.applyFiltersResult(Content, "x").pipe(captureLogs(logs))
      assert.strictEqual(result.value, "x!")
      assert.strictEqual(result.skipped.length, 0)
      yield* bus.doAction(Hook.action("spun"))
      const status = yield* Plugin.status(handle)
      assert.strictEqual(status.rejected, 2)
      assert.isTrue(logs.some((e) => messageOf(e).includes("plugin suspended: handler skipped")))
    }).pipe(
      Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))),
      Effect.provideService(References.MinimumLogLevel, "Debug")
    ))
})

describe("6. capability policy", () => {
  it.effect("a manifest hook outside the policy fails loading with CapabilityDenied; nothing is registered", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const bytes = yield* fixture("abi-fixture.wat")
      const error = yield* Effect.flip(Plugin.fromBytes(
        bytes,
        manifest("seo", [
          { name: "the_content", kind: "filter" },
          { name: "user.password_reset", kind: "action" }
        ])
      ))
      assert.strictEqual(error._tag, "CapabilityDenied")
      if (error._tag === "CapabilityDenied") assert.deepStrictEqual(error.hooks, ["user.password_reset"])
      assert.isFalse(yield* bus.has(Hook.filter("the_content")))
      // Allowed through its own entry and "*".
      yield* Plugin.fromBytes(
        bytes,
        manifest("seo", [{ name: "the_content", kind: "filter" }, { name: "init", kind: "action" }])
      )
    }).pipe(
      Effect.provide(busLayer()),
      Effect.provide(PluginPolicy.layer({ allowHooks: { seo: ["the_content"], "*": ["init"] } }))
    ))

  it.effect("host imports outside the policy are denied", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Plugin.fromBytes(yield* fixture("abi-fixture.wat"), manifest("quiet", [])))
      assert.strictEqual(error._tag, "CapabilityDenied")
      // gn_panic is always allowed: a guest may always fail.
      if (error._tag === "CapabilityDenied") assert.deepStrictEqual(error.imports, ["gn_time_ms"])
    }).pipe(
      Effect.provide(busLayer()),
      Effect.provide(PluginPolicy.layer({ allowHooks: { "*": [] }, allowImports: { quiet: ["gn_log"] } }))
    ))

  it.effect("a policy that throws stops the load: it never fails open", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Plugin.fromBytes(
          yield* fixture("abi-fixture.wat"),
          manifest("quiet", [{ name: "the_content", kind: "filter" }])
        )
      )
      assert.isTrue(Exit.hasDies(exit))
      assert.isFalse(yield* HookBus.use((bus) => bus.has(Hook.filter("the_content"))))
    }).pipe(
      Effect.provide(busLayer()),
      Effect.provideService(PluginPolicy, {
        options: { allowHooks: {} },
        deniedHooks: () => [],
        deniedImports: () => {
          throw new Error("policy store unreachable")
        }
      })
    ))

  it.effect("with no policy, everything the manifest declares is allowed", () =>
    Effect.gen(function*() {
      const handle = yield* Plugin.fromBytes(
        yield* fixture("abi-fixture.wat"),
        manifest("anything", [
          { name: "user.password_reset", kind: "action" }
        ])
      )
      assert.strictEqual(handle.registrations.length, 1)
    }).pipe(Effect.provide(busLayer())))
})

describe("7. hot reload", () => {
  const v1 = manifest("shout", [{ name: "the_content", kind: "filter" }])
  const v2 = {
    ...manifest("shout", [{ name: "the_content", kind: "filter" }, { name: "the_title", kind: "filter" }]),
    version: "2.0.0"
  }

  it.effect("switches every registration in one step; the old version is released", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const upper = yield* fixture("abi-fixture.wat")
      const handle = yield* Plugin.fromBytes(upper, v1)
      const oldDispatcher = handle.dispatcher
      assert.strictEqual(yield* bus.applyFilters(Hook.filter<string>("the_content"), "a"), "A")
      const passthrough = yield* compileWat(abiModule())
      yield* Plugin.reload(handle, { bytes: passthrough, manifest: v2 })
      assert.strictEqual(handle.version, "2.0.0")
      assert.strictEqual(yield* bus.applyFilters(Hook.filter<string>("the_content"), "a"), "a")
      assert.deepStrictEqual((yield* bus.handlers(Hook.filter("the_title"))).map((h) => h.source), ["plugin:shout"])
      assert.strictEqual(handle.registrations.length, 2)
      assert.isTrue(
        Exit.isFailure(yield* Effect.exit(oldDispatcher.invokeFilter("the_content", "x"))),
        "old version released"
      )
      assert.strictEqual((yield* Plugin.status(handle)).reloads, 1)
    }).pipe(Effect.provide(busLayer())))

  it.effect("every dispatch sees either the old handlers or the new ones, never both or neither", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const Content = Hook.filter<string>("the_content")
      // Old: uppercases. New (different priority, so a new registration): appends a marker via a body.
      const upper = yield* fixture("abi-fixture.wat")
      const marker = yield* compileWat(abiModule({ data: `{"value":"new"}`, handle: packed(1024, 15) }))
      const handle = yield* Plugin.fromBytes(upper, v1)
      const seen = new Set<string>()
      const latest = { value: "" } // written by the dispatcher fiber
      const dispatcher = yield* Effect.forkChild(Effect.forever(
        Effect.andThen(
          Effect.map(bus.applyFilters(Content, "old"), (v) => {
            seen.add(v)
            latest.value = v
          }),
          Effect.yieldNow
        )
      ))
      for (let i = 0; i < 20; i++) {
        const next = i % 2 === 0
          ? { bytes: marker, manifest: manifest("shout", [{ name: "the_content", kind: "filter", priority: 5 }]) }
          : { bytes: upper, manifest: v1 }
        yield* Plugin.reload(handle, next)
        // Let the dispatcher see this version before the next reload, however slow the machine (no timed sleep).
        const expected = i % 2 === 0 ? "new" : "OLD"
        while (latest.value !== expected) yield* Effect.yieldNow
      }
      yield* Fiber.interrupt(dispatcher)
      // "OLD" (old version ran), "new" (new version ran); "old" would mean neither ran, "NEW"/other both.
      assert.isTrue([...seen].every((v) => v === "OLD" || v === "new"), [...seen].join(","))
      assert.isTrue(seen.has("OLD") && seen.has("new"))
      assert.strictEqual((yield* bus.handlers(Content)).length, 1)
    }).pipe(Effect.provide(busLayer())))

  it.effect("a new version that fails to load leaves the old one running", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const handle = yield* Plugin.fromBytes(yield* fixture("abi-fixture.wat"), v1)
      const error = yield* Effect.flip(Plugin.reload(handle, { bytes: new Uint8Array([1, 2, 3]), manifest: v2 }))
      assert.strictEqual(error._tag, "InvalidModule")
      assert.strictEqual(handle.version, "1.0.0")
      assert.strictEqual(yield* bus.applyFilters(Hook.filter<string>("the_content"), "still"), "STILL")
      assert.isFalse(yield* bus.has(Hook.filter("the_title")))
    }).pipe(Effect.provide(busLayer())))

  it.live("in-flight calls finish on the old version before it is released", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const Long = Hook.filter<string>("long")
      const bytes = yield* compileWat(unruly)
      const options = { execution: "worker", fuel: false, pool: { size: 1 }, limits: { timeoutMs: 10_000 } } as const
      const handle = yield* Plugin.fromBytes(bytes, manifest("unruly", [{ name: "long", kind: "filter" }]), options)
      const old = handle.dispatcher
      const inFlight = yield* Effect.forkChild(bus.applyFilters(Long, "kept"))
      yield* Effect.sleep("50 millis")
      yield* Plugin.reload(handle, {
        bytes,
        manifest: { ...manifest("unruly", [{ name: "long", kind: "filter" }]), version: "1.1.0" }
      })
      assert.strictEqual(handle.version, "1.1.0")
      // The old version is still serving the call in flight...
      assert.strictEqual(yield* Fiber.join(inFlight), "kept")
      // ...and released once it finished.
      yield* Effect.sleep("50 millis")
      assert.isTrue(Exit.isFailure(yield* Effect.exit(old.invokeFilter("fine", 1))))
      assert.strictEqual(yield* bus.applyFilters(Long, "new"), "new")
    }).pipe(Effect.provide(busLayer())))
})

describe("every misbehaviour: the bus keeps serving other plugins, and the plugin recovers", () => {
  it.effect("spin, bomb, deep, trap, then normal calls", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const gonext = yield* fixture("abi-fixture.wat")
      yield* Plugin.fromBytes(gonext, manifest("good", [{ name: "the_content", kind: "filter", priority: 30 }]))
      const hooks = ["spin", "bomb", "deep", "trap"]
      const unrulyHandle = yield* Plugin.fromBytes(
        yield* compileWat(unruly),
        manifest("unruly", [...hooks, "the_content"].map((name) => ({ name, kind: "filter", priority: 1 }))),
        { limits: { fuel: 50_000, memoryPages: 4 }, breaker: false }
      )
      for (const name of hooks) {
        yield* Effect.flip(bus.applyFilters(Hook.filter<unknown>(name), null))
        assert.strictEqual(yield* bus.applyFilters(Hook.filter<string>("the_content"), "ok"), "OK")
      }
      const failed = (yield* Effect.flip(bus.applyFilters(Hook.filter<unknown>("spin"), null))) as FilterFailed<unknown>
      assert.strictEqual((failed.failure.error as { _tag: string })._tag, "OutOfFuel")
      assert.isAbove(yield* unrulyHandle.dispatcher.instances, 3)
    }).pipe(Effect.provide(busLayer())))
})

/** The module with its one memory replaced by two of one page each (wabt's validator refuses to write that). */
const withTwoMemories = (bytes: Uint8Array): Uint8Array => {
  const section = WasmBinary.read(bytes).memorySection!
  const twoMemories = [5, 5, 2, 0x00, 1, 0x00, 1]
  const out = new Uint8Array(bytes.length - (section.end - section.start) + twoMemories.length)
  out.set(bytes.subarray(0, section.start), 0)
  out.set(twoMemories, section.start)
  out.set(bytes.subarray(section.end), section.start + twoMemories.length)
  return out
}

/** Loads `handle` (the body of gn_handle_hook) as a plugin, with `options`. */
const hostile = (
  module: Parameters<typeof abiModule>[0],
  options: WasmDispatcher.WasmDispatcherOptions = {}
) =>
  Effect.flatMap(compileWat(abiModule(module)), (bytes) => WasmDispatcher.make(bytes, { name: "hostile", ...options }))

/** A module whose every call logs its one-byte data `lines` times through gn_log. */
const logLines = (data: string, lines: number) => ({
  imports: `(import "env" "gn_log" (func $log (param i32 i32 i32)))`,
  data,
  handle: `(local $i i32)
    (loop $l (call $log (i32.const 1) (i32.const 1024) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const ${lines}))))
    (i64.const 0)`
})

const fuelOf = (d: WasmDispatcher.WasmDispatcher, hook = "x") =>
  Effect.andThen(Effect.ignore(d.invokeAction(hook)), Effect.map(d.status, (s) => s.lastFuelUsed ?? 0))

describe("8. a hostile plugin (issue 13)", () => {
  it.effect("fuel is charged per instruction: one pass of a 10,000-instruction block costs over 10,000 units", () =>
    Effect.gen(function*() {
      const d = yield* hostile({
        handle: `(local $i i32) ${"(local.set $i (i32.add (local.get $i) (i32.const 1)))".repeat(2500)} (i64.const 0)`
      })
      assert.isAtLeast(yield* fuelOf(d), 10_000)
    }))

  it.effect("bulk memory and table operations are charged by their length", () =>
    Effect.gen(function*() {
      const fill = yield* hostile({
        memory: `(memory (export "memory") 17)`,
        handle: `(memory.fill (i32.const 0) (i32.const 7) (i32.const 0x100000)) (i64.const 0)`
      })
      assert.isAtLeast(yield* fuelOf(fill), 0x100000 / 4, "memory.fill of 1 MiB")
      const copy = yield* hostile({
        memory: `(memory (export "memory") 17)`,
        handle: `(memory.copy (i32.const 0) (i32.const 0x80000) (i32.const 0x80000)) (i64.const 0)`
      })
      assert.isAtLeast(yield* fuelOf(copy), 0x80000 / 4, "memory.copy of 512 KiB")
      const table = yield* hostile({
        fields: `(table $t 10000 funcref)`,
        handle: `(table.fill $t (i32.const 0) (ref.null func) (i32.const 10000)) (i64.const 0)`
      })
      assert.isAtLeast(yield* fuelOf(table), 160_000, "table.fill of 10,000 elements")
    }))

  it.effect("a loop of 16 MiB memory.fill runs out of the default budget after a few passes", () =>
    Effect.gen(function*() {
      const d = yield* hostile({
        memory: `(memory (export "memory") 256)`,
        handle: `(loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 0x1000000)) (br $l)) (i64.const 0)`
      })
      const error = yield* Effect.flip(d.invokeAction("x"))
      assert.strictEqual(error._tag, "OutOfFuel")
      assert.strictEqual((yield* d.status).lastFuelUsed, 50_000_000)
    }))

  it.effect("the start function runs under the budget: a looping one fails the load with OutOfFuel at (start)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        hostile({ fields: `(func $s (loop $l (br $l))) (start $s)` }, { limits: { fuel: 100_000 } })
      )
      assert.strictEqual(error._tag, "OutOfFuel")
      assert.strictEqual(error.message, `plugin "hostile" used up its fuel (100000) on hook "(start)"`)
    }))

  it.effect("a trapping gn_abi_version fails the load classified like any trap", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        hostile({ fields: `(func (export "gn_abi_version") (result i32) unreachable)` })
      )
      assert.strictEqual(error._tag, "Trapped")
      if (error._tag === "Trapped") assert.deepStrictEqual([error.hook, error.kind], ["gn_abi_version", "unreachable"])
    }))

  it.effect("a second memory is refused with InvalidModule (it would escape the memory cap)", () =>
    Effect.gen(function*() {
      const bytes = withTwoMemories(yield* compileWat(abiModule()))
      assert.isTrue(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>), "the engine accepts two memories")
      const error = yield* Effect.flip(WasmDispatcher.make(bytes, { name: "two", fuel: false }))
      assert.strictEqual(error._tag, "InvalidModule")
      assert.include(error.message, "defines 2 memories; ABI v1 allows one")
    }))

  it.effect("module size and function count are bounded by limits, with a typed error naming the limit", () =>
    Effect.gen(function*() {
      const bytes = yield* compileWat(abiModule({ fields: "(func) (func) (func)" }))
      const big = yield* Effect.flip(WasmDispatcher.make(bytes, { limits: { maxModuleBytes: 100 } }))
      assert.strictEqual(big._tag, "ModuleTooLarge")
      if (big._tag === "ModuleTooLarge") {
        assert.deepStrictEqual([big.limit, big.actual], ["maxModuleBytes", bytes.length])
      }
      const many = yield* Effect.flip(WasmDispatcher.make(bytes, { limits: { maxFunctions: 5 } }))
      assert.strictEqual(many._tag, "ModuleTooLarge")
      assert.strictEqual(many.message, `plugin "anonymous": module of 7 functions exceeds limits.maxFunctions (5)`)
    }))

  it.effect("the table is capped like the memory: its minimum is checked, its maximum rewritten to the cap", () =>
    Effect.gen(function*() {
      const huge = yield* Effect.flip(hostile({ fields: `(table 1000000 funcref)` }, { fuel: false }))
      assert.strictEqual(huge._tag, "ModuleTooLarge")
      assert.strictEqual(
        huge.message,
        `plugin "hostile": module of 1000000 table elements exceeds limits.maxTableElements (65536)`
      )
      // An unbounded table of 1 element: growing it to cap + 1 must be refused (-1), to the cap must work.
      const grower = (cap: number) => ({
        fields: `(table $t 1 funcref)`,
        handle: `
          (if (i32.ne (table.grow $t (ref.null func) (i32.const ${cap})) (i32.const -1)) (then unreachable))
          (if (i32.eq (table.grow $t (ref.null func) (i32.const ${cap - 1})) (i32.const -1)) (then unreachable))
          (i64.const 0)`
      })
      for (const options of [{ fuel: false }, {}, { execution: "worker" as const, pool: { size: 1 } }]) {
        const d = yield* hostile(grower(65_536), options)
        yield* d.invokeAction("x")
      }
      const lowered = yield* hostile(grower(10), { fuel: false, limits: { maxTableElements: 10 } })
      yield* lowered.invokeAction("x")
    }))

  it.effect("a second table is refused with InvalidModule (it would escape the table cap)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        hostile({ fields: `(table $a 1 funcref) (table $b 1 externref)` }, { fuel: false })
      )
      assert.strictEqual(error._tag, "InvalidModule")
      assert.include(error.message, "defines 2 tables; ABI v1 allows one")
    }))

  it.effect("gn_log floods are capped per call: the rest is counted and reported in one line", () =>
    Effect.gen(function*() {
      const entries: Array<LogEntry> = []
      const d = yield* hostile(logLines("x", 1_000_000), { fuel: false })
      yield* d.invokeAction("flood").pipe(captureLogs(entries))
      assert.strictEqual(entries.length, 1001)
      assert.strictEqual(
        messageOf(entries[1000]),
        "dropped 999000 gn_log lines (999000 bytes) over the per-call cap of 1000 lines and 262144 bytes"
      )
      assert.strictEqual(entries[1000].level, "WARN")
    }))

  it.effect("gn_log is capped per plugin per second over all calls; the drop count is reported", () =>
    Effect.gen(function*() {
      const entries: Array<LogEntry> = []
      const d = yield* hostile(logLines("y", 30), { limits: { logLinesPerSecond: 50 } })
      for (let i = 0; i < 3; i++) yield* d.invokeAction("chatty").pipe(captureLogs(entries))
      const lines = (all: ReadonlyArray<LogEntry>) => all.filter((e) => messageOf(e) === "y").length
      assert.strictEqual(lines(entries), 50)
      assert.deepStrictEqual(entries.filter((e) => messageOf(e) !== "y").map(messageOf), [
        "gn_log over the plugin's cap of 50 lines and 1048576 characters per second: dropping lines until the second ends"
      ])
      yield* TestClock.adjust("1 second")
      const next: Array<LogEntry> = []
      yield* d.invokeAction("chatty").pipe(captureLogs(next))
      assert.strictEqual(lines(next), 30)
      assert.deepStrictEqual(next.filter((e) => messageOf(e) !== "y").map(messageOf), [
        "dropped 40 gn_log lines (40 characters) over the plugin's cap of 50 lines and 1048576 characters per second"
      ])
    }))
})

describe("9. hostile results and workers (issue 13)", () => {
  const deep = `{"value":${"[".repeat(100_000)}${"]".repeat(100_000)}}`
  const deepModule = abiModule({
    memory: `(memory (export "memory") 4)`,
    data: deep,
    handle: packed(1024, deep.length)
  })

  it.effect("a result nested 100,000 deep is BadPayload naming the depth (inline)", () =>
    Effect.gen(function*() {
      const d = yield* WasmDispatcher.make(yield* compileWat(deepModule), { name: "deep" })
      const error = yield* Effect.flip(d.invokeFilter("x", 1))
      assert.strictEqual(error._tag, "BadPayload")
      assert.include(error.message, "nests deeper than 128 levels")
    }))

  it.live("a result nested 100,000 deep is BadPayload in worker mode too; the worker keeps serving", () =>
    Effect.gen(function*() {
      const d = yield* WasmDispatcher.make(yield* compileWat(deepModule), {
        name: "deep",
        execution: "worker",
        pool: { size: 1 }
      })
      for (let i = 0; i < 2; i++) {
        const error = yield* Effect.flip(d.invokeFilter("x", 1))
        assert.strictEqual(error._tag, "BadPayload")
      }
      assert.strictEqual(yield* d.instances, 1)
    }))

  it.effect("a non-finite number in a result (1e400) is BadPayload naming where it is", () =>
    Effect.gen(function*() {
      const body = `{"value":{"price":[1,1e400]}}`
      const d = yield* WasmDispatcher.make(
        yield* compileWat(abiModule({ data: body, handle: packed(1024, body.length) })),
        { name: "inf" }
      )
      const error = yield* Effect.flip(d.invokeFilter("x", 1))
      assert.strictEqual(error._tag, "BadPayload")
      assert.include(error.message, "the number at body.value.price[1] is out of range")
    }))

  it.live("worker mode: a looping start function with fuel off fails the load with Timeout within timeoutMs", () =>
    Effect.gen(function*() {
      const bytes = yield* compileWat(abiModule({ fields: `(func $s (loop $l (br $l))) (start $s)` }))
      const error = yield* Effect.flip(
        WasmDispatcher.make(bytes, { execution: "worker", fuel: false, pool: { size: 1 }, limits: { timeoutMs: 300 } })
      )
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual(error.message, `plugin "anonymous" exceeded 300 ms on hook "(start)"`)
      const metered = yield* Effect.flip(
        WasmDispatcher.make(bytes, { execution: "worker", pool: { size: 1 }, limits: { fuel: 100_000 } })
      )
      assert.strictEqual(metered._tag, "OutOfFuel")
    }))

  it.live("a worker that exits mid-call fails that call naming its hook, and is replaced", () =>
    Effect.gen(function*() {
      const threads: Array<WorkerThreads.Worker> = []
      const bytes = yield* compileWat(unruly)
      const module = yield* Effect.promise(() => WebAssembly.compile(bytes))
      const executor = yield* WorkerExecutor.workers(
        { plugin: "crashy", module, limits: { maxPayloadBytes: 1 << 20, maxResultBytes: 1 << 20, fuel: undefined } },
        1,
        30_000,
        (thread) => threads.push(thread)
      )
      const payload = `{"kind":"filter","value":null,"args":[]}`
      const call = yield* Effect.forkChild(executor.call("spin", payload))
      yield* Effect.sleep("300 millis")
      yield* Effect.promise(() => threads[0].terminate())
      const crashed = (yield* Fiber.join(call)).result
      assert.strictEqual(crashed._tag, "Err")
      if (crashed._tag === "Err") {
        assert.strictEqual(crashed.error._tag, "Trapped")
        assert.strictEqual((crashed.error as { hook: string }).hook, "spin")
      }
      const next = (yield* executor.call("fine", payload)).result
      assert.strictEqual(next._tag, "Ok")
      assert.strictEqual(executor.instances(), 2)
      // And one that exits while idle is replaced on the next call.
      yield* Effect.promise(() => threads[1].terminate())
      yield* Effect.sleep("100 millis")
      assert.strictEqual((yield* executor.call("fine", payload)).result._tag, "Ok")
      assert.strictEqual(executor.instances(), 3)
    }))
})
