/**
 * The chaos plugin zoo: each module misbehaves while the host clock (gn_time_ms) reads an odd millisecond and
 * behaves while it reads an even one. For each: the typed error of the ABI contract, the host keeps serving the
 * other plugin in the same chain, nothing leaks, and the plugin works again once it behaves.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Scope } from "effect"
import { Exit } from "effect"
import { TestClock } from "effect/testing"
import { Hook, HookBus } from "../../src/index.ts"
import { Plugin, WasmBinary } from "../../src/wasm/index.ts"
import { abiModule, bumpAllocator, compileWat, fixture, packed } from "../fixtures/wat.ts"

const Content = Hook.filter<string>("the_content")
const odd = `(i32.wrap_i64 (i64.and (call $time) (i64.const 1)))`
const time = `(import "env" "gn_time_ms" (func $time (result i64)))`

/** A module that does `bad` while the clock is odd and returns success with no body otherwise. */
const toggled = (
  bad: string,
  options: { readonly data?: string | Uint8Array; readonly fields?: string; readonly imports?: string } = {}
) =>
  abiModule({
    imports: `${time} ${options.imports ?? ""}`,
    data: options.data,
    fields: options.fields,
    handle: `(if (result i64) ${odd} (then ${bad}) (else (i64.const 0)))`
  })

interface CallChaos {
  readonly name: string
  readonly wat: string
  readonly tag: string
  readonly kind?: string
}

const callZoo: ReadonlyArray<CallChaos> = [
  { name: "infinite loop", wat: toggled("(loop $l (br $l)) (i64.const 0)"), tag: "OutOfFuel" },
  {
    name: "memory.fill flood",
    wat: toggled("(loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536)) (br $l)) (i64.const 0)"),
    tag: "OutOfFuel"
  },
  {
    name: "a loop with a long straight-line body",
    wat: toggled(`(loop $l ${"(drop (i32.add (i32.const 1) (i32.const 2)))".repeat(2500)} (br $l)) (i64.const 0)`),
    tag: "OutOfFuel"
  },
  {
    name: "gn_log flood",
    wat: toggled("(loop $l (call $log (i32.const 1) (i32.const 0) (i32.const 65536)) (br $l)) (i64.const 0)", {
      imports: `(import "env" "gn_log" (func $log (param i32 i32 i32)))`
    }),
    tag: "OutOfFuel"
  },
  {
    name: "memory bomb",
    wat: toggled(`(block $full (loop $g (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $g)))
      (i32.store (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)) (i64.const 0)`),
    tag: "Trapped",
    kind: "out_of_bounds"
  },
  {
    name: "deep recursion",
    wat: toggled("(drop (call $down (i32.const 0))) (i64.const 0)", {
      fields:
        `(func $down (param i32) (result i32) (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))`
    }),
    tag: "Trapped",
    kind: "stack_overflow"
  },
  { name: "out-of-bounds result", wat: toggled(packed(65_530, 100)), tag: "BadResult" },
  { name: "huge length", wat: toggled(packed(1024, 0x7fff_ffff)), tag: "ResultTooLarge" },
  { name: "negative length with a pointer", wat: toggled(packed(1024, -7)), tag: "BadResult" },
  {
    name: "invalid UTF-8",
    wat: toggled(packed(1024, 4), { data: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }),
    tag: "BadPayload"
  },
  { name: "invalid JSON", wat: toggled(packed(1024, 9), { data: `{"value":` }), tag: "BadPayload" },
  { name: "wrong envelope", wat: toggled(packed(1024, 5), { data: `[1,2]` }), tag: "BadPayload" },
  {
    name: "a result nested 30,000 deep",
    wat: toggled(packed(1024, 60_010), { data: `{"value":${"[".repeat(30_000)}${"]".repeat(30_000)}}` }),
    tag: "BadPayload"
  },
  {
    name: "a non-finite number (1e400)",
    wat: toggled(packed(1024, 15), { data: `{"value":1e400}` }),
    tag: "BadPayload"
  },
  {
    name: "gn_panic",
    wat: toggled(`(call $panic (i32.const 1024) (i32.const 5)) (i64.const 0)`, {
      data: "chaos",
      imports: `(import "env" "gn_panic" (func $panic (param i32 i32)))`
    }),
    tag: "Trapped",
    kind: "panic"
  },
  { name: "unreachable", wat: toggled("unreachable"), tag: "Trapped", kind: "unreachable" },
  {
    name: "gn_alloc returning 0",
    wat: abiModule({
      imports: time,
      allocator: bumpAllocator.replace(
        "(local.set $ptr (global.get $heap))",
        `(if ${odd} (then (return (i32.const 0)))) (local.set $ptr (global.get $heap))`
      )
    }),
    tag: "GuestOutOfMemory"
  },
  {
    name: "gn_alloc returning a block outside memory",
    wat: abiModule({
      imports: time,
      allocator: bumpAllocator.replace(
        "(local.set $ptr (global.get $heap))",
        `(if ${odd} (then (return (i32.const 70000)))) (local.set $ptr (global.get $heap))`
      )
    }),
    tag: "BadResult"
  }
]

const loadZoo: ReadonlyArray<
  { readonly name: string; readonly bytes: Effect.Effect<Uint8Array>; readonly tag: string }
