/**
 * ABI v1, row by row (docs/abi-v1.md): module shape, one call, payloads, packed results, result bodies, traps.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { Abi, InvalidOptions, type PluginCallError, type PluginLoadError } from "../src/wasm/index.ts"
import { PluginInstance, WasmDispatcher } from "../src/wasm/index.ts"
import { abiModule, compileWat, fixture, packed, returningBody } from "./fixtures/wat.ts"
import { captureLogs, type LogEntry } from "./helpers.ts"

const load = (wat: string, options?: PluginInstance.PluginInstanceOptions) =>
  Effect.flatMap(compileWat(wat), (bytes) => PluginInstance.make(bytes, { name: "fx", ...options }))

const loadError = (wat: string, options?: PluginInstance.PluginInstanceOptions) =>
  Effect.flip(load(wat, options)) as Effect.Effect<PluginLoadError>

const gonext = Effect.flatMap(fixture("abi-fixture.wat"), (bytes) => PluginInstance.make(bytes, { name: "gonext" }))

/** The error a filter call fails with. */
const filterError = (d: PluginInstance.PluginInstance, hook = "h", value: unknown = "v") =>
  Effect.flip(d.callFilter(hook, value)) as Effect.Effect<PluginCallError>

describe("1. module shape", () => {
  it.effect("missing exports are named", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.flatMap(fixture("no-abi.wat"), (b) => PluginInstance.make(b, { name: "n" }))
      )
      assert.strictEqual(error._tag, "MissingExport")
      if (error._tag === "MissingExport") {
        assert.deepStrictEqual(error.exports, [
          "memory (missing)",
          "gn_alloc (missing)",
          "gn_free (missing)",
          "gn_handle_hook (missing)"
        ])
        assert.strictEqual(error.plugin, "n")
      }
    }))

  it.effect("mistyped exports are named with the expected and actual signatures", () =>
    Effect.gen(function*() {
      const error = yield* loadError(abiModule({
        allocator: `(func (export "gn_alloc") (param i64) (result i32) (i32.const 0))
                    (func (export "gn_free") (param i32) )`
      }))
      assert.strictEqual(error._tag, "MissingExport")
      assert.include(error.message, "gn_alloc: expected (i32) -> i32, got (i64) -> i32")
      assert.include(error.message, "gn_free: expected (i32, i32) -> (), got (i32) -> ()")
      const memoryAsGlobal = yield* loadError(`(module (global (export "memory") i32 (i32.const 0))
        (func (export "gn_alloc") (param i32) (result i32) (i32.const 0)) (func (export "gn_free") (param i32 i32))
        (func (export "gn_handle_hook") (param i32 i32 i32 i32) (result i64) (i64.const 0)))`)
      assert.include(memoryAsGlobal.message, "memory: expected a memory, got a global")
    }))

  it.effect("imports other than the ABI's are named; so are ungranted WASI imports and a mistyped ABI import", () =>
    Effect.gen(function*() {
      const unknown = yield* loadError(abiModule({
        imports: `(import "env" "fetch" (func (param i32))) (import "other" "thing" (func))`
      }))
      assert.strictEqual(unknown._tag, "UnknownImport")
      if (unknown._tag === "UnknownImport") {
        assert.deepStrictEqual(unknown.imports, ["env.fetch (func)", "other.thing (func)"])
      }
      const wasi = yield* loadError(abiModule({
        imports:
          `(import "env" "fetch" (func (param i32))) (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))`
      }))
      assert.strictEqual(wasi._tag, "WasiNotGranted")
      if (wasi._tag === "WasiNotGranted") {
        assert.deepStrictEqual(wasi.imports, ["wasi_snapshot_preview1.fd_write (the manifest has no \"wasi\" field)"])
      }
      const mistyped = yield* loadError(abiModule({ imports: `(import "env" "gn_log" (func (param i32 i32)))` }))
      assert.include(mistyped.message, "env.gn_log: expected (i32, i32, i32) -> (), got (i32, i32) -> ()")
    }))

  it.effect("gn_abi_version other than 1 is rejected; 1 or absent is accepted", () =>
    Effect.gen(function*() {
      const error = yield* loadError(
        abiModule({ fields: `(func (export "gn_abi_version") (result i32) (i32.const 2))` })
      )
      assert.strictEqual(error._tag, "AbiVersionMismatch")
      yield* load(abiModule({ fields: `(func (export "gn_abi_version") (result i32) (i32.const 1))` }))
      yield* load(abiModule())
    }))

  it.effect("bytes that are not wasm, and a start function that traps, fail to load with typed errors", () =>
    Effect.gen(function*() {
      const notWasm = yield* Effect.flip(PluginInstance.make(new TextEncoder().encode("hello, world"), { name: "x" }))
      assert.strictEqual(notWasm._tag, "InvalidModule")
      assert.include(notWasm.message, "bad magic number")
      const start = yield* loadError(abiModule({ fields: `(func $boom unreachable) (start $boom)` }))
      assert.strictEqual(start._tag, "Trapped")
      if (start._tag === "Trapped") assert.deepStrictEqual([start.hook, start.kind], ["(start)", "unreachable"])
    }))
})

