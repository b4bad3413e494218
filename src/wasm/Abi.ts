/**
 * ABI v1, the contract between the host and a plugin module (docs/abi-v1.md): the exports and imports it
 * requires, the payload envelopes, and the decoding of the packed result. Pure functions, shared by the inline
 * host and worker threads.
 *
 * @since 0.1.0
 */
import { errorMessage } from "../domain/errorMessage.ts"
import {
  BadPayload,
  BadResult,
  GuestError,
  GuestOutOfMemory,
  MissingExport,
  type PluginCallError,
  ResultTooLarge,
  UnencodableValue,
  UnknownHook,
  UnknownImport
} from "../domain/PluginErrors.ts"
import { formatType, type FuncType, type ModuleInfo } from "./WasmBinary.ts"

/**
 * The ABI version this host speaks.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const speaks = (guestVersion: number) => guestVersion === Abi.version
 */
export const version = 1

/**
 * Default cap on an encoded payload, in bytes (1 MiB).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const fits = (payload: string) => new TextEncoder().encode(payload).length <= Abi.defaultMaxPayloadBytes
 */
export const defaultMaxPayloadBytes = 1_048_576

/**
 * Default cap on a result body, in bytes (1 MiB).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const mib = Abi.defaultMaxResultBytes / 1_048_576 // 1
 */
export const defaultMaxResultBytes = 1_048_576

/**
 * The most of a `gn_log` line the host reads.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const shown = (line: string) => line.slice(0, Abi.maxLogBytes)
 */
export const maxLogBytes = 65_536

/**
 * Default cap on `gn_log` lines kept per call; further lines are counted and dropped.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const limits = { logLinesPerCall: Abi.defaultLogLinesPerCall / 10 } // a chattier plugin gets less
 */
export const defaultLogLinesPerCall = 1_000

/**
 * Default cap on `gn_log` bytes kept per call.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const kib = Abi.defaultLogBytesPerCall / 1024 // 256
 */
export const defaultLogBytesPerCall = 262_144

/**
 * Default cap on `gn_log` lines a plugin gets logged per second (over all its calls and instances).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const limits = { logLinesPerSecond: Abi.defaultLogLinesPerSecond * 2 }
 */
export const defaultLogLinesPerSecond = 2_000

/**
 * Default cap on `gn_log` characters a plugin gets logged per second.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const limits = { logCharsPerSecond: Abi.defaultLogCharsPerSecond / 2 }
 */
export const defaultLogCharsPerSecond = 1_048_576

/**
 * Guest statuses (the negative `len` of a packed result with `ptr` 0).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const isUnknownHook = (len: number) => len === Abi.Status.unknownHook // -4
 */
export const Status = {
  error: -1,
  outOfMemory: -2,
  badPayload: -3,
  unknownHook: -4,
  /** Reserved for the host; a guest returning it gets `GuestError`. */
  trap: -5
} as const

const fn = (params: FuncType["params"], results: FuncType["results"]): FuncType => ({ params, results })

/**
 * The exports every plugin must have, with their exact types.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * Object.keys(Abi.requiredExports) // ["memory", "gn_alloc", "gn_free", "gn_handle_hook"]
 */
export const requiredExports: Readonly<Record<string, FuncType | "memory">> = {
  memory: "memory",
  gn_alloc: fn(["i32"], ["i32"]),
  gn_free: fn(["i32", "i32"], []),
  gn_handle_hook: fn(["i32", "i32", "i32", "i32"], ["i64"])
}

/**
 * The optional version export.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const name = Abi.versionExport.name // "gn_abi_version"
 */
export const versionExport = { name: "gn_abi_version", type: fn([], ["i32"]) } as const

/**
 * The host imports a plugin may use (all in module `env`). `gn_config_get` is ABI v1.1: optional, a v1 host
 * lacks it.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * Object.keys(Abi.hostImports) // ["gn_log", "gn_panic", "gn_time_ms", "gn_config_get"]
 */
export const hostImports: Readonly<Record<string, FuncType>> = {
  gn_log: fn(["i32", "i32", "i32"], []),
  gn_panic: fn(["i32", "i32"], []),
  gn_time_ms: fn([], ["i64"]),
  gn_config_get: fn(["i32", "i32"], ["i64"])
}