> = [
  {
    name: "a start function that traps",
    bytes: compileWat(abiModule({ fields: `(func $s unreachable) (start $s)` })),
    tag: "Trapped"
  },
  {
    name: "a start function that loops forever",
    bytes: compileWat(abiModule({ fields: `(func $s (loop $l (br $l))) (start $s)` })),
    tag: "OutOfFuel"
  },
  {
    name: "a trapping gn_abi_version",
    bytes: compileWat(abiModule({ fields: `(func (export "gn_abi_version") (result i32) unreachable)` })),
    tag: "Trapped"
  },
  {
    name: "two memories",
    bytes: Effect.map(compileWat(abiModule()), (bytes) => {
      const section = WasmBinary.read(bytes).memorySection!
      return new Uint8Array([
        ...bytes.subarray(0, section.start),
        ...[5, 5, 2, 0x00, 1, 0x00, 1],
        ...bytes.subarray(section.end)
      ])
    }),
    tag: "InvalidModule"
  },
  {
    name: "a table of a million elements (80 MiB of references per instance)",
    bytes: compileWat(abiModule({ fields: `(table 1000000 funcref)` })),
    tag: "ModuleTooLarge"
  },
  {
    name: "two tables (the second would escape the table cap)",
    bytes: compileWat(abiModule({ fields: `(table 1 funcref) (table 1 funcref)` })),
    tag: "InvalidModule"
  },
  {
    name: "an unknown import",
    bytes: compileWat(abiModule({ imports: `(import "env" "open_socket" (func (param i32) (result i32)))` })),
    tag: "UnknownImport"
  },
  {
    name: "a module that is not wasm at all",
    bytes: Effect.succeed(new TextEncoder().encode("#!/bin/sh\nrm -rf /\n")),
    tag: "InvalidModule"
  }
]

const manifest = (name: string, priority: number) => ({
  abi: 1,
  name,
  version: "1.0.0",
  hooks: [{ name: "the_content", kind: "filter", priority }]
})

const bus = () =>
  Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false, filterErrors: { the_content: "skip" } }))

describe("chaos plugin zoo", () => {
  for (const chaos of callZoo) {
    it.effect(`${chaos.name}: ${chaos.tag}${chaos.kind ? ` (${chaos.kind})` : ""}; the chain keeps serving; it recovers`, () =>
      Effect.gen(function*() {
        const hooks = yield* HookBus
        yield* Plugin.fromBytes(yield* fixture("abi-fixture.wat"), manifest("good", 20))
        const scope = yield* Scope.make()
        const handle = yield* Plugin.fromBytes(yield* compileWat(chaos.wat), manifest("chaos", 10), {
          limits: { fuel: 200_000, memoryPages: 4 },
          breaker: false
        }).pipe(Scope.provide(scope))
        assert.strictEqual((yield* hooks.handlers(Content)).length, 2)

        let misbehaved = 0
        for (let round = 0; round < 3; round++) {
          yield* TestClock.setTime(2 * round + 1)
          const bad = yield* hooks.applyFiltersResult(Content, "still served")
          misbehaved++
          assert.strictEqual(bad.value, "STILL SERVED", "the other plugin in the chain kept serving")
          assert.strictEqual(bad.skipped.length, 1)
          const error = bad.skipped[0].error as { _tag: string; kind?: string; plugin: string; hook: string }
          assert.strictEqual(error._tag, chaos.tag)
          if (chaos.kind !== undefined) assert.strictEqual(error.kind, chaos.kind)
          assert.deepStrictEqual([error.plugin, error.hook], ["chaos", "the_content"])

          yield* TestClock.setTime(2 * round + 2)
          const good = yield* hooks.applyFiltersResult(Content, "behaves")
          assert.strictEqual(good.value, "BEHAVES")
          assert.deepStrictEqual(good.skipped, [], "the plugin works again once it behaves")
        }
        // No leaks: the same two registrations, at most one instance per trap (plus the first), no fiber left.
        assert.strictEqual((yield* hooks.handlers(Content)).length, 2)
        yield* hooks.awaitIdle
        const active = (yield* Metric.snapshot).find((m) => m.id === "child_fibers_active")?.state as
          | { value: number }
          | undefined
        assert.strictEqual(active?.value ?? 0, 0, "fibers left running")
        assert.isAtMost(yield* handle.instance.instances, misbehaved + 1)
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual((yield* hooks.handlers(Content)).map((h) => h.source), ["plugin:good"])
      }).pipe(
        Effect.provide(bus()),
        Metric.enableRuntimeMetrics,
        Effect.provideService(Metric.MetricRegistry, new Map())
      ))
  }

  for (const chaos of loadZoo) {
    it.effect(`${chaos.name}: fails to load with ${chaos.tag}; nothing is registered; the chain keeps serving`, () =>
      Effect.gen(function*() {
        const hooks = yield* HookBus
        yield* Plugin.fromBytes(yield* fixture("abi-fixture.wat"), manifest("good", 20))
        const error = yield* Effect.flip(Plugin.fromBytes(yield* chaos.bytes, manifest("chaos", 10)))
        assert.strictEqual(error._tag, chaos.tag)
        assert.deepStrictEqual((yield* hooks.handlers(Content)).map((h) => h.source), ["plugin:good"])
        assert.strictEqual(yield* hooks.applyFilters(Content, "ok"), "OK")
      }).pipe(Effect.provide(bus())))
  }

  it("the zoo covers every misbehaviour the reliability issue lists", () => {
    assert.strictEqual(callZoo.length + loadZoo.length, 26)
  })
})
