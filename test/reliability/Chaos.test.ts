/**
 * The chaos plugin zoo: each module misbehaves while the host clock (gn_time_ms) reads an odd millisecond and
 * behaves while it reads an even one. For each: the typed error of the ABI contract, the host keeps serving the
 * other plugin in the same chain, nothing leaks, and the plugin works again once it behaves.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Scope } from "effect"
import { Exit } from "effect"
import { TestClock } from "effect/testing"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Hook, HookBus } from "../../src/index.ts"
import * as Fuel from "../../src/wasm/Fuel.ts"
import { Plugin, PluginInstance, PluginPolicy, type PluginPolicyOptions, WasmBinary } from "../../src/wasm/index.ts"
import { abiModule, bumpAllocator, compileWat, fixture, packed } from "../fixtures/wat.ts"

const Files = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

const Content = Hook.filter<string>("the_content")
const odd = `(i32.wrap_i64 (i64.and (call $time) (i64.const 1)))`
const time = `(import "env" "gn_time_ms" (func $time (result i64)))`

/** A module that does `bad` while the clock is odd and returns success with no body otherwise. */
const toggled = (
  bad: string,
  options: {
    readonly data?: string | Uint8Array
    readonly fields?: string
    readonly imports?: string
    readonly memory?: string
  } = {}
) =>
  abiModule({
    imports: `${time} ${options.imports ?? ""}`,
    data: options.data,
    memory: options.memory,
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
    name: "a result nested 40,000 deep in objects and arrays",
    wat: toggled(packed(1024, 9 + 6 * 20_000 + 2 * 20_000 + 1), {
      data: `{"value":${`[{"a":`.repeat(20_000)}${"}]".repeat(20_000)}}`,
      memory: `(memory (export "memory") 3)`
    }),
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

interface LoadChaos {
  readonly name: string
  readonly bytes: Effect.Effect<Uint8Array>
  readonly tag: string
  /** Fields over the chaos plugin's manifest. */
  readonly manifest?: Record<string, unknown>
  /** The host's policy for this load. */
  readonly policy?: PluginPolicyOptions
}

const plain = compileWat(abiModule())
const hooksOf = (...hooks: ReadonlyArray<Record<string, unknown>>) => ({ hooks })
const contentHook = { name: "the_content", kind: "filter" }
const boundedPolicy: PluginPolicyOptions = { allowHooks: { "*": ["the_content"] }, priority: { min: 0, max: 100 } }

const loadZoo: ReadonlyArray<LoadChaos> = [
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
  },
  // The manifest is untrusted too: its limits are requests under the host's ceilings.
  {
    name: "a manifest asking for 2^53-1 fuel",
    bytes: plain,
    manifest: { limits: { fuel: Number.MAX_SAFE_INTEGER } },
    tag: "LimitAboveCeiling"
  },
  {
    name: "a manifest asking for 65,536 memory pages (4 GiB)",
    bytes: plain,
    manifest: { limits: { memoryPages: 65_536 } },
    tag: "LimitAboveCeiling"
  },
  {
    name: "a manifest asking for an hour per call and a 1 GiB payload",
    bytes: plain,
    manifest: { limits: { timeoutMs: 3_600_000, maxPayloadBytes: 1_073_741_824 } },
    tag: "LimitAboveCeiling"
  },
  {
    name: "a hook claiming the host's source",
    bytes: plain,
    manifest: hooksOf({ ...contentHook, source: "core" }),
    tag: "ManifestInvalid"
  },
  {
    name: "a hook name forging a line of output",
    bytes: plain,
    manifest: hooksOf({ name: "the_content\nPASS  all", kind: "filter" }),
    tag: "ManifestInvalid"
  },
  {
    name: "a hook name with NUL",
    bytes: plain,
    manifest: hooksOf({ name: "a\u0000b", kind: "filter" }),
    tag: "ManifestInvalid"
  },
  {
    name: "a hook name with a lone surrogate",
    bytes: plain,
    manifest: hooksOf({ name: "the_content\ud83d", kind: "filter" }),
    tag: "ManifestInvalid"
  },
  {
    name: "a hook listed three times",
    bytes: plain,
    manifest: hooksOf(contentHook, contentHook, contentHook),
    tag: "ManifestInvalid"
  },
  {
    name: "capabilities that hide an import",
    bytes: compileWat(abiModule({ imports: time })),
    manifest: { capabilities: ["gn_log"] },
    tag: "ManifestInvalid"
  },
  {
    name: "an unknown field (once: \"yes\") on a manifest hook",
    bytes: plain,
    manifest: hooksOf({ ...contentHook, once: "yes" }),
    tag: "ManifestInvalid"
  },
  // Under a policy: priorities bounded, host sources out of reach, names looked up as own keys.
  {
    name: "priority 1e308 under a policy bounding priorities",
    bytes: plain,
    manifest: hooksOf({ ...contentHook, priority: 1e308 }),
    policy: boundedPolicy,
    tag: "CapabilityDenied"
  },
  {
    name: "ordering itself after the host's sanitizer",
    bytes: plain,
    manifest: hooksOf({ ...contentHook, after: ["core:sanitize"] }),
    policy: boundedPolicy,
    tag: "CapabilityDenied"
  },
  {
    name: "a plugin named constructor that the policy does not list",
    bytes: plain,
    manifest: { name: "constructor" },
    policy: { allowHooks: { good: ["the_content"] }, allowImports: {} },
    tag: "CapabilityDenied"
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
        // Reloaded with unchanged hooks, it stays registered (it used to be silently unregistered) and still runs.
        yield* Plugin.reload(handle, { bytes: yield* compileWat(chaos.wat), manifest: manifest("chaos", 10) })
        assert.strictEqual((yield* hooks.handlers(Content)).length, 2)
        assert.strictEqual(handle.registrations.length, 1)
        yield* TestClock.setTime(101)
        const reloaded = yield* hooks.applyFiltersResult(Content, "reloaded")
        assert.deepStrictEqual(
          [reloaded.value, reloaded.skipped.map((s) => (s.error as { _tag: string })._tag)],
          ["RELOADED", [chaos.tag]]
        )
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
        const load = Plugin.fromBytes(yield* chaos.bytes, { ...manifest("chaos", 10), ...chaos.manifest })
        const error = yield* Effect.flip(
          chaos.policy === undefined ? load : load.pipe(Effect.provide(PluginPolicy.layer(chaos.policy)))
        )
        assert.strictEqual(error._tag, chaos.tag)
        assert.deepStrictEqual((yield* hooks.handlers(Content)).map((h) => h.source), ["plugin:good"])
        assert.strictEqual(yield* hooks.applyFilters(Content, "ok"), "OK")
      }).pipe(Effect.provide(bus())))
  }

  it("the zoo covers every misbehaviour the reliability and sandbox issues list", () => {
    assert.strictEqual(callZoo.length + loadZoo.length + folderZoo.length + lookalikes.length, 50)
  })
})

