/**
 * ABI v1.1 (issue 18 items 15 and 16, Extism parity): the manifest's `config` reaches the guest through
 * `gn_config_get`, and user-defined host functions (`HostFunction.make`) are called by the guest with JSON
 * arguments and results over the ABI's memory protocol, each granted by the policy, inline and in worker mode (where
 * the worker waits on a shared buffer while the host thread runs the function). Real modules, built from WAT.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Exit, Fiber, Layer, Ref, Schema } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type * as WorkerThreads from "node:worker_threads"
import { buildPlugin } from "../sdk/assemblyscript/build.js"
import { Hook, HookBus } from "../src/index.ts"
import { HostFunction, Plugin, PluginInstance, PluginPolicy, WasmBinary } from "../src/wasm/index.ts"
import * as WorkerExecutor from "../src/wasm/WorkerExecutor.ts"
import { abiModule, compileWat } from "./fixtures/wat.ts"
import { manifest } from "./helpers.ts"

const busLayer = () => Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))
const TheContent = Hook.filter<string>("the_content")

/**
 * Returns what `gn_config_get(<hook name>)` returns, as its own result: a config value that is a result body
 * (`{"value": ...}`) becomes the filter's value, an absent key (0, 0) leaves it unchanged.
 */
const configEcho = abiModule({
  imports: `(import "env" "gn_config_get" (func $config (param i32 i32) (result i64)))`,
  handle: `(call $config (local.get $np) (local.get $nl))`
})

/** Passes its payload to host function `name` and returns that function's result block as its own result. */
const hostEcho = (name: string) =>
  abiModule({
    imports: `(import "host" "${name}" (func $host (param i32 i32) (result i64)))`,
    handle: `(call $host (local.get $pp) (local.get $pl))`
  })

const Payload = Schema.Struct({
  kind: Schema.Literal("filter"),
  value: Schema.String,
  args: Schema.Array(Schema.Unknown)
})

const shout = HostFunction.make("shout", {
  args: Payload,
  result: Schema.String,
  run: ({ value }) => Effect.succeed(value.toUpperCase())
})

class Refused extends Schema.TaggedError<Refused>()("Refused", { reason: Schema.String }) {
  override get message() {
    return `refused: ${this.reason}`
  }
}