/**
 * The import module of user-defined host functions (`Plugin.load(dir, { hostFunctions })`), ABI v1.1.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const imported = (module: string) => module === Abi.hostFunctionModule // "host"
 */
export const hostFunctionModule = "host"

/**
 * The type every host function is imported with: `(ptr: i32, len: i32) -> i64`, JSON arguments in, a packed
 * result block out (docs/abi-v1.md, section 8).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi, WasmBinary } from "hookbus/wasm"
 *
 * WasmBinary.formatType(Abi.hostFunctionType) // "(i32, i32) -> i64"
 */
export const hostFunctionType: FuncType = fn(["i32", "i32"], ["i64"])

const sameType = (a: FuncType | undefined, b: FuncType): boolean =>
  a !== undefined && a.params.length === b.params.length && a.results.length === b.results.length &&
  a.params.every((p, i) => p === b.params[i]) && a.results.every((r, i) => r === b.results[i])

/**
 * Every import the ABI does not provide (or provides with another type), described.
 *
 * @since 0.1.0
 * @category validation
 * @example
 * import { Abi, WasmBinary } from "hookbus/wasm"
 *
 * const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) // "\0asm", version 1
 * Abi.importProblems(WasmBinary.read(empty)) // [] (no imports at all)
 * Abi.importProblems(WasmBinary.read(empty), ["kv_get"]) // host.kv_get may be imported too
 */
export const importProblems = (
  info: ModuleInfo,
  hostFunctions: ReadonlyArray<string> = []
): ReadonlyArray<string> =>
  info.imports.flatMap((i) => {
    // WASI imports are checked against the plugin's grant (WasiNotGranted), not against the ABI.
    if (i.module === "wasi_snapshot_preview1") return []
    const expected = i.kind !== "func"
      ? undefined
      : i.module === "env" && Object.hasOwn(hostImports, i.name)
      ? hostImports[i.name]
      : i.module === hostFunctionModule && hostFunctions.includes(i.name)
      ? hostFunctionType
      : undefined
    if (expected === undefined && i.module === hostFunctionModule) {
      return [`${i.module}.${i.name} (${i.kind}): no host function of that name is provided`]
    }
    if (expected === undefined) return [`${i.module}.${i.name} (${i.kind})`]
    return sameType(i.type, expected)
      ? []
      : [`${i.module}.${i.name}: expected ${formatType(expected)}, got ${formatType(i.type)}`]
  })

/**
 * Every required export missing or mistyped (and a mistyped `gn_abi_version`), described.
 *
 * @since 0.1.0
 * @category validation
 * @example
 * import { Abi, WasmBinary } from "hookbus/wasm"
 *
 * const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) // "\0asm", version 1
 * Abi.exportProblems(WasmBinary.read(empty)) // ["memory (missing)", "gn_alloc (missing)", ...]
 */
export const exportProblems = (info: ModuleInfo): ReadonlyArray<string> => {
  const exports = new Map(info.exports.map((e) => [e.name, e]))
  const problems = Object.entries(requiredExports).flatMap(([name, expected]) => {
    const found = exports.get(name)
    if (found === undefined) return [`${name} (missing)`]
    if (expected === "memory") return found.kind === "memory" ? [] : [`${name}: expected a memory, got a ${found.kind}`]
    if (found.kind !== "func") return [`${name}: expected a function, got a ${found.kind}`]
    return sameType(found.type, expected)
      ? []
      : [`${name}: expected ${formatType(expected)}, got ${formatType(found.type)}`]
  })
  const versionFound = exports.get(versionExport.name)
  if (
    versionFound !== undefined && (versionFound.kind !== "func" || !sameType(versionFound.type, versionExport.type))
  ) {
    problems.push(
      `${versionExport.name}: expected ${formatType(versionExport.type)}, got ${formatType(versionFound.type)}`
    )
  }
  return problems
}

/**
 * Checks a module's exports and imports against the ABI; returns the first kind of problem, with every instance.
 *
 * @since 0.1.0
 * @category validation
 * @example
 * import { Abi, WasmBinary } from "hookbus/wasm"
 *
 * const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) // "\0asm", version 1
 * const problem = Abi.checkModule("empty", WasmBinary.read(empty)) // MissingExport naming the four exports
 */
