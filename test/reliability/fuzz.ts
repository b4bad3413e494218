/**
 * ABI fuzzing, shared by the test (a few thousand cases) and `npm run fuzz` (100,000 and more): random packed
 * results with random bytes at the pointer, random result bodies, random manifests and random bytes as modules.
 * Every case must end in a typed error or the correct value: never a defect, a hang or a crash.
 */
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import { Guest } from "../../src/wasm/Guest.ts"
import { Abi, Manifest, PluginInstance } from "../../src/wasm/index.ts"
import { abiModule, compileWatPromise } from "../fixtures/wat.ts"

/**
 * A guest whose every call returns, as its packed result, what `gn_time_ms` gives it: the harness sets that value
 * and writes the bytes at the pointer itself. Its allocator hands out blocks from 65,536 up and wraps.
 */
export const oracleModule = abiModule({
  imports: `(import "env" "gn_time_ms" (func $time (result i64)))`,
  memory: `(memory (export "memory") 2)`,
  allocator: `
    (global $heap (mut i32) (i32.const 65536))
    (func $alloc (export "gn_alloc") (param $size i32) (result i32)
      (local $ptr i32)
      (if (i32.gt_u (i32.add (global.get $heap) (local.get $size)) (i32.const 131072)) (then (global.set $heap (i32.const 65536))))
      (local.set $ptr (global.get $heap))
      (global.set $heap (i32.add (global.get $heap) (local.get $size)))
      (local.get $ptr))
    (func (export "gn_free") (param i32 i32))`,
  handle: `(call $time)`
})

const MEMORY = 131_072
const REGION = 60_000
const CAP = 4_096

/** Nesting depth of a parsed JSON value (an object or array is one level). */
const depthOf = (value: unknown): number =>
  typeof value !== "object" || value === null
    ? 0
    : 1 + Math.max(0, ...Object.values(value as Record<string, unknown>).map(depthOf))

/** Whether a parsed JSON value holds a number that is not finite. */
const hasNonFinite = (value: unknown): boolean =>
  typeof value === "number"
    ? !Number.isFinite(value)
    : typeof value === "object" && value !== null && Object.values(value).some(hasNonFinite)

/** What the contract says a call with this packed result and memory must give. */
const expected = (ptr: number, len: number, bytes: Uint8Array, input: unknown): string => {
  if (ptr === 0 && len === 0) return `value ${JSON.stringify(input)}`
  if (ptr === 0 && len < 0) {
    return ({ [-1]: "GuestError", [-2]: "GuestOutOfMemory", [-3]: "BadPayload", [-4]: "UnknownHook" } as Record<
      number,
      string
    >)[len] ??
      "GuestError"
  }
  if (len > CAP) return "ResultTooLarge"
  if (len < 0 || ptr === 0 || ptr + len > MEMORY) return "BadResult"
  let text: string
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(ptr, ptr + len))
  } catch {
    return "BadPayload"
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return "BadPayload"
  }
  if (depthOf(parsed) > Abi.maxJsonDepth) return "BadPayload"
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "BadPayload"
  if (hasNonFinite(parsed)) return "BadPayload"
  const body = parsed as Record<string, unknown>
  if ("error" in body) return "GuestError"
  if (body.shortCircuit !== undefined && typeof body.shortCircuit !== "boolean") return "BadPayload"
  return `value ${JSON.stringify("value" in body ? body.value : null)}${body.shortCircuit === true ? " short" : ""}`
}

/** A result case: a pointer, a length and the body bytes placed at the pointer. */
export const resultCase = fc.oneof(
  // Raw bytes, packed results of every shape.
  fc.record({
    ptr: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: REGION - 1 }),
      fc.integer({ min: REGION, max: (1 << 21) - 1 })
    ),
    len: fc.oneof(
      fc.integer({ min: -10, max: 10 }),
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
    ),
    body: fc.uint8Array({ maxLength: 300 })
  }),
  // Bodies that are JSON, or nearly.
  fc.record({
    ptr: fc.integer({ min: 1, max: 4_000 }),
    body: fc.oneof(
      fc.json().map((j) => new TextEncoder().encode(j)),
      fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify({ value: v }))),
      fc.record({ value: fc.jsonValue(), shortCircuit: fc.oneof(fc.boolean(), fc.jsonValue()) }).map((v) =>
        new TextEncoder().encode(JSON.stringify(v))
      ),
      fc.record({ error: fc.jsonValue() }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
      fc.integer({ min: 1, max: 2_000 }).map((depth) =>
        new TextEncoder().encode(`{"value":${"[".repeat(depth)}${"]".repeat(depth)}}`)
      ),
      fc.constantFrom("1e400", "-1e400", "1e308", "-0", "5e-324").map((n) =>
        new TextEncoder().encode(`{"value":{"a":[1,${n}]}}`)
      ),
      fc.string().map((s) => new TextEncoder().encode(`{"value":"${s}`))
    )
  }).map(({ body, ptr }) => ({ ptr, len: body.length, body }))
)