describe("gn_config_get: the manifest's config reaches the guest", () => {
  it.effect("a key's value comes back as JSON in a block of the guest's; an absent key is (0, 0)", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* Plugin.fromBytes(
        yield* compileWat(configEcho),
        manifest("configured", [{ name: "the_content", kind: "filter" }, { name: "the_title", kind: "filter" }], {
          config: { the_content: { value: "from config" }, other: 1 }
        })
      )
      assert.strictEqual(yield* bus.applyFilters(TheContent, "x"), "from config")
      assert.strictEqual(yield* bus.applyFilters(Hook.filter<string>("the_title"), "unchanged"), "unchanged")
    }).pipe(Effect.provide(busLayer())))

  it.effect("keys are own keys: constructor or __proto__ is absent unless the config has it", () =>
    Effect.gen(function*() {
      const bytes = yield* compileWat(configEcho)
      const empty = yield* PluginInstance.make(bytes, { name: "proto", config: {} })
      assert.strictEqual((yield* empty.callFilter("constructor", "kept")).value, "kept")
      assert.strictEqual((yield* empty.callFilter("__proto__", "kept")).value, "kept")
      const own = yield* PluginInstance.make(bytes, { name: "proto", config: { constructor: { value: "own" } } })
      assert.strictEqual((yield* own.callFilter("constructor", "x")).value, "own")
    }))

  it.live("worker mode reads the same config", () =>
    Effect.gen(function*() {
      const instance = yield* PluginInstance.make(yield* compileWat(configEcho), {
        name: "worker-config",
        execution: "worker",
        pool: { size: 1 },
        config: { the_content: { value: "in a worker" } }
      })
      assert.strictEqual((yield* instance.callFilter("the_content", "x")).value, "in a worker")
    }))

  it.effect("a config that is not a JSON object is ManifestInvalid; one with no JSON form is InvalidOptions", () =>
    Effect.gen(function*() {
      const bytes = yield* compileWat(configEcho)
      const error = yield* Effect.flip(Plugin.fromBytes(bytes, manifest("listy", [], { config: [1, 2] })))
      assert.strictEqual(error._tag, "ManifestInvalid")
      assert.match(error.message, /config/)
      const unencodable = yield* Effect.flip(PluginInstance.make(bytes, { config: { n: 10n } }))
      assert.strictEqual(unencodable._tag, "InvalidOptions")
      assert.match(unencodable.message, /config\.n: .*bigint/)
    }).pipe(Effect.provide(busLayer())))

  it.live(
    "the AssemblyScript SDK's configGet reads it (and a plugin that does not call it does not import it)",
    () =>
      Effect.gen(function*() {
        const root = mkdtempSync(join(tmpdir(), "hookbus-config-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(root, { recursive: true, force: true })))
        const dir = join(root, "greeter")
        mkdirSync(join(dir, "assembly"), { recursive: true })
        writeFileSync(
          join(dir, "assembly", "index.ts"),
          `import { configGet, filter, parse, Result, Value } from "@hookbus/assemblyscript"
export { gn_abi_version, gn_alloc, gn_free, gn_handle_hook } from "@hookbus/assemblyscript"
filter("the_content", (value: Value, args: Array<Value>): Result => {
  const greeting = configGet("greeting")
  const missing = configGet("missing")
  if (greeting === null || missing !== null) return Result.error("config not as expected", "E_CONFIG")
  const parsed = parse(greeting)
  if (parsed === null) return Result.error("config not JSON", "E_CONFIG")
  return Result.value(Value.string(parsed.asString() + ", " + value.asString()))
})
`
        )
        writeFileSync(
          join(dir, "plugin.json"),
          JSON.stringify(manifest("greeter", [{ name: "the_content", kind: "filter" }], {
            wasm: { path: "build/greeter.wasm" },
            capabilities: ["gn_panic", "gn_config_get"],
            config: { greeting: "Hello" }
          }))
        )
        const { wasm } = yield* Effect.promise(() => buildPlugin(dir, { force: true }))
        const importsOf = (path: string) => WasmBinary.read(readFileSync(path)).imports.map((i) => i.name)
        assert.include(importsOf(wasm), "gn_config_get")
        // An example built with the same SDK (by the test setup) that never calls configGet stays a v1 module.
        const example = fileURLToPath(new URL("../examples/plugins/slugify/build/slugify.wasm", import.meta.url))
        assert.notInclude(importsOf(example), "gn_config_get")
        const bus = yield* HookBus
        yield* Plugin.load(dir).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)))
        assert.strictEqual(yield* bus.applyFilters(TheContent, "world"), "Hello, world")
      }).pipe(Effect.provide(busLayer())),
    60_000
  )

  for (const language of ["c", "rust"] as const) {
    it.effect(`the ${language === "c" ? "C SDK's hb_config_get" : "Rust SDK's config_get"} reads it (test/fixtures/config-${language})`, () =>
      Effect.gen(function*() {
        const bus = yield* HookBus
        const fixture = fileURLToPath(new URL(`fixtures/config-${language}`, import.meta.url))
        yield* Plugin.load(fixture).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)))
        const Get = Hook.filter<unknown>("config.get")
        assert.strictEqual(yield* bus.applyFilters(Get, "greeting"), `"Hello"`)
        assert.strictEqual(yield* bus.applyFilters(Get, "limits"), `{"words":300}`)
        assert.isNull(yield* bus.applyFilters(Get, "missing"))
        // The examples, built with the same SDK, never call it and stay v1 modules.
        const example = language === "c" ? "c/slugify/build/slugify-c.wasm" : "rust/slugify/build/slugify-rust.wasm"
        const imports = WasmBinary.read(readFileSync(fileURLToPath(new URL(`../examples/${example}`, import.meta.url))))
          .imports.map((i) => i.name)
        assert.notInclude(imports, "gn_config_get")
      }).pipe(Effect.provide(busLayer())))
  }

  it.effect("with capabilities declared, gn_config_get must be among them", () =>
    Effect.gen(function*() {
      const bytes = yield* compileWat(configEcho)
      const error = yield* Effect.flip(
        Plugin.fromBytes(bytes, manifest("undeclared", [], { capabilities: ["gn_log"] }))
      )
      assert.match(error.message, /imports gn_config_get, not declared in capabilities/)
      yield* Plugin.fromBytes(bytes, manifest("declared", [], { capabilities: ["gn_config_get"] }))
    }).pipe(Effect.provide(busLayer())))
})