export const checkModule = (
  plugin: string,
  info: ModuleInfo,
  hostFunctions: ReadonlyArray<string> = []
): MissingExport | UnknownImport | undefined => {
  const imports = importProblems(info, hostFunctions)
  if (imports.length > 0) return new UnknownImport({ plugin, imports })
  const exports = exportProblems(info)
  return exports.length > 0 ? new MissingExport({ plugin, exports }) : undefined
}

/** Fails a JSON encoding on values JSON would silently drop or mangle. */
const strictReplacer = function(this: unknown, key: string, value: unknown): unknown {
  switch (typeof value) {
    case "function":
    case "symbol":
    case "bigint":
      throw new TypeError(`a ${typeof value} ${key === "" ? "as the value" : `at key "${key}"`} has no JSON form`)
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`${value} ${key === "" ? "" : `at key "${key}" `}has no JSON form`)
      }
  }
  return value
}

/**
 * Encodes a value as JSON, strictly: returns the text, or the reason it has no JSON form.
 *
 * @since 0.1.0
 * @category encoding
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * Abi.toJson({ title: "Hello" }) // '{"title":"Hello"}'
 * Abi.toJson({ id: 1n }) // { error: "..." }: a bigint has no JSON form
 */
export const toJson = (value: unknown): string | { readonly error: string } => {
  // A string (the common filter value) always has a JSON form, and the replacer would only return it.
  if (typeof value === "string") return JSON.stringify(value)
  try {
    return JSON.stringify(value === undefined ? null : value, strictReplacer)
  } catch (error) {
    return { error: errorMessage(error) }
  }
}

/**
 * The JSON payload of an action call: `{"kind":"action","args":[...]}`.
 *
 * @since 0.1.0
 * @category encoding
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * Abi.actionPayload("seo", "post.saved", ["42"]) // '{"kind":"action","args":["42"]}'
 */
export const actionPayload = (
  plugin: string,
  hook: string,
  args: ReadonlyArray<unknown>
): string | UnencodableValue => {
  const json = toJson(args)
  return typeof json === "string"
    ? `{"kind":"action","args":${json}}`
    : new UnencodableValue({ plugin, hook, detail: json.error })
}

/**
 * The JSON payload of a filter call: `{"kind":"filter","value":...,"args":[...]}` (a missing value is `null`).
 *
 * @since 0.1.0
 * @category encoding
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * Abi.filterPayload("seo", "the_content", "hello", []) // '{"kind":"filter","value":"hello","args":[]}'
 */
export const filterPayload = (
  plugin: string,
  hook: string,
  value: unknown,
  args: ReadonlyArray<unknown>
): string | UnencodableValue => {
  const v = toJson(value)
  if (typeof v !== "string") return new UnencodableValue({ plugin, hook, detail: v.error })
  const a = args.length === 0 ? "[]" : toJson(args)
  if (typeof a !== "string") return new UnencodableValue({ plugin, hook, detail: a.error })
  return `{"kind":"filter","value":${v},"args":${a}}`
}

/**
 * A status (ptr 0, len < 0) as the error it stands for.
 *
 * @since 0.1.0
 * @category decoding
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * Abi.statusError("seo", "the_title", Abi.Status.unknownHook) // UnknownHook { plugin: "seo", hook: "the_title" }
 */
export const statusError = (plugin: string, hook: string, status: number): PluginCallError => {
  switch (status) {
    case Status.error:
      return new GuestError({ plugin, hook, detail: "the guest returned status -1 (error)", status })
    case Status.outOfMemory:
      return new GuestOutOfMemory({ plugin, hook })
    case Status.badPayload:
      return new BadPayload({ plugin, hook, detail: "the guest rejected the payload (status -3)" })
    case Status.unknownHook:
      return new UnknownHook({ plugin, hook })
    case Status.trap:
      return new GuestError({
        plugin,
        hook,
        detail: "the guest returned status -5, which is reserved for the host",
        status
      })
    default:
      return new GuestError({ plugin, hook, detail: `the guest returned unknown status ${status}`, status })
  }
}

