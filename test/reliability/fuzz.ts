/**
 * ABI fuzzing, shared by the test (a few thousand cases) and `npm run fuzz` (100,000 and more): random packed
 * results with random bytes at the pointer, random result bodies, random manifests and random bytes as modules.
 * Every case must end in a typed error or the correct value: never a defect, a hang or a crash.
 */
import { Effect, Exit, Layer, References } from "effect"
import * as fc from "fast-check"
import { type FilterFailed, type FilterHook, Hook, HookBus, HookName, maxMessageLength } from "../../src/index.ts"
import { Guest } from "../../src/wasm/Guest.ts"
import { Abi, Limits, Manifest, Plugin, PluginInstance, PluginPolicy } from "../../src/wasm/index.ts"
import { abiModule, compileWatPromise, packed as packedResult } from "../fixtures/wat.ts"

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

// ---- The sandbox rules of issue 13 as properties: each holds over every input, not only the cases Hostile tests.

/** A number as JSON text reads it (`1e400` is `Infinity`): what a manifest or a guest hands the host. */
const fromJson = (text: string): number => JSON.parse(text) as number

const limitFields = ["memoryPages", "fuel", "timeoutMs", "maxPayloadBytes"] as const
const schemaMaximum = {
  memoryPages: 65_536,
  fuel: Number.MAX_SAFE_INTEGER,
  timeoutMs: 3_600_000,
  maxPayloadBytes: 1_073_741_824
} as const

/**
 * Manifest limits against host ceilings: whatever a manifest asks for, it decodes (with sane numbers) or fails with
 * ManifestInvalid; then it gets exactly what it asked for when at or under every ceiling, and otherwise fails with
 * LimitAboveCeiling listing exactly the fields over. A limit is never raised above the ceiling, nor clamped silently.
 */
export const fuzzLimits = (cases: number, seed: number): number => {
  const amount = fc.oneof(
    fc.integer({ min: 1, max: 1_000 }),
    fc.integer({ min: 1, max: 2_000_000_000 }),
    fc.constantFrom(65_536, 65_537, Number.MAX_SAFE_INTEGER, 3_600_000, 1_073_741_824),
    fc.constantFrom(0, -1, 1.5, Infinity, Number.NaN, fromJson("1e400"))
  )
  const request = fc.record(
    { memoryPages: amount, fuel: amount, timeoutMs: amount, maxPayloadBytes: amount },
    { requiredKeys: [] }
  )
  const ceiling = fc.record({
    memoryPages: fc.integer({ min: 1, max: 4_096 }),
    fuel: fc.integer({ min: 1, max: 1_000_000_000 }),
    timeoutMs: fc.integer({ min: 1, max: 60_000 }),
    maxPayloadBytes: fc.integer({ min: 1, max: 1 << 24 })
  }, { requiredKeys: [] })
  let ran = 0
  fc.assert(
    fc.property(request, fc.option(ceiling, { nil: undefined }), (limits, host) => {
      ran++
      const decoded = Effect.runSyncExit(
        Manifest.decode({ abi: 1, name: "greedy", version: "1.0.0", hooks: [], limits })
      )
      // The schema's own bounds: a positive integer up to a hard maximum per field.
      const decodable = limitFields.every((f) => {
        const n = limits[f]
        return n === undefined || (Number.isInteger(n) && n >= 1 && n <= schemaMaximum[f])
      })
      if (Exit.isSuccess(decoded) !== decodable) {
        throw new Error(`limits ${JSON.stringify(limits)}: decoded ${decoded._tag}, expected ${decodable}`)
      }
      if (Exit.isFailure(decoded)) return
      const manifestLimits = decoded.value.limits
      const over = limitFields.filter((f) => {
        const n = manifestLimits?.[f]
        return n !== undefined && n > (host?.[f] ?? Limits.defaultCeilings[f])
      })
      const resolved = Limits.resolve("greedy", manifestLimits, host)
      if (resolved instanceof Error) {
        const listed = resolved.limits.map((l) => l.limit)
        if (JSON.stringify(listed) !== JSON.stringify(over)) {
          throw new Error(`LimitAboveCeiling listed ${listed.join(",")}, expected ${over.join(",")}`)
        }
        return
      }
      if (over.length > 0) throw new Error(`limits over the ceiling loaded: ${over.join(", ")}`)
      for (const f of limitFields) {
        const want = manifestLimits?.[f] ?? host?.[f] ?? Limits.defaults[f]
        if (resolved[f] !== want) throw new Error(`${f}: got ${resolved[f]}, expected ${want}`)
        if (resolved[f] > (host?.[f] ?? Limits.defaultCeilings[f])) throw new Error(`${f} raised above the ceiling`)
      }
    }),
    { numRuns: cases, seed }
  )
  return ran
}