describe("the answer protocol's edge rows (docs/abi-v1.md section 8)", () => {
  const config = `(import "env" "gn_config_get" (func $config (param i32 i32) (result i64)))`

  it.effect("inside the start function there is no allocator yet: (0, -1)", () =>
    Effect.gen(function*() {
      const bytes = yield* compileWat(abiModule({
        imports: config,
        data: "h",
        fields: `(global $early (mut i64) (i64.const 0))
          (func $s (global.set $early (call $config (i32.const 1024) (i32.const 1)))) (start $s)`,
        handle: `(global.get $early)`
      }))
      const instance = yield* PluginInstance.make(bytes, { config: { h: 1 } })
      const error = yield* Effect.flip(instance.callFilter("h", "x"))
      assert.deepStrictEqual([error._tag, (error as { status?: number }).status], ["GuestError", -1])
    }))

  it.effect("a key outside memory is (0, -3); a gn_alloc giving no block is (0, -2)", () =>
    Effect.gen(function*() {
      const outside = yield* PluginInstance.make(
        yield* compileWat(abiModule({ imports: config, handle: `(call $config (i32.const 70000) (i32.const 4))` })),
        { config: { h: 1 } }
      )
      assert.strictEqual((yield* Effect.flip(outside.callFilter("h", "x")))._tag, "BadPayload")
      // The value "abcde" is 7 bytes of JSON: this allocator refuses exactly that size.
      const refusing = abiModule({ imports: config, handle: `(call $config (local.get $np) (local.get $nl))` })
        .replace(
          "(local.set $ptr (global.get $heap))",
          `(if (i32.eq (local.get $size) (i32.const 7)) (then (return (i32.const 0))))
          (local.set $ptr (global.get $heap))`
        )
      const full = yield* PluginInstance.make(yield* compileWat(refusing), { config: { h: "abcde" } })
      assert.strictEqual((yield* Effect.flip(full.callFilter("h", "x")))._tag, "GuestOutOfMemory")
    }))
})

/** The two execution modes, for the cases both must answer alike (worker tests run on the real clock). */
const modes = [
  { execution: "inline", test: it.effect, options: {} },
  { execution: "worker", test: it.live, options: { execution: "worker", pool: { size: 1 } } }
] as const

/** Busy-waits the calling thread for `ms` of wall-clock time (a host function that keeps the host thread busy). */
const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // spin
  }
}

/** `units` UTF-16 units of a, é and € in turn: 1, 2 and 3 bytes of UTF-8. */
const sizedText = (units: number) => Array.from({ length: units }, (_, i) => "aé€"[i % 3]).join("")
const sized = HostFunction.make("sized", {
  args: Payload,
  result: Schema.String,
  run: ({ value }) => Effect.succeed(sizedText(Number(value)))
})