/**
 * Checks a packed result's pointer and length against the result cap and the memory size. Returns `undefined` when
 * the block `[ptr, ptr+len)` may be read, or the error.
 *
 * @since 0.1.0
 * @category decoding
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * // A 16-byte result at offset 1024 of a 64 KiB memory, under a 1 MiB cap: readable.
 * Abi.checkResultBlock("seo", "the_content", 1024, 16, 65_536, Abi.defaultMaxResultBytes) // undefined
 */
export const checkResultBlock = (
  plugin: string,
  hook: string,
  ptr: number,
  len: number,
  memoryBytes: number,
  maxResultBytes: number
): PluginCallError | undefined => {
  if (len > maxResultBytes) return new ResultTooLarge({ plugin, hook, size: len, limit: maxResultBytes })
  if (len < 0) return new BadResult({ plugin, hook, detail: `negative length ${len} with pointer ${ptr}` })
  if (ptr === 0) return new BadResult({ plugin, hook, detail: `a body of ${len} bytes at pointer 0` })
  if (ptr + len > memoryBytes) {
    return new BadResult({
      plugin,
      hook,
      detail: `result block [${ptr}, ${ptr + len}) lies outside memory of ${memoryBytes} bytes`
    })
  }
  return undefined
}

const decoder = new TextDecoder("utf-8", { fatal: true })

/**
 * The deepest nesting of arrays and objects a result body may have (the body's own object is level 1). Deeper
 * values would reach host code that recurses over them (`JSON.stringify`, structured cloning to a worker).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const deep = "[".repeat(Abi.maxJsonDepth + 1) // a body nested this deep is BadPayload
 */
export const maxJsonDepth = 128

/** Set by `nestingDepth`: whether the text has a number that could parse as not finite. */
let mayOverflow = false

/**
 * The nesting depth of JSON text, read from its bytes (strings skipped); stops counting past `limit`. It also
 * notes, in `mayOverflow`, whether a number has an exponent or more than 300 digits: only such a number can parse
 * as `Infinity`, so a body without one needs no walk for non-finite numbers.
 */
const nestingDepth = (bytes: Uint8Array, limit: number): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  let digits = 0
  mayOverflow = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if (inString) {
      if (b === 0x5c) i++
      else if (b === 0x22) inString = false
      continue
    }
    if (b >= 0x30 && b <= 0x39) {
      if (++digits > 300) mayOverflow = true
      continue
    }
    // An exponent follows a digit or a point; the `e` of `true` and `false` follows a letter.
    if ((b === 0x65 || b === 0x45) && (digits > 0 || bytes[i - 1] === 0x2e)) mayOverflow = true
    if (b !== 0x2e) digits = 0
    if (b === 0x22) inString = true
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest
    } else if (b === 0x5d || b === 0x7d) depth--
  }
  return deepest
}

/**
 * Whether the text holds at most `limit` opening brackets (strings included), so no nesting can pass `limit`. Read
 * from the decoded text with the string's `indexOf` (much faster than a typed array's): most bodies have a few,
 * and then the byte-by-byte scan is not needed. A bracket is one byte in UTF-8, so text and bytes count alike.
 */
const fewBrackets = (text: string, limit: number): boolean => {
  let count = 0
  for (let i = text.indexOf("{"); i !== -1; i = text.indexOf("{", i + 1)) if (++count > limit) return false
  for (let i = text.indexOf("["); i !== -1; i = text.indexOf("[", i + 1)) if (++count > limit) return false
  return true
}

/** Whether a number in the text may have an exponent: an `e` or `E` after a digit or a point. */
const exponent = /[0-9.][eE]/