/** The characters no hook name may carry: control characters, line separators, bidi controls, lone surrogates. */
const forbidden = [
  "\u0000",
  "\n",
  "\r",
  "\t",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u2028",
  "\u2029",
  "\u202e",
  "\u2066",
  "\ud800",
  "\udfff"
]
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype)

/**
 * Hook names: a name with a forbidden character is refused everywhere it can enter (`HookName.problem`,
 * `Hook.filter`, a manifest, `addFilter`) with a typed error; a name that is a key of `Object.prototype`
 * (`constructor`, `__proto__`, `toString`) is an ordinary name: it registers, dispatches and is judged by the
 * policy like any other, never reaching the prototype.
 */
export const fuzzHookNames = (cases: number, seed: number): number => {
  const poisoned = fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...forbidden), fc.string({ maxLength: 20 }))
    .map(([a, bad, b]) => ({ name: `${a}${bad}${b}`, bad: true }))
  const prototypeName = fc.constantFrom(...prototypeKeys).map((name) => ({ name, bad: false }))
  const plain = fc.stringMatching(/^[a-z_.:/-]{1,40}$/).map((name) => ({ name, bad: false }))
  let ran = 0
  fc.assert(
    fc.property(
      fc.oneof(poisoned, prototypeName, plain),
      fc.constantFrom("filter", "action"),
      ({ bad, name }, kind) => {
        ran++
        const problem = HookName.problem(name)
        if ((problem !== undefined) !== bad) throw new Error(`HookName.problem(${JSON.stringify(name)}) = ${problem}`)
        let thrown = false
        try {
          if (kind === "filter") Hook.filter(name)
          else Hook.action(name)
        } catch {
          thrown = true
        }
        if (thrown !== bad) {
          throw new Error(
            `Hook.${kind}(${JSON.stringify(name)}) ${thrown ? "threw" : "did not throw"}`
          )
        }
        const decoded = Effect.runSyncExit(
          Manifest.decode({ abi: 1, name: "names", version: "1.0.0", hooks: [{ name, kind }] })
        )
        if (Exit.isSuccess(decoded) === bad) {
          throw new Error(
            `a manifest hook named ${JSON.stringify(name)}: ${decoded._tag}`
          )
        }
        if (Exit.isFailure(decoded)) {
          const reason = decoded.cause.reasons[0]
          if (reason._tag !== "Fail" || !reason.error.problems.some((p) => p.path === "hooks[0].name")) {
            throw new Error(`a bad name did not fail as ManifestInvalid at hooks[0].name`)
          }
        }
        // The bus: a typed RegistrationRejected for a bad name, a working handler for any other.
        const registered = Effect.runSyncExit(
          Effect.gen(function*() {
            const bus = yield* HookBus
            const hook = { kind: "filter", name } as unknown as FilterHook<string>
            yield* bus.addFilter(hook, (s) => Effect.succeed(`${s}!`))
            return yield* bus.applyFilters(hook, "x")
          }).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))), Effect.scoped)
        )
        if (bad) {
          const reason = Exit.isFailure(registered) ? registered.cause.reasons[0] : undefined
          if (reason?._tag !== "Fail" || (reason.error as { _tag: string })._tag !== "RegistrationRejected") {
            throw new Error(`addFilter with ${JSON.stringify(name)} did not end in RegistrationRejected`)
          }
        } else if (!Exit.isSuccess(registered) || registered.value !== "x!") {
          throw new Error(`a filter named ${JSON.stringify(name)} did not run: ${String(registered)}`)
        }
        // The policy looks names up as own keys only.
        const policy = PluginPolicy.make({ allowHooks: {}, allowImports: {} })
        if (policy.deniedHooks(name, [name]).length !== 1) throw new Error(`the policy allowed ${JSON.stringify(name)}`)
        const allowed = PluginPolicy.make({ allowHooks: { [name]: [name] } })
        if (allowed.deniedHooks(name, [name]).length !== 0) throw new Error(`the policy denied ${JSON.stringify(name)}`)
      }
    ),
    { numRuns: cases, seed }
  )
  return ran
}