describe("2. one call", () => {
  it.effect("the host frees the name and payload blocks as well as the result (nothing leaks)", () =>
    Effect.gen(function*() {
      const d = yield* gonext
      for (let i = 0; i < 20; i++) {
        assert.strictEqual((yield* d.callFilter("the_content", `post ${i}`)).value, `POST ${i}`)
      }
      // At the start of a call only its own name and payload blocks are live.
      assert.strictEqual((yield* d.callFilter("live", null)).value, 2)
    }))

  it.effect("gn_alloc returning 0 is GuestOutOfMemory", () =>
    Effect.gen(function*() {
      const d = yield* gonext
      yield* d.callAction("set_oom")
      const error = yield* filterError(d, "the_content")
      assert.deepStrictEqual([error._tag, error.plugin, (error as { hook: string }).hook], [
        "GuestOutOfMemory",
        "gonext",
        "the_content"
      ])
    }))

  it.effect("gn_alloc returning a block outside memory is BadResult", () =>
    Effect.gen(function*() {
      const d = yield* load(abiModule({
        allocator:
          `(func (export "gn_alloc") (param i32) (result i32) (i32.const 65530)) (func (export "gn_free") (param i32 i32))`
      }))
      const error = yield* filterError(d)
      assert.strictEqual(error._tag, "BadResult")
      assert.include(error.message, "outside memory")
    }))

  it.effect("memory views are re-read after the call: a body in memory grown during the call is read", () =>
    Effect.gen(function*() {
      const d = yield* load(abiModule({
        data: `{"value":"grown"}`,
        handle: `(drop (memory.grow (i32.const 1)))
                 (memory.copy (i32.const 65600) (i32.const 1024) (i32.const 17))
                 ${packed(65600, 17)}`
      }))
      assert.strictEqual((yield* d.callFilter("h", "x")).value, "grown")
    }))

  it.effect("100 fibers invoking one plugin concurrently each get their own result", () =>
    Effect.gen(function*() {
      const d = yield* gonext
      const inputs = Array.from({ length: 100 }, (_, i) => `fiber ${i} says hi`)
      const outputs = yield* Effect.forEach(
        inputs,
        (text) => Effect.andThen(Effect.yieldNow, Effect.map(d.callFilter("the_content", text), (r) => r.value)),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(outputs, inputs.map((s) => s.toUpperCase()))
    }))
})

describe("3. payloads", () => {
  // Echoes the whole payload back as the filter value, so the envelope can be read exactly.
  const echo = abiModule({
    data: `{"value":`,
    handle: `(local $out i32)
      (local.set $out (call $alloc (i32.add (local.get $pl) (i32.const 10))))
      (memory.copy (local.get $out) (i32.const 1024) (i32.const 9))
      (memory.copy (i32.add (local.get $out) (i32.const 9)) (local.get $pp) (local.get $pl))
      (i32.store8 (i32.add (local.get $out) (i32.add (local.get $pl) (i32.const 9))) (i32.const 125))
      ${
      packed(0, 0).replace("(i64.const 0)", "(i64.extend_i32_u (local.get $out))").replace(
        "(i32.const 0)",
        "(i32.add (local.get $pl) (i32.const 10))"
      )
    }`
  })

  it.effect("action and filter envelopes are exact; a missing value is null", () =>
    Effect.gen(function*() {
      const d = yield* load(echo)
      const envelope = (value: unknown, args?: ReadonlyArray<unknown>) =>
        Effect.map(d.callFilter("h", value, args), (r) => JSON.stringify(r.value))
      assert.strictEqual(
        yield* envelope("é\n", [1, { a: null }]),
        `{"kind":"filter","value":"é\\n","args":[1,{"a":null}]}`
      )
      assert.strictEqual(yield* envelope(undefined), `{"kind":"filter","value":null,"args":[]}`)
      assert.strictEqual(
        yield* envelope({ n: 1.5, list: [true] }),
        `{"kind":"filter","value":{"n":1.5,"list":[true]},"args":[]}`
      )
    }))

  it.effect("values with no JSON form fail before the guest runs", () =>
    Effect.gen(function*() {
      const d = yield* load(abiModule({ handle: "unreachable" }))
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      for (const value of [() => 1, cyclic, 10n, { nested: Symbol("s") }, Number.NaN]) {
        const error = yield* filterError(d, "h", value)
        assert.strictEqual(error._tag, "UnencodableValue", String(value))
      }
      const actionError = yield* Effect.flip(d.callAction("h", [1n]))
      assert.strictEqual(actionError._tag, "UnencodableValue")
      assert.strictEqual(yield* d.instances, 1, "the guest never ran, so never trapped")
    }))

  it.effect("a payload over the cap fails with PayloadTooLarge before any guest call", () =>
    Effect.gen(function*() {
      const d = yield* load(abiModule({ handle: "unreachable" }), { limits: { maxPayloadBytes: 64 } })
      const error = yield* filterError(d, "h", "x".repeat(100))
      assert.strictEqual(error._tag, "PayloadTooLarge")
      if (error._tag === "PayloadTooLarge") assert.deepStrictEqual([error.size, error.limit], [138, 64])
      const defaultCap = yield* load(abiModule({ handle: "unreachable" }))
      const big = yield* filterError(defaultCap, "h", "x".repeat(1_048_576))
      assert.strictEqual(big._tag, "PayloadTooLarge")
    }))

  it.effect("the cap counts UTF-8 bytes, whether the payload is encoded in guest memory or before", () =>
    Effect.gen(function*() {
      const bytesOf = (value: string) =>
        new TextEncoder().encode(JSON.stringify({ kind: "filter", value, args: [] })).length
      // Small: encoded straight into guest memory, then measured.
      const small = yield* load(abiModule({ handle: "unreachable" }), { limits: { maxPayloadBytes: 64 } })
      const over = yield* filterError(small, "h", "é".repeat(20))
      assert.strictEqual(over._tag, "PayloadTooLarge")
      if (over._tag === "PayloadTooLarge") assert.strictEqual(over.size, bytesOf("é".repeat(20)))
      assert.strictEqual((yield* filterError(small, "h", "é".repeat(10)))._tag, "Trapped", "under the cap: it ran")
      // Large: encoded first (fewer units than the cap, more bytes).
      const large = yield* load(abiModule({ handle: "unreachable" }))
      const tooMany = yield* filterError(large, "h", "é".repeat(600_000))
      assert.strictEqual(tooMany._tag, "PayloadTooLarge")
      if (tooMany._tag === "PayloadTooLarge") assert.strictEqual(tooMany.size, bytesOf("é".repeat(600_000)))
      assert.strictEqual((yield* filterError(large, "h", "é".repeat(500_000)))._tag, "Trapped")
    }))
})

describe("result bodies and numbers", () => {
  const body = (text: string) => Abi.parseBody("p", "h", new TextEncoder().encode(text))

  it("a number is refused exactly when it parses as not finite, wherever it is", () => {
    const numberText = fc.oneof(
      fc.tuple(fc.integer({ min: -9, max: 9 }), fc.constantFrom("e", "E", "e+", "E-", "e-"), fc.nat(420)).map((
        [m, e, x]
      ) => `${m}${e}${x}`),
      fc.tuple(fc.nat(9), fc.nat(400)).map(([d, n]) => `${d + 1}${"0".repeat(n)}`),
      fc.tuple(fc.nat(99), fc.nat(400)).map(([d, n]) => `0.${"0".repeat(n)}${d}e${n}`),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String)
    )
    fc.assert(
      fc.property(numberText, fc.constantFrom("value", "true", "e1"), (n, key) => {
        const text = `{"${key}":true,"list":[false,${n},"1e999"],"nested":{"x":${n}}}`
        const result = body(text)
        if (Number.isFinite(Number(n))) assert.notInstanceOf(result, Error, text)
        else {
          assert.instanceOf(result, Error, text)
          assert.include((result as Error).message, "not finite")
        }
      }),
      { numRuns: 500 }
    )
  })
})