for (const { execution, options, test } of modes) {
  describe(`host functions (${execution}): Schema-typed host services a plugin calls`, () => {
    test("the guest's JSON arguments are decoded, the result encoded and handed back as {\"value\": ...}", () =>
      Effect.gen(function*() {
        const bus = yield* HookBus
        yield* Plugin.fromBytes(
          yield* compileWat(hostEcho("shout")),
          manifest("shouter", [{ name: "the_content", kind: "filter" }]),
          { hostFunctions: [shout], ...options }
        )
        assert.strictEqual(yield* bus.applyFilters(TheContent, "hello"), "HELLO")
      }).pipe(Effect.provide(busLayer())))

    test("a host function keeps host state across calls (a Ref the host owns)", () =>
      Effect.gen(function*() {
        const counter = yield* Ref.make(0)
        const count = HostFunction.make("count", {
          args: Schema.Unknown,
          result: Schema.Number,
          run: () => Ref.updateAndGet(counter, (n) => n + 1)
        })
        const instance = yield* PluginInstance.make(yield* compileWat(hostEcho("count")), {
          hostFunctions: [count],
          ...options
        })
        for (const n of [1, 2, 3]) assert.strictEqual((yield* instance.callFilter("h", "x")).value, n)
        assert.strictEqual(yield* Ref.get(counter), 3)
      }))

    const failures: ReadonlyArray<readonly [string, HostFunction.HostFunction, string, RegExp]> = [
      [
        "a typed failure: its _tag is the code, its message the detail",
        HostFunction.make("fn", {
          args: Schema.Unknown,
          result: Schema.String,
          run: () => new Refused({ reason: "no" })
        }),
        "Refused",
        /refused: no/
      ],
      [
        "arguments that do not decode",
        HostFunction.make("fn", {
          args: Schema.Struct({ id: Schema.Number }),
          result: Schema.String,
          run: () => Effect.succeed("")
        }),
        "bad_args",
        /host function "fn":[\s\S]*id/
      ],
      [
        "an Effect that suspends (host functions run inside the guest's call)",
        HostFunction.make("fn", {
          args: Schema.Unknown,
          result: Schema.String,
          run: () => Effect.as(Effect.sleep("1 millis"), "late")
        }),
        "async",
        /did not complete synchronously/
      ],
      [
        "a defect",
        HostFunction.make("fn", {
          args: Schema.Unknown,
          result: Schema.String,
          run: () => Effect.die(new Error("boom"))
        }),
        "defect",
        /host function "fn" died: .*boom/
      ],
      [
        "a result that does not encode",
        HostFunction.make("fn", {
          args: Schema.Unknown,
          result: Schema.String,
          run: () => Effect.succeed(42 as unknown as string)
        }),
        "bad_result",
        /does not encode/
      ]
    ]
    for (const [what, fn, code, detail] of failures) {
      test(`${what}: the guest gets {"error": ...}, surfaced as GuestError code ${code}`, () =>
        Effect.gen(function*() {
          const instance = yield* PluginInstance.make(yield* compileWat(hostEcho("fn")), {
            name: "caller",
            hostFunctions: [fn],
            ...options
          })
          const error = yield* Effect.flip(instance.callFilter("the_content", "x"))
          assert.strictEqual(error._tag, "GuestError")
          if (error._tag !== "GuestError") return
          assert.strictEqual(error.code, code)
          assert.match(error.detail, detail)
          // The plugin keeps working.
          assert.strictEqual((yield* Effect.flip(instance.callFilter("the_content", "y")))._tag, "GuestError")
        }))
    }

    test("an answer of any length reaches the guest whole, across chunk boundaries and multibyte characters", () =>
      Effect.gen(function*() {
        // maxPayloadBytes 1024: worker mode's channel holds its minimum, 4 KiB, and longer answers cross in chunks.
        const instance = yield* PluginInstance.make(yield* compileWat(hostEcho("sized")), {
          hostFunctions: [sized],
          limits: { maxPayloadBytes: 1024 },
          ...options
        })
        // Around the sizes that fit the channel: the body is 12 units plus the text's, 1, 2 or 3 bytes each.
        for (const units of [0, 1, 1353, 1354, 2040, 2041, 2042, 2043, 2044, 4096, 30_000]) {
          assert.strictEqual((yield* instance.callFilter("h", String(units))).value, sizedText(units), `${units} units`)
        }
      }))

    test("an answer larger than the guest can take is (0, -2): GuestOutOfMemory, and the plugin keeps working", () =>
      Effect.gen(function*() {
        const huge = HostFunction.make("huge", {
          args: Payload,
          result: Schema.String,
          run: ({ value }) => Effect.succeed(value === "huge" ? "z".repeat(200_000) : value)
        })
        const instance = yield* PluginInstance.make(yield* compileWat(hostEcho("huge")), {
          hostFunctions: [huge],
          limits: { memoryPages: 2 },
          ...options
        })
        assert.strictEqual((yield* Effect.flip(instance.callFilter("h", "huge")))._tag, "GuestOutOfMemory")
        assert.strictEqual((yield* instance.callFilter("h", "small")).value, "small")
      }))

    test("a module importing a host function the host does not provide fails with UnknownImport naming it", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          PluginInstance.make(yield* compileWat(hostEcho("launch")), {
            name: "greedy",
            hostFunctions: [shout],
            ...options
          })
        )
        assert.strictEqual(error._tag, "UnknownImport")
        assert.match(
          error.message,
          /plugin "greedy".*host\.launch \(func\): no host function of that name is provided/
        )
      }))

    test("a host function imported with another type fails with UnknownImport giving both types", () =>
      Effect.gen(function*() {
        const bytes = yield* compileWat(abiModule({ imports: `(import "host" "shout" (func (param i32)))` }))
        const error = yield* Effect.flip(PluginInstance.make(bytes, { hostFunctions: [shout], ...options }))
        assert.match(error.message, /host\.shout: expected \(i32, i32\) -> i64, got \(i32\) -> \(\)/)
      }))

    test("under a PluginPolicy each host function must be granted: CapabilityDenied names plugin and function", () =>
      Effect.gen(function*() {
        const bus = yield* HookBus
        const bytes = yield* compileWat(hostEcho("shout"))
        const hooks = [{ name: "the_content", kind: "filter" }]
        const denied = yield* Effect.flip(
          Plugin.fromBytes(bytes, manifest("ungranted", hooks), { hostFunctions: [shout], ...options }).pipe(
            Effect.provide(PluginPolicy.layer({ allowHooks: { "*": ["the_content"] } }))
          )
        )
        assert.strictEqual(denied._tag, "CapabilityDenied")
        if (denied._tag !== "CapabilityDenied") return
        assert.deepStrictEqual(denied.hostFunctions, ["shout"])
        assert.strictEqual(denied.message, `plugin "ungranted": not allowed by the host policy: host functions shout`)
        assert.isFalse(yield* bus.has(TheContent))
        yield* Plugin.fromBytes(bytes, manifest("granted", hooks), { hostFunctions: [shout], ...options }).pipe(
          Effect.provide(
            PluginPolicy.layer({ allowHooks: { "*": ["the_content"] }, allowHostFunctions: { granted: ["shout"] } })
          )
        )
        assert.strictEqual(yield* bus.applyFilters(TheContent, "ok"), "OK")
      }).pipe(Effect.provide(busLayer())))

    test("a reload keeps the host functions given at load", () =>
      Effect.gen(function*() {
        const bus = yield* HookBus
        const bytes = yield* compileWat(hostEcho("shout"))
        const hooks = [{ name: "the_content", kind: "filter" }]
        const handle = yield* Plugin.fromBytes(bytes, manifest("reloaded", hooks), {
          hostFunctions: [shout],
          ...options
        })
        assert.strictEqual(yield* bus.applyFilters(TheContent, "one"), "ONE")
        yield* Plugin.reload(handle, { bytes, manifest: { ...manifest("reloaded", hooks), version: "2.0.0" } })
        assert.strictEqual(handle.version, "2.0.0")
        assert.strictEqual(yield* bus.applyFilters(TheContent, "two"), "TWO")
      }).pipe(Effect.provide(busLayer())))

    test("bad host function lists are InvalidOptions naming the entry", () =>
      Effect.gen(function*() {
        const bytes = yield* compileWat(abiModule())
        const cases: ReadonlyArray<readonly [ReadonlyArray<unknown>, RegExp]> = [
          [[shout, shout], /hostFunctions\[1\] repeats the name "shout"/],
          [
            [HostFunction.make("Bad-Name", { args: Schema.Unknown, result: Schema.Unknown, run: Effect.succeed })],
            /hostFunctions\[0\] is named "Bad-Name"/
          ],
          [[{ name: "forged", call: () => "" }], /hostFunctions\[0\] is not made by HostFunction\.make/]
        ]
        for (const [hostFunctions, message] of cases) {
          const error = yield* Effect.flip(
            PluginInstance.make(bytes, {
              hostFunctions: hostFunctions as ReadonlyArray<HostFunction.HostFunction>,
              ...options
            })
          )
          assert.strictEqual(error._tag, "InvalidOptions")
          assert.match(error.message, message)
        }
      }))
  })
}