/**
 * Registration options: `once`, `priority`, `before`/`after` and `onError` of the wrong type are a typed
 * RegistrationRejected naming the option (`once: "yes"` is not false, `1e400` is not a priority); nothing is
 * registered.
 */
export const fuzzOptions = (cases: number, seed: number): number => {
  const wrong = fc.oneof(
    fc.record({ once: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constantFrom("yes", "true", 1, 0)) }),
    fc.record({
      priority: fc.oneof(
        fc.constantFrom(fromJson("1e400"), fromJson("-1e400"), Number.NaN),
        fc.string(),
        fc.constant(null)
      )
    }),
    fc.record({ before: fc.oneof(fc.string(), fc.constant([""]), fc.array(fc.integer(), { minLength: 1 })) }),
    fc.record({ onError: fc.string().filter((s) => s !== "abort" && s !== "skip") })
  )
  let ran = 0
  fc.assert(
    fc.property(wrong, (options) => {
      ran++
      const exit = Effect.runSyncExit(
        Effect.gen(function*() {
          const bus = yield* HookBus
          const hook = Hook.filter<string>("options")
          const error = yield* Effect.flip(bus.addFilter(hook, Effect.succeed, options as never))
          return { error, handlers: (yield* bus.handlers(hook)).length }
        }).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))), Effect.scoped)
      )
      if (!Exit.isSuccess(exit)) throw new Error(`options ${JSON.stringify(options)} were accepted or crashed`)
      const { error, handlers } = exit.value
      if (error._tag !== "RegistrationRejected" || handlers !== 0) {
        throw new Error(`options ${JSON.stringify(options)}: ${error._tag}, ${handlers} handlers`)
      }
      const option = Object.keys(options)[0]
      if (!error.message.includes(option)) throw new Error(`"${error.message}" does not name ${option}`)
    }),
    { numRuns: cases, seed }
  )
  return ran
}

/**
 * Nested dispatch errors: a filter that recurses to any depth (up to the bus's `maxDepth`, or past it into
 * RecursionLimit) fails with a message at most `maxMessageLength` long, built by reading the innermost error's
 * message once: linear in the depth, never exponential.
 */
export const fuzzNestedErrors = (cases: number, seed: number): Promise<number> => {
  let ran = 0
  return fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 80 }), async (maxDepth, failAt) => {
      ran++
      const reads = { n: 0 }
      const innermost = {
        get message() {
          return (reads.n++, "innermost ".repeat(50))
        }
      }
      const Nested = Hook.filter<number>("nested")
      const error = await Effect.runPromise(
        Effect.gen(function*() {
          const bus = yield* HookBus
          yield* bus.addFilter(
            Nested,
            (n): Effect.Effect<number, unknown> =>
              n >= failAt ? Effect.fail(innermost) : bus.applyFilters(Nested, n + 1)
          )
          return yield* Effect.flip(bus.applyFilters(Nested, 0))
        }).pipe(
          Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false, maxDepth }))),
          Effect.scoped
        )
      )
      const message = error.message
      if (message.length > maxMessageLength) throw new Error(`a message of ${message.length} characters`)
      if (reads.n > 1) throw new Error(`the innermost message was read ${reads.n} times at depth ${failAt}`)
      if (message.length === 0) throw new Error("an empty message")
    }),
    { numRuns: cases, seed }
  ).then(() => ran)
}

/**
 * Objects that look like Effect values: returned by an in-process handler, any object carrying `~effect/Exit` or
 * `~effect/Effect` is a handler defect naming the handler ("not an Effect"), in a typed FilterFailed; the dispatch
 * never dies and never takes a forged success for the handler's value.
 */