/** A plugin folder that breaks a file rule: what `files` puts in `dir` (the folder's parent is free to use). */
interface FolderChaos {
  readonly name: string
  readonly files: (dir: string, bytes: Uint8Array) => void
  readonly rule: "outside_folder" | "not_regular_file" | "too_large"
  readonly options?: Plugin.PluginOptions
}

const writeManifest = (dir: string) =>
  writeFileSync(join(dir, "plugin.json"), JSON.stringify({ ...manifest("chaos", 10), wasm: { path: "plugin.wasm" } }))

const folderZoo: ReadonlyArray<FolderChaos> = [
  {
    name: "a module symlinked outside the folder",
    files: (dir, bytes) => {
      writeFileSync(join(dir, "..", "outside.wasm"), bytes)
      symlinkSync(join(dir, "..", "outside.wasm"), join(dir, "plugin.wasm"))
      writeManifest(dir)
    },
    rule: "outside_folder"
  },
  {
    name: "a FIFO as the module (reading it would block forever)",
    files: (dir) => {
      writeManifest(dir)
      execFileSync("mkfifo", [join(dir, "plugin.wasm")])
    },
    rule: "not_regular_file"
  },
  {
    name: "a FIFO as the manifest",
    files: (dir) => execFileSync("mkfifo", [join(dir, "plugin.json")]),
    rule: "not_regular_file"
  },
  {
    name: "a module linked to /dev/zero (it would grow memory without end)",
    files: (dir) => {
      writeManifest(dir)
      symlinkSync("/dev/zero", join(dir, "plugin.wasm"))
    },
    rule: "outside_folder"
  },
  {
    name: "a module over limits.maxModuleBytes",
    files: (dir, bytes) => {
      writeManifest(dir)
      writeFileSync(join(dir, "plugin.wasm"), new Uint8Array([...bytes, ...new Uint8Array(65_536)]))
    },
    rule: "too_large",
    options: { limits: { maxModuleBytes: 32_768 } }
  },
  {
    name: "a manifest over files.maxManifestBytes",
    files: (dir, bytes) => {
      writeFileSync(join(dir, "plugin.wasm"), bytes)
      writeFileSync(join(dir, "plugin.json"), JSON.stringify({ ...manifest("chaos", 10), pad: " ".repeat(4_096) }))
    },
    rule: "too_large",
    options: { files: { maxManifestBytes: 1_024 } }
  }
]