describe("host functions in worker mode: the worker waits, the host thread runs them", () => {
  it.live("both modes put the same bytes in guest memory and charge the same fuel", () =>
    Effect.gen(function*() {
      const bytes = yield* compileWat(hostEcho("sized"))
      const used: Array<number | undefined> = []
      for (const { options } of modes) {
        const instance = yield* PluginInstance.make(bytes, { hostFunctions: [sized], ...options })
        assert.strictEqual((yield* instance.callFilter("h", "5000")).value, sizedText(5000))
        used.push((yield* instance.status).lastFuelUsed)
      }
      assert.isDefined(used[0])
      assert.strictEqual(used[1], used[0])
    }))

  it.live("a pool of 2 workers making host calls at once: each call gets its own answer", () =>
    Effect.gen(function*() {
      let calls = 0
      const tag = HostFunction.make("tag", {
        args: Payload,
        result: Schema.String,
        run: ({ value }) =>
          Effect.sync(() => {
            calls++
            return `${value}:${sizedText(value.length * 50)}`
          })
      })
      const instance = yield* PluginInstance.make(yield* compileWat(hostEcho("tag")), {
        hostFunctions: [tag],
        execution: "worker",
        pool: { size: 2 },
        limits: { maxPayloadBytes: 1024 }
      })
      const values = Array.from({ length: 40 }, (_, i) => `call-${i}`)
      const results = yield* Effect.forEach(values, (value) => instance.callFilter("h", value), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(
        results.map((r) => r.value),
        values.map((value) => `${value}:${sizedText(value.length * 50)}`)
      )
      assert.strictEqual(calls, 40)
      assert.strictEqual(yield* instance.instances, 2)
    }))

  it.live("a guest that keeps calling host functions past the timeout ends as Timeout; a fresh worker serves", () =>
    Effect.gen(function*() {
      // Hook "spin" (4 bytes) calls the host function forever; any other hook calls it once and returns its block.
      const bytes = yield* compileWat(abiModule({
        imports: `(import "host" "shout" (func $host (param i32 i32) (result i64)))`,
        handle: `(if (i32.eq (local.get $nl) (i32.const 4))
            (then (loop $again (drop (call $host (local.get $pp) (local.get $pl))) (br $again))))
          (call $host (local.get $pp) (local.get $pl))`
      }))
      const instance = yield* PluginInstance.make(bytes, {
        hostFunctions: [shout],
        execution: "worker",
        fuel: false,
        pool: { size: 1 },
        limits: { timeoutMs: 300 }
      })
      const error = yield* Effect.flip(instance.callFilter("spin", "x"))
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual(yield* instance.instances, 2)
      assert.strictEqual((yield* instance.callFilter("the_content", "after")).value, "AFTER")
    }))

  it.live("a host function that keeps the host thread busy past the timeout: Timeout, the worker replaced", () =>
    Effect.gen(function*() {
      const slow = HostFunction.make("slow", {
        args: Payload,
        result: Schema.String,
        run: ({ value }) =>
          Effect.sync(() => {
            // Past the call's deadline: the worker gets no answer, whatever the order the host thread sees events in.
            if (value === "stall") busy(600)
            return value
          })
      })
      const instance = yield* PluginInstance.make(yield* compileWat(hostEcho("slow")), {
        hostFunctions: [slow],
        execution: "worker",
        pool: { size: 1 },
        limits: { timeoutMs: 200 }
      })
      const error = yield* Effect.flip(instance.callFilter("h", "stall"))
      assert.strictEqual(error._tag, "Timeout")
      if (error._tag === "Timeout") assert.strictEqual(error.timeoutMs, 200)
      assert.strictEqual(yield* instance.instances, 2)
      assert.strictEqual((yield* instance.callFilter("h", "quick")).value, "quick")
    }))

  it.live("a host call that finishes past the call's deadline gets no answer: the call ends as Timeout", () =>
    Effect.gen(function*() {
      // A clock the test moves: its sleeps (the call's timeout) end only when the test releases them.
      let now = 0
      let released = Deferred.makeUnsafe<void>()
      const release = () => {
        const sleeping = released
        released = Deferred.makeUnsafe<void>()
        Deferred.doneUnsafe(sleeping, Exit.void)
      }
      const clock: Clock.Clock = {
        currentTimeMillisUnsafe: () => now,
        currentTimeMillis: Effect.sync(() => now),
        currentTimeNanosUnsafe: () => BigInt(now) * 1_000_000n,
        currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
        monotonicTimeNanosUnsafe: () => BigInt(now) * 1_000_000n,
        monotonicTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
        sleep: () => Effect.suspend(() => Deferred.await(released))
      }
      const ran = Deferred.makeUnsafe<void>()
      const functions = new Map([["late", (input: string) => {
        if (input.includes("late")) {
          now += 10_000
          Deferred.doneUnsafe(ran, Exit.void)
        }
        return `{"value":"answered"}`
      }]])
      const bytes = yield* compileWat(hostEcho("late"))
      const module = yield* Effect.promise(() => WebAssembly.compile(bytes))
      const executor = yield* WorkerExecutor.workers(
        {
          plugin: "late",
          module,
          limits: { maxPayloadBytes: 1 << 20, maxResultBytes: 1 << 20, fuel: undefined },
          functions
        },
        1,
        1000
      ).pipe(Effect.provideService(Clock.Clock, clock))
      const call = (value: string) =>
        executor.call("hook", `{"kind":"filter","value":"${value}","args":[]}`).pipe(
          Effect.provideService(Clock.Clock, clock)
        )
      const late = yield* Effect.forkChild(call("late"))
      yield* Deferred.await(ran)
      // Had the worker been answered, its result would be back long before this.
      yield* Effect.sleep("300 millis")
      assert.isUndefined(late.pollUnsafe(), "the worker got no answer")
      release()
      const timedOut = (yield* Fiber.join(late)).result
      assert.strictEqual(timedOut._tag === "Err" ? timedOut.error._tag : timedOut._tag, "Timeout")
      // A fresh worker took the slot, and a call within its time is answered.
      assert.deepStrictEqual((yield* call("quick")).result, {
        _tag: "Ok",
        body: { value: "answered" },
        fuelUsed: undefined
      })
      assert.strictEqual(executor.instances(), 2)
    }))

  it.live("a worker that exits while its guest waits for a host function fails the call with Trapped; replaced", () =>
    Effect.gen(function*() {
      const threads: Array<WorkerThreads.Worker> = []
      const bytes = yield* compileWat(hostEcho("exit"))
      const module = yield* Effect.promise(() => WebAssembly.compile(bytes))
      const functions = new Map([["exit", (input: string) => {
        if (input.includes("exit")) {
          void threads.at(-1)!.terminate()
          // Long enough for the thread to be gone before the answer is written.
          busy(200)
        }
        return `{"value":"answered"}`
      }]])
      const executor = yield* WorkerExecutor.workers(
        {
          plugin: "exiting",
          module,
          limits: { maxPayloadBytes: 1 << 20, maxResultBytes: 1 << 20, fuel: undefined },
          functions
        },
        1,
        30_000,
        (thread) => threads.push(thread)
      )
      const crashed = (yield* executor.call("hook", `{"kind":"filter","value":"exit","args":[]}`)).result
      assert.strictEqual(crashed._tag, "Err")
      if (crashed._tag === "Err") {
        assert.strictEqual(crashed.error._tag, "Trapped")
        assert.strictEqual((crashed.error as { hook: string }).hook, "hook")
      }
      const next = (yield* executor.call("hook", `{"kind":"filter","value":"stay","args":[]}`)).result
      assert.deepStrictEqual(next, { _tag: "Ok", body: { value: "answered" }, fuelUsed: undefined })
      assert.strictEqual(executor.instances(), 2)
    }))
})