describe("result bodies and nesting", () => {
  const body = (text: string) => Abi.parseBody("p", "h", new TextEncoder().encode(text))
  const depthOf = (value: unknown): number =>
    typeof value === "object" && value !== null
      ? 1 + Math.max(0, ...Object.values(value).map(depthOf))
      : 0

  it("a body is refused exactly when it nests past the bound, whatever brackets its strings hold", () => {
    // Bodies with few brackets skip the byte scan; strings full of brackets and deep nesting take it.
    const nest = (depth: number, open: ReadonlyArray<"[" | "{">, inner: string) => {
      let text = inner
      for (let i = depth - 1; i >= 0; i--) text = open[i % open.length] === "[" ? `[${text}]` : `{"k":${text}}`
      return text
    }
    const noise = fc.array(fc.constantFrom("[", "{", "]", "}", "\\\"", "e", "x", "1"), { maxLength: 300 })
      .map((parts) => JSON.stringify(parts.join("")))
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 140 }),
        fc.array(fc.constantFrom("[" as const, "{" as const), { minLength: 1, maxLength: 3 }),
        noise,
        (depth, open, inner) => {
          const text = `{"value":${nest(depth, open, inner)},"note":${inner}}`
          const expected = depthOf(JSON.parse(text))
          const result = body(text)
          if (expected > Abi.maxJsonDepth) {
            assert.instanceOf(result, Error, text)
            assert.include((result as Error).message, "nests deeper")
          } else assert.deepStrictEqual(result, JSON.parse(text))
        }
      ),
      { numRuns: 400 }
    )
  })

  it("a body both too deep and not UTF-8 is refused as too deep; one only not UTF-8, as not UTF-8", () => {
    const invalid = (text: string) => {
      const bytes = new TextEncoder().encode(text)
      bytes[bytes.indexOf(0x78)] = 0xff // the "x"
      return Abi.parseBody("p", "h", bytes)
    }
    const deep = `${"[".repeat(Abi.maxJsonDepth + 1)}"x"${"]".repeat(Abi.maxJsonDepth + 1)}`
    assert.include((invalid(`{"value":${deep}}`) as Error).message, "nests deeper")
    assert.include((invalid(`{"value":"x"}`) as Error).message, "not valid UTF-8")
  })
})