/** Runs result cases against the oracle guest; returns how many ran. Throws on the first disagreement. */
export const fuzzResults = async (cases: number, seed: number): Promise<number> => {
  const module = await WebAssembly.compile(await compileWatPromise(oracleModule))
  let packed = 0
  const guest = new Guest("fuzz", module, { maxPayloadBytes: 1 << 20, maxResultBytes: CAP, fuel: undefined }, {
    log: () => {},
    nowMillis: () => packed
  })
  let ran = 0
  fc.assert(
    fc.property(resultCase, fc.jsonValue(), ({ body, len, ptr }, input) => {
      ran++
      const memory = new Uint8Array(guest.memory().buffer)
      memory.fill(0, 1, REGION)
      if (ptr > 0 && ptr < REGION) memory.set(body.subarray(0, Math.max(0, Math.min(body.length, REGION - ptr))), ptr)
      packed = ptr * 2 ** 32 + (len >>> 0)
      const oracle = expected(ptr, len, new Uint8Array(guest.memory().buffer), input)
      const payload = `{"kind":"filter","value":${JSON.stringify(input)},"args":[]}`
      const result = guest.call("h", payload)
      let got: string
      if (result._tag === "Err") got = result.error._tag
      else if (result.body === undefined) got = `value ${JSON.stringify(input)}`
      else {
        const b = result.body
        got = "error" in b
          ? "GuestError"
          : `value ${JSON.stringify("value" in b ? b.value : null)}${b.shortCircuit === true ? " short" : ""}`
        if (b.shortCircuit !== undefined && typeof b.shortCircuit !== "boolean") got = "BadPayload"
      }
      if (got !== oracle) throw new Error(`ptr=${ptr} len=${len}: expected ${oracle}, got ${got}`)
    }),
    { numRuns: cases, seed }
  )
  return ran
}

/** Random manifests: each decodes, or fails with ManifestInvalid; never anything else. */
export const fuzzManifests = (cases: number, seed: number): number => {
  const near = fc.record({
    abi: fc.oneof(fc.constant(1), fc.jsonValue()),
    name: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{1,63}$/), fc.string()),
    version: fc.oneof(fc.constant("1.0.0"), fc.string()),
    hooks: fc.array(
      fc.record({
        name: fc.string({ maxLength: 300 }),
        kind: fc.oneof(fc.constantFrom("action", "filter"), fc.string()),
        priority: fc.oneof(fc.double(), fc.jsonValue()),
        mode: fc.oneof(fc.constantFrom("sync", "async"), fc.jsonValue())
      }, { requiredKeys: ["name", "kind"] }),
      { maxLength: 5 }
    ),
    limits: fc.record({ memoryPages: fc.jsonValue(), fuel: fc.jsonValue() }, { requiredKeys: [] })
  }, { requiredKeys: ["abi", "name", "version", "hooks"] })
  let ran = 0
  fc.assert(
    fc.property(fc.oneof(near, fc.anything()), (input) => {
      ran++
      const exit = Effect.runSyncExit(Manifest.decode(input))
      if (Exit.isFailure(exit)) {
        const reason = exit.cause.reasons[0]
        if (exit.cause.reasons.length !== 1 || reason._tag !== "Fail" || reason.error._tag !== "ManifestInvalid") {
          throw new Error(
            `manifest decoding did not end in ManifestInvalid: ${JSON.stringify(exit.cause.reasons.map((r) => r._tag))}`
          )
        }
        if (reason.error.problems.length === 0) throw new Error("ManifestInvalid with no problem listed")
      }
    }),
    { numRuns: cases, seed }
  )
  return ran
}

/** Random bytes and mutated valid modules as plugins: a dispatcher or a typed load error, never a defect. */
export const fuzzModules = async (cases: number, seed: number): Promise<number> => {
  const valid = await compileWatPromise(abiModule({ handle: "(i64.const 0)" }))
  const mutated = fc.array(fc.record({ at: fc.nat(valid.length - 1), byte: fc.integer({ min: 0, max: 255 }) }), {
    minLength: 1,
    maxLength: 4
  }).map((edits) => {
    const bytes = valid.slice()
    for (const { at, byte } of edits) bytes[at] = byte
    return bytes
  })
  const truncated = fc.nat(valid.length - 1).map((n) => valid.slice(0, n))
  let ran = 0
  // Nothing a module does at load may reach the console (binaryen's validator used to print there).
  const printed: Array<string> = []
  const console_ = globalThis.console
  const original = { log: console_.log, error: console_.error, warn: console_.warn }
  const write = process.stderr.write
  console_.log = console_.error = console_.warn = (...args: Array<unknown>) => void printed.push(args.join(" "))
  process.stderr.write = ((chunk: unknown) => printed.push(String(chunk)) > 0) as typeof process.stderr.write
  try {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated, truncated), async (bytes) => {
        ran++
        const exit = await Effect.runPromiseExit(
          Effect.scoped(
            Effect.flatMap(PluginInstance.make(bytes, { name: "fuzz" }), (d) => Effect.exit(d.callFilter("h", 1)))
          )
        )
        const dies = Exit.isFailure(exit) ? exit.cause.reasons.filter((r) => r._tag !== "Fail") : []
        if (dies.length > 0) {
          throw new Error(`a module load or call ended in a defect: ${String((dies[0] as any).defect)}`)
        }
        if (Exit.isSuccess(exit) && Exit.isFailure(exit.value)) {
          const inner = exit.value.cause.reasons.filter((r) => r._tag !== "Fail")
          if (inner.length > 0) throw new Error("a call ended in a defect")
        }
      }),
      { numRuns: cases, seed }
    )
  } finally {
    Object.assign(console_, original)
    process.stderr.write = write
  }
  if (printed.length > 0) throw new Error(`loading modules printed to the console: ${printed[0]}`)
  return ran
}