export const fuzzForgedEffects = (cases: number, seed: number): number => {
  const forged = fc.record({
    key: fc.constantFrom("~effect/Exit", "~effect/Effect", "both"),
    tag: fc.constantFrom("Success", "Failure", "Sync", "Suspend", "OnSuccess"),
    rest: fc.dictionary(
      fc.constantFrom("value", "cause", "_op", "effect_instruction_i0", "reasons", "~effect/Cause"),
      fc.oneof(fc.jsonValue(), fc.constant(() => 1))
    )
  }).map(({ key, rest, tag }) => ({
    ...rest,
    _tag: tag,
    ...(key !== "~effect/Effect" ? { "~effect/Exit": "~effect/Exit" } : {}),
    ...(key !== "~effect/Exit" ? { "~effect/Effect": { _R: 1 } } : {})
  }))
  let ran = 0
  fc.assert(
    fc.property(forged, (object) => {
      ran++
      const Text = Hook.filter<unknown>("forged")
      const exit = Effect.runSyncExit(
        Effect.gen(function*() {
          const bus = yield* HookBus
          yield* bus.addFilter(Text, () => object as unknown as Effect.Effect<unknown>, { source: "forger" })
          return yield* Effect.flip(bus.applyFilters(Text, "kept"))
        }).pipe(
          Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))),
          Effect.provideService(References.CurrentLoggers, new Set()),
          Effect.scoped
        )
      )
      if (!Exit.isSuccess(exit)) {
        throw new Error(`a forged ${JSON.stringify(object)} broke the dispatch: ${exit.cause.reasons[0]._tag}`)
      }
      const error = exit.value as FilterFailed<unknown>
      if (error._tag !== "FilterFailed" || error.failure.reason !== "Defect" || error.failure.source !== "forger") {
        throw new Error(`a forged ${JSON.stringify(object)}: ${error._tag} ${error.message}`)
      }
      if (!error.message.includes("not an Effect")) throw new Error(`"${error.message}" does not say "not an Effect"`)
    }),
    { numRuns: cases, seed }
  )
  return ran
}

/** A module that answers `{"value":"<tag>"}` to every call. */
const taggedModule = (tag: string): Promise<Uint8Array<ArrayBuffer>> => {
  const body = `{"value":"${tag}"}`
  return compileWatPromise(abiModule({ data: body, handle: packedResult(1024, body.length) }))
}

const hostSources = ["core", "core:sanitize", "theme"]

/**
 * The policy over random manifests: hooks at random priorities (inside, at and outside the allowed range,
 * `1e308` included), ordered against host and plugin sources, some claiming a `source`. Under a policy with
 * priority bounds and an ordering rule, a plugin loads exactly when every registration is inside them; then all its
 * handlers are `plugin:<name>`, and the host's handler keeps its place (last, at priority 1000). A `source` field is
 * always ManifestInvalid.
 */
export const fuzzPolicy = async (cases: number, seed: number): Promise<number> => {
  const bytes = await taggedModule("plugin")
  const source = fc.constantFrom(...hostSources, "plugin:other", "plugin:third")
  const hook = fc.record({
    name: fc.constantFrom("the_content", "the_title", "the_excerpt"),
    priority: fc.oneof(fc.integer({ min: -200, max: 200 }), fc.constantFrom(0, 100, 1e308, -1e308, 99.5)),
    before: fc.array(source, { maxLength: 2 }),
    after: fc.array(source, { maxLength: 2 }),
    source: fc.constantFrom("core", "plugin:policy", "plugin:other")
  }, { requiredKeys: ["name"] })
  const hooks = fc.uniqueArray(hook, { maxLength: 3, selector: (h) => h.name })
  const policy = fc.record({
    min: fc.option(fc.integer({ min: -100, max: 50 }), { nil: undefined }),
    max: fc.option(fc.integer({ min: 50, max: 200 }), { nil: undefined }),
    ordering: fc.option(fc.constantFrom("plugins" as const, "none" as const, "any" as const), { nil: undefined })
  })
  const Content = Hook.filter<string>("the_content")
  let ran = 0
  await fc.assert(
    fc.asyncProperty(hooks, policy, async (requested, { max, min, ordering }) => {
      ran++
      const claimsSource = requested.some((h) => h.source !== undefined)
      const inRange = (p: number) => p >= (min ?? -Infinity) && p <= (max ?? Infinity)
      const refsOk = (refs: ReadonlyArray<string>) =>
        ordering === "any" || (ordering === "none" ? refs.length === 0 : refs.every((r) => r.startsWith("plugin:")))
      const allowed = requested.every((h) =>
        inRange(h.priority ?? 10) && refsOk([...(h.before ?? []), ...(h.after ?? [])])
      )
      // Before and after the same registered handler: the bus refuses the cycle (ordering "any" only gets there).
      const contradictory = requested.some((h) =>
        h.name === "the_content" && h.before?.includes("core:sanitize") && h.after?.includes("core:sanitize")
      )
      const manifestHooks = requested.map((h) => ({ ...h, kind: "filter" }))
      const outcome = await Effect.runPromise(
        Effect.gen(function*() {
          const bus = yield* HookBus
          yield* bus.addFilter(Content, (s) => Effect.succeed(s.replaceAll("<", "")), {
            source: "core:sanitize",
            priority: 1000
          })
          const loaded = yield* Effect.exit(Plugin.fromBytes(bytes, {
            abi: 1,
            name: "policy",
            version: "1.0.0",
            hooks: manifestHooks
          }))
          return { loaded, sources: (yield* bus.handlers(Content)).map((h) => h.source) }
        }).pipe(
          Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))),
          Effect.provide(PluginPolicy.layer({
            allowHooks: { "*": ["the_content", "the_title", "the_excerpt"] },
            priority: { min, max },
            ordering
          })),
          Effect.provideService(References.CurrentLoggers, new Set()),
          Effect.scoped
        )
      )
      const { loaded, sources } = outcome
      const what = `${JSON.stringify(manifestHooks)} under ${JSON.stringify({ min, max, ordering })}`
      if (Exit.isFailure(loaded)) {
        const reason = loaded.cause.reasons[0]
        const tag = reason._tag === "Fail" ? (reason.error as { _tag: string })._tag : reason._tag
        const want = claimsSource
          ? "ManifestInvalid"
          : !allowed
          ? "CapabilityDenied"
          : contradictory
          ? "RegistrationRejected"
          : "(loaded)"
        if (tag !== want) throw new Error(`${what}: ${tag}, expected ${want}`)
        if (sources.join() !== "core:sanitize") throw new Error(`${what}: a refused plugin left ${sources.join()}`)
        return
      }
      if (claimsSource || !allowed || contradictory) throw new Error(`${what}: loaded, though it should not`)
      const plugin = sources.filter((s) => s !== "core:sanitize")
      if (plugin.some((s) => s !== "plugin:policy")) throw new Error(`${what}: sources ${sources.join()}`)
      if (ordering !== "any" && sources.at(-1) !== "core:sanitize") {
        throw new Error(`${what}: the host's handler lost its place: ${sources.join()}`)
      }
    }),
    { numRuns: cases, seed }
  )
  return ran
}