describe("4. packed results", () => {
  it.effect("(0, 0): success with no body; a filter's value is unchanged", () =>
    Effect.gen(function*() {
      const d = yield* load(abiModule())
      const value = { keep: "me" }
      const result = yield* d.callFilter("h", value)
      assert.strictEqual(result.value, value)
      assert.isFalse(result.shortCircuit)
      yield* d.callAction("h", [1])
    }))

  const statuses: ReadonlyArray<readonly [number, string, string?]> = [
    [-1, "GuestError", "status -1"],
    [-2, "GuestOutOfMemory"],
    [-3, "BadPayload", "rejected the payload"],
    [-4, "UnknownHook"],
    [-5, "GuestError", "reserved for the host"],
    [-9, "GuestError", "unknown status -9"]
  ]
  for (const [status, tag, text] of statuses) {
    it.effect(`(0, ${status}): ${tag}`, () =>
      Effect.gen(function*() {
        const d = yield* load(abiModule({ handle: packed(0, status) }))
        for (const error of [yield* filterError(d), (yield* Effect.flip(d.callAction("h"))) as PluginCallError]) {
          assert.strictEqual(error._tag, tag)
          if (text !== undefined) assert.include(error.message, text)
          assert.include(error.message, `"fx"`)
        }
      }))
  }

  it.effect("a pointer with a negative length, a body at pointer 0, a block outside memory: BadResult", () =>
    Effect.gen(function*() {
      for (
        const [result, text] of [[packed(1024, -5), "negative length"], [packed(0, 12), "pointer 0"], [
          packed(65530, 100),
          "outside memory"
        ]] as const
      ) {
        const error = yield* filterError(yield* load(abiModule({ handle: result })))
        assert.strictEqual(error._tag, "BadResult")
        assert.include(error.message, text)
      }
    }))

  it.effect("a length over the result cap: ResultTooLarge (the cap is a setting)", () =>
    Effect.gen(function*() {
      const huge = yield* filterError(yield* load(abiModule({ handle: packed(1024, 2_000_000) })))
      assert.strictEqual(huge._tag, "ResultTooLarge")
      const small = yield* filterError(
        yield* load(returningBody(`{"value":"${"x".repeat(100)}"}`), { limits: { maxResultBytes: 50 } })
      )
      assert.strictEqual(small._tag, "ResultTooLarge")
      if (small._tag === "ResultTooLarge") assert.deepStrictEqual([small.size, small.limit], [112, 50])
    }))
})