describe("chaos plugin folders", () => {
  for (const chaos of folderZoo) {
    it.effect(`${chaos.name}: PluginFileRejected (${chaos.rule}); nothing registered; the chain keeps serving`, () =>
      Effect.gen(function*() {
        const hooks = yield* HookBus
        const good = yield* fixture("abi-fixture.wat")
        yield* Plugin.fromBytes(good, manifest("good", 20))
        const root = mkdtempSync(join(tmpdir(), "hookbus-chaos-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(root, { recursive: true, force: true })))
        const dir = join(root, "plugin")
        mkdirSync(dir)
        chaos.files(dir, yield* compileWat(abiModule()))
        const error = yield* Effect.flip(Plugin.load(dir, chaos.options).pipe(Effect.provide(Files)))
        assert.deepStrictEqual([error._tag, (error as { rule?: string }).rule], ["PluginFileRejected", chaos.rule])
        assert.deepStrictEqual((yield* hooks.handlers(Content)).map((h) => h.source), ["plugin:good"])
        assert.strictEqual(yield* hooks.applyFilters(Content, "ok"), "OK")
      }).pipe(Effect.provide(bus())))
  }
})

const Anything = Hook.filter<unknown>("the_content")

/** Result values that look like Effect values: they are the guest's data, nothing more. */
const lookalikes: ReadonlyArray<unknown> = [
  { "~effect/Exit": "~effect/Exit", _tag: "Failure", cause: "forged" },
  { "~effect/Exit": "~effect/Exit", _tag: "Success", value: "forged" },
  { "~effect/Effect": {}, _tag: "Success", value: 1 },
  { "~effect/Effect": "~effect/Effect", "~effect/Exit": "~effect/Exit", _tag: "Failure", cause: { reasons: [] } }
]

describe("chaos results that look like Effects", () => {
  for (const value of lookalikes) {
    it.effect(`a guest value ${JSON.stringify(value)} is a plain value for the next handler`, () =>
      Effect.gen(function*() {
        const hooks = yield* HookBus
        const body = JSON.stringify({ value })
        yield* Plugin.fromBytes(yield* compileWat(abiModule({ data: body, handle: packed(1024, body.length) })), {
          ...manifest("forger", 10)
        })
        let seen: unknown
        yield* hooks.addFilter(Anything, (v) =>
          Effect.sync(() => {
            seen = v
            return v
          }), { priority: 20 })
        assert.deepStrictEqual(yield* hooks.applyFilters(Anything, "x"), value)
        assert.deepStrictEqual(seen, value)
      }).pipe(Effect.provide(bus())))
  }
})

describe("loading a large module with fuel on (issue 13 item 13)", () => {
  /** Unsigned and signed LEB128. */
  const u32 = (n: number): Array<number> => {
    const out: Array<number> = []
    do {
      const b = n & 0x7f
      n >>>= 7
      out.push(n === 0 ? b : b | 0x80)
    } while (n !== 0)
    return out
  }
  const s32 = (n: number): Array<number> => {
    const out: Array<number> = []
    for (;;) {
      const b = n & 0x7f
      n >>= 7
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b]
      out.push(b | 0x80)
    }
  }
  const section = (id: number, body: ReadonlyArray<number>) => [id, ...u32(body.length), ...body]
  const text = (s: string) => [...u32(s.length), ...new TextEncoder().encode(s)]

  /**
   * An ABI module of `functions` extra functions, each a few branches (about 60 bytes, so 40,000 make 2.6 MiB),
   * written byte by byte: the WAT compiler would take longer than the test. `seed` makes the bytes (and so the
   * instrumentation cache's key) unique.
   */
  const largeModule = (functions: number, seed: number): Uint8Array<ArrayBuffer> => {
    // (if (result i32) (local.get 0) (then (i32.add (local.get 0) (i32.const k))) (else (i32.const 1)))
    const branch = (k: number) => [0x20, 0, 0x04, 0x7f, 0x20, 0, 0x41, ...s32(k), 0x6a, 0x05, 0x41, 1, 0x0b]
    const body = (code: ReadonlyArray<number>) => [...u32(code.length + 2), 0, ...code, 0x0b]
    const bodies: Array<number> = []
    for (let i = 0; i < functions; i++) {
      bodies.push(...body([...branch(i), ...branch(seed), 0x6a, ...branch(i + 1), 0x6a, ...branch(i + 2), 0x6a]))
    }
    const types = [3, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7e]
    const funcs = [...u32(functions + 3), 0, 1, 2, ...new Array<number>(functions).fill(0)]
    const exports = [
      4,
      ...text("memory"),
      2,
      0,
      ...text("gn_alloc"),
      0,
      0,
      ...text("gn_free"),
      0,
      1,
      ...text("gn_handle_hook"),
      0,
      2
    ]
    const code = [...u32(functions + 3), ...body([0x41, ...s32(4096)]), ...body([]), ...body([0x42, 0])]
    const head = [
      ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
      ...section(1, types),
      ...section(3, funcs),
      ...section(5, [1, 0, 1]),
      ...section(7, exports),
      10,
      ...u32(code.length + bodies.length),
      ...code
    ]
    const out = new Uint8Array(head.length + bodies.length)
    out.set(head)
    out.set(bodies, head.length)
    return out
  }

  /** Counts event loop turns (setImmediate callbacks) while `effect` runs. */
  const countingTurns = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      let turns = 0
      let running = true
      const turn = () => {
        turns++
        if (running) setImmediate(turn)
      }
      setImmediate(turn)
      const result = yield* effect.pipe(Effect.ensuring(Effect.sync(() => running = false)))
      return { result, turns }
    })

  // On the project's 2-core machine the instrumentation of this module takes 150-300 ms, in slices of about 8 ms:
  // 15 to 30 turns of the event loop. A pass that ran on the main thread in one go would let none through, since
  // no setImmediate callback runs while synchronous code does; 3 turns leave room for a machine five times faster.
  it.live("the event loop keeps turning while Fuel.instrument rewrites 40,000 functions", () =>
    Effect.gen(function*() {
      const bytes = largeModule(40_000, 1)
      const { result, turns } = yield* countingTurns(Effect.promise(() => Fuel.instrument(bytes)))
      assert.isAbove(result.length, bytes.length, "instrumented")
      assert.isAtLeast(turns, 3)
    }))

  // The whole load (validation and compilation included), as the host meets it: the module is metered, and the
  // event loop turned during the load. (The compile is asynchronous, so this alone could not tell a main-thread
  // instrumentation apart: the test above does.)
  it.live("a 40,000-function module loads with fuel on and runs metered; the event loop turns during the load", () =>
    Effect.gen(function*() {
      const bytes = largeModule(40_000, 2)
      const { result, turns } = yield* countingTurns(
        Effect.scoped(Effect.gen(function*() {
          const instance = yield* PluginInstance.make(bytes, { name: "large" })
          const outcome = yield* instance.callFilter("h", 1)
          return { outcome, fuel: (yield* instance.status).lastFuelUsed }
        }))
      )
      assert.deepStrictEqual(result.outcome, { value: 1, shortCircuit: false })
      assert.isAbove(result.fuel ?? 0, 0, "the call was metered")
      assert.isAtLeast(turns, 3)
    }))
})