/**
 * Reloads: a plugin reloaded any number of times, with the same hooks, fewer or more, always has exactly the
 * manifest's hooks registered (one handler each, `handle.registrations` agreeing), and dispatch reaches the newest
 * version; closing its scope removes everything.
 */
export const fuzzReload = async (cases: number, seed: number): Promise<number> => {
  const versions = await Promise.all(["v0", "v1", "v2", "v3"].map(taggedModule))
  const names = ["the_content", "the_title", "the_excerpt"]
  const hookSet = fc.subarray(names, { minLength: 1 })
  let ran = 0
  await fc.assert(
    fc.asyncProperty(hookSet, fc.array(fc.tuple(hookSet, fc.nat(3)), { minLength: 1, maxLength: 5 }), async (
      first,
      reloads
    ) => {
      ran++
      const manifestOf = (hooks: ReadonlyArray<string>) => ({
        abi: 1,
        name: "reloaded",
        version: "1.0.0",
        hooks: hooks.map((name) => ({ name, kind: "filter" }))
      })
      await Effect.runPromise(
        Effect.gen(function*() {
          const bus = yield* HookBus
          const check = (hooks: ReadonlyArray<string>, tag: string, registrations: number) =>
            Effect.gen(function*() {
              for (const name of names) {
                const hook = Hook.filter<string>(name)
                const count = (yield* bus.handlers(hook)).length
                if (count !== (hooks.includes(name) ? 1 : 0)) throw new Error(`${name}: ${count} handlers`)
                if (hooks.includes(name) && (yield* bus.applyFilters(hook, "x")) !== tag) {
                  throw new Error(`${name} did not reach ${tag}`)
                }
              }
              if (registrations !== hooks.length) throw new Error(`${registrations} registrations for ${hooks.length}`)
            })
          yield* Effect.scoped(Effect.gen(function*() {
            const handle = yield* Plugin.fromBytes(versions[0], manifestOf(first))
            yield* check(first, "v0", handle.registrations.length)
            for (const [hooks, v] of reloads) {
              yield* Plugin.reload(handle, { bytes: versions[v], manifest: manifestOf(hooks) })
              yield* check(hooks, `v${v}`, handle.registrations.length)
            }
          }))
          yield* check([], "", 0)
        }).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))), Effect.orDie)
      )
    }),
    { numRuns: cases, seed }
  )
  return ran
}