describe("5. result bodies", () => {
  it.effect(`filter: {"value": x} is x; a missing value is null; shortCircuit stops the chain`, () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        (yield* (yield* load(returningBody(`{"value":{"a":[1,2]}}`))).callFilter("h", 0)).value,
        {
          a: [1, 2]
        }
      )
      assert.strictEqual((yield* (yield* load(returningBody(`{}`))).callFilter("h", 0)).value, null)
      const sc = yield* (yield* load(returningBody(`{"value":"stop","shortCircuit":true}`))).callFilter("h", 0)
      assert.deepStrictEqual(sc, { value: "stop", shortCircuit: true })
    }))

  it.effect("action: a body is allowed and ignored", () =>
    Effect.flatMap(load(returningBody(`{"value":"ignored"}`)), (d) => d.callAction("h", ["a"])))

  it.effect("invalid UTF-8, invalid JSON, or not an object: BadPayload", () =>
    Effect.gen(function*() {
      const bodies: ReadonlyArray<readonly [string | Uint8Array, string]> = [
        [new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), "not valid UTF-8"],
        [`{"value":`, "not valid JSON"],
        [`[1,2]`, "not a JSON object"],
        [`"text"`, "not a JSON object"],
        [`42`, "not a JSON object"],
        [`null`, "not a JSON object"]
      ]
      for (const [body, text] of bodies) {
        const error = yield* filterError(yield* load(returningBody(body)))
        assert.strictEqual(error._tag, "BadPayload")
        assert.include(error.message, text)
      }
    }))

  it.effect(`an error body is a GuestError with its message and code, for either kind`, () =>
    Effect.gen(function*() {
      const d = yield* load(returningBody(`{"error":{"message":"quota exceeded","code":"E_QUOTA"}}`))
      for (const error of [yield* filterError(d), (yield* Effect.flip(d.callAction("h"))) as PluginCallError]) {
        assert.strictEqual(error._tag, "GuestError")
        if (error._tag === "GuestError") {
          assert.strictEqual(error.detail, "quota exceeded")
          assert.strictEqual(error.code, "E_QUOTA")
        }
      }
    }))
})