/** The path of the first number that is not finite (`1e400` parses as `Infinity`), or `undefined`. */
const nonFinite = (value: unknown, path: string): string | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : path
  if (typeof value !== "object" || value === null) return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nonFinite(value[i], `${path}[${i}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const key in value) {
    const found = nonFinite((value as Record<string, unknown>)[key], `${path}.${key}`)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * Decodes a result body: valid UTF-8, valid JSON nested at most `maxJsonDepth` deep, an object, and only finite
 * numbers.
 *
 * @since 0.1.0
 * @category decoding
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * const body = Abi.parseBody("seo", "the_content", new TextEncoder().encode(`{"value":"HELLO"}`))
 * // { value: "HELLO" }, or BadPayload for invalid UTF-8 or JSON, a non-object, a too deep or non-finite value
 */
export const parseBody = (plugin: string, hook: string, bytes: Uint8Array): Record<string, unknown> | BadPayload => {
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    // Too deep is reported before invalid UTF-8, whichever the body is also.
    return nestingDepth(bytes, maxJsonDepth) > maxJsonDepth
      ? new BadPayload({ plugin, hook, detail: `the result body nests deeper than ${maxJsonDepth} levels` })
      : new BadPayload({ plugin, hook, detail: "the result body is not valid UTF-8" })
  }
  if (fewBrackets(text, maxJsonDepth)) {
    // No nesting can pass the bound; a number can overflow only with an exponent or past 300 digits.
    mayOverflow = text.length > 300 || ((text.includes("e") || text.includes("E")) && exponent.test(text))
  } else if (nestingDepth(bytes, maxJsonDepth) > maxJsonDepth) {
    return new BadPayload({ plugin, hook, detail: `the result body nests deeper than ${maxJsonDepth} levels` })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return new BadPayload({
      plugin,
      hook,
      detail: `the result body is not valid JSON (${errorMessage(error)})`
    })
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return new BadPayload({ plugin, hook, detail: "the result body is not a JSON object" })
  }
  // Depth is bounded above, so this recursion is too.
  const infinite = mayOverflow ? nonFinite(parsed, "body") : undefined
  if (infinite !== undefined) {
    return new BadPayload({ plugin, hook, detail: `the number at ${infinite} is out of range (not finite)` })
  }
  return parsed as Record<string, unknown>
}

/**
 * An `{"error": {...}}` body as a `GuestError`, or `undefined` when the body is not one.
 *
 * @since 0.1.0
 * @category decoding
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * Abi.bodyError("seo", "the_content", { error: { message: "title missing", code: "E_TITLE" } }) // GuestError
 */
export const bodyError = (plugin: string, hook: string, body: Record<string, unknown>): GuestError | undefined => {
  if (!("error" in body)) return undefined
  const error = body.error
  if (typeof error === "object" && error !== null) {
    const { code, message } = error as { message?: unknown; code?: unknown }
    return new GuestError({
      plugin,
      hook,
      detail: typeof message === "string" ? message : "the guest returned an error without a message",
      ...(typeof code === "string" ? { code } : {})
    })
  }
  return new GuestError({ plugin, hook, detail: typeof error === "string" ? error : JSON.stringify(error) })
}

/**
 * What a filter call returned.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Abi } from "hookbus/wasm"
 *
 * const describe = (o: Abi.FilterOutcome) => o.shortCircuit ? `stop with ${String(o.value)}` : "go on"
 */
export interface FilterOutcome {
  readonly value: unknown
  /** The guest asked to stop the chain (`{"shortCircuit": true}`). */
  readonly shortCircuit: boolean
}

/**
 * A filter's outcome from its body (`undefined` body: the value is unchanged).
 *
 * @since 0.1.0
 * @category decoding
 * @example
 * import { Abi } from "hookbus/wasm"
 *
 * Abi.filterOutcome("seo", "the_content", "hello", { value: "HELLO", shortCircuit: true })
 * // { value: "HELLO", shortCircuit: true }
 */
export const filterOutcome = (
  plugin: string,
  hook: string,
  input: unknown,
  body: Record<string, unknown> | undefined
): FilterOutcome | PluginCallError => {
  if (body === undefined) return { value: input, shortCircuit: false }
  const error = bodyError(plugin, hook, body)
  if (error !== undefined) return error
  const shortCircuit = body.shortCircuit
  if (shortCircuit !== undefined && typeof shortCircuit !== "boolean") {
    return new BadPayload({ plugin, hook, detail: "shortCircuit must be a boolean" })
  }
  return { value: "value" in body ? body.value : null, shortCircuit: shortCircuit === true }
}