describe("6. traps", () => {
  const traps: ReadonlyArray<readonly [string, string]> = [
    ["unreachable", "unreachable"],
    ["out_of_bounds", "(drop (i32.load (i32.const 2000000))) (i64.const 0)"],
    ["divide_by_zero", "(drop (i32.div_s (i32.const 1) (i32.sub (local.get $nl) (local.get $nl)))) (i64.const 0)"],
    ["stack_overflow", "(call $recurse (i32.const 0)) (i64.const 0)"]
  ]
  for (const [kind, handle] of traps) {
    it.effect(`${kind}: Trapped with that kind; the next call gets a fresh instance`, () =>
      Effect.gen(function*() {
        const d = yield* load(abiModule({
          handle,
          fields: `(func $recurse (param i32) (call $recurse (i32.add (local.get 0) (i32.const 1))))`
        }))
        assert.strictEqual(yield* d.instances, 1)
        const error = yield* filterError(d)
        assert.strictEqual(error._tag, "Trapped")
        if (error._tag === "Trapped") assert.deepStrictEqual([error.kind, error.hook, error.plugin], [kind, "h", "fx"])
        // The trapped instance was dropped: the next call instantiates again (and traps again, here).
        yield* filterError(d)
        assert.strictEqual(yield* d.instances, 2)
      }))
  }

  it.effect("gn_panic traps with its message; the plugin then works again on a fresh instance", () =>
    Effect.gen(function*() {
      const d = yield* gonext
      yield* d.callAction("on_event")
      const error = yield* filterError(d, "trip_panic")
      assert.strictEqual(error._tag, "Trapped")
      if (error._tag === "Trapped") assert.deepStrictEqual([error.kind, error.detail], ["panic", "tripped"])
      assert.strictEqual((yield* d.callFilter("the_content", "back")).value, "BACK")
      assert.strictEqual(yield* d.instances, 2)
    }))
})

describe("7. host imports", () => {
  it.effect("gn_log goes to the Effect logger with the plugin, hook and level", () => {
    const logs: Array<LogEntry> = []
    return Effect.gen(function*() {
      const d = yield* gonext
      yield* d.callAction("on_event", [{ id: 1 }])
      const line = logs.find((l) => String(l.message).includes("on_event received"))
      assert.isDefined(line)
      assert.strictEqual(line!.level, "INFO")
      assert.deepInclude(line!.annotations, { plugin: "gonext", hook: "on_event" })
    }).pipe(captureLogs(logs))
  })

  it.effect("gn_time_ms reads Effect's Clock, so tests control it", () =>
    Effect.gen(function*() {
      const d = yield* gonext
      yield* TestClock.setTime(1_700_000_000_123)
      assert.strictEqual((yield* d.callFilter("now", null)).value, 1_700_000_000_123)
    }))

  it.effect("closing the scope releases the plugin; calling it afterwards is a defect", () =>
    Effect.gen(function*() {
      const d = yield* Effect.scoped(gonext)
      const exit = yield* Effect.exit(d.callFilter("the_content", "x"))
      assert.isTrue(Exit.isFailure(exit) && exit.cause.reasons[0]._tag === "Die")
    }))
})

describe("8. memory cap", () => {
  it.effect("memory.grow fails inside the guest at the cap (limits.memoryPages)", () =>
    Effect.gen(function*() {
      // Grows one page at a time until refused; returns the page count it reached as a status-free body.
      const d = yield* load(
        abiModule({
          handle:
            `(block $full (loop $grow (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $grow)))
                   ${packed(0, 0).replace("(i32.const 0)", "(i32.sub (i32.const -100) (memory.size))")}`
        }),
        { limits: { memoryPages: 6 } }
      )
      // The guest reports the size it reached as an unknown status: -(100 + pages).
      const error = yield* filterError(d)
      assert.strictEqual(error._tag, "GuestError")
      assert.include(error.message, "unknown status -106")
    }))

  it.effect("the default cap is 256 pages; a module declaring a lower maximum keeps it", () =>
    Effect.gen(function*() {
      const grow =
        `(block $full (loop $grow (br_if $full (i32.eq (memory.grow (i32.const 16)) (i32.const -1))) (br $grow)))
                    ${packed(0, 0).replace("(i32.const 0)", "(i32.sub (i32.const -100) (memory.size))")}`
      const byDefault = yield* filterError(yield* load(abiModule({ handle: grow })))
      assert.include(byDefault.message, "unknown status -341")
      const ownMax = yield* filterError(
        yield* load(abiModule({ handle: grow, memory: `(memory (export "memory") 1 3)` }))
      )
      assert.include(ownMax.message, "unknown status -101")
    }))

  it.effect("a module whose minimum exceeds the cap is rejected with MemoryLimit", () =>
    Effect.gen(function*() {
      const error = yield* loadError(abiModule({ memory: `(memory (export "memory") 10)` }), {
        limits: { memoryPages: 4 }
      })
      assert.strictEqual(error._tag, "MemoryLimit")
      if (error._tag === "MemoryLimit") assert.deepStrictEqual([error.minimumPages, error.limitPages], [10, 4])
    }))
})

describe("the deprecated names", () => {
  it.effect("WasmDispatcher is PluginInstance; invokeFilter/invokeAction still work", () =>
    Effect.gen(function*() {
      assert.strictEqual(WasmDispatcher.make, PluginInstance.make)
      const old: WasmDispatcher.WasmDispatcher = yield* WasmDispatcher.make(yield* fixture("abi-fixture.wat"), {
        name: "gonext"
      })
      assert.strictEqual((yield* old.invokeFilter("the_content", "hi")).value, "HI")
      yield* old.invokeAction("on_event", [{ id: 1 }])
      assert.strictEqual(old.invokeFilter, old.callFilter)
      const options: WasmDispatcher.WasmDispatcherOptions = { name: "x" }
      assert.strictEqual(options.name, "x")
    }))
})

describe("options", () => {
  it.effect("limits and options that cannot be used fail with InvalidOptions naming the option", () =>
    Effect.gen(function*() {
      const bytes = yield* fixture("abi-fixture.wat")
      const cases: Array<[PluginInstance.PluginInstanceOptions, string, string]> = [
        [{ limits: { fuel: 0 } }, "limits.fuel", "must be a positive integer, got 0"],
        [{ limits: { memoryPages: 1.5 } }, "limits.memoryPages", "must be a positive integer, got 1.5"],
        [{ limits: { timeoutMs: -1 } }, "limits.timeoutMs", "got -1"],
        [{ limits: { logCharsPerSecond: Number.NaN } }, "limits.logCharsPerSecond", "got NaN"],
        [{ pool: { size: 0 } }, "pool.size", "got 0"],
        [{ breaker: { maxFailures: 0 } }, "breaker.maxFailures", "got 0"],
        [{ breaker: { coolDown: "later" as never } }, "breaker.coolDown", "must be a duration"],
        [{ breaker: true as never }, "breaker", "got true"],
        [{ execution: "thread" as never }, "execution", "must be \"inline\" | \"worker\", got \"thread\""],
        [{ limits: { fule: 10 } as never }, "limits.fule", "is not an option"]
      ]
      for (const [options, option, detail] of cases) {
        const error = yield* Effect.flip(PluginInstance.make(bytes, options))
        assert.instanceOf(error, InvalidOptions, option)
        if (error._tag === "InvalidOptions") {
          assert.deepStrictEqual([error.of, error.option], ["PluginInstance", option])
          assert.include(error.detail, detail)
        }
      }
      const fine = yield* PluginInstance.make(bytes, {
        name: "gonext",
        limits: { fuel: 1_000_000, memoryPages: 16 },
        breaker: false,
        pool: { size: 2 }
      })
      assert.strictEqual((yield* fine.callFilter("the_content", "ok")).value, "OK")
    }))
})
