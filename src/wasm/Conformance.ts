/**
 * The conformance suite behind `hookbus conformance`: runs a plugin, whatever language built it, through every row
 * of ABI v1 (docs/abi-v1.md) that a guest can get wrong: the static checks of `inspect`, then alloc and free
 * accounting, each status, empty and Unicode values, large values, the payload cap, well-formed answers, and many
 * calls with memory flat. Only the contract is tested, never what a hook computes, so any guest can run it. Never
 * fails: every problem is a failed row.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type * as Path from "effect/Path"
import type * as Manifest from "../domain/Manifest.ts"
import type { CallResult, Guest } from "./Guest.ts"
import * as Inspect from "./Inspect.ts"
import { allocRow, row } from "./internal/AllocProbe.ts"
import { probeGuest } from "./internal/ProbeGuest.ts"
import * as Wasi from "./internal/Wasi.ts"
import * as Limits from "./Limits.ts"

/**
 * How many calls the memory row makes after its warm-up, unless `calls` says otherwise.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Conformance } from "hookbus/wasm"
 *
 * Conformance.defaultCalls // 10_000
 */
export const defaultCalls = 10_000

/**
 * Settings for a run: `calls`, how many calls the memory row makes (default `defaultCalls`).
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Conformance } from "hookbus/wasm"
 *
 * const soak: Conformance.ConformanceOptions = { calls: 100_000 }
 */
export interface ConformanceOptions {
  readonly calls?: number | undefined
}

/**
 * The outcome of a run: one row per check (the `inspect` checks first), and whether all passed.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Conformance } from "hookbus/wasm"
 *
 * const failed = (report: Conformance.ConformanceReport) => report.rows.filter((row) => !row.ok).map((row) => row.name)
 */
export interface ConformanceReport {
  readonly target: string
  readonly plugin: string | undefined
  readonly calls: number
  readonly rows: ReadonlyArray<Inspect.Check>
  readonly ok: boolean
}

/** The problem with an answer that is not a well-formed ABI answer (a defined status or a valid body), if any. */
const malformed = (result: CallResult): string | undefined => {
  if (result._tag === "Ok") return undefined
  const error = result.error
  switch (error._tag) {
    case "GuestError":
      return error.status === undefined || error.status === -1 ? undefined : error.message
    case "BadPayload":
      return error.detail.includes("(status -3)") ? undefined : error.message
    case "GuestOutOfMemory":
    case "UnknownHook":
      return undefined
    case "BadResult":
    case "ResultTooLarge":
      return error.message
    default:
      return undefined
  }
}

const outOfMemory = (result: CallResult): boolean =>
  result._tag === "Err" &&
  (result.error._tag === "GuestOutOfMemory" ||
    (result.error._tag === "Trapped" && /out of memory/i.test(result.error.detail)))

/** The problem with the answer to a declared hook: a trap, fuel, unknown hook or a malformed answer. */
const answerProblem = (hook: string, result: CallResult, allowOutOfMemory = false): string | undefined => {
  if (result._tag === "Ok" || (allowOutOfMemory && outOfMemory(result))) return undefined
  const error = result.error
  if (error._tag === "UnknownHook") return `${hook}: declared, but answers unknown hook (-4)`
  if (error._tag === "GuestError" || error._tag === "GuestOutOfMemory" || error._tag === "BadPayload") {
    return malformed(result) === undefined ? undefined : `${hook}: ${malformed(result)}`
  }
  return `${hook}: ${error.message}`
}

const unicode = "Ünïcödé ΣΟΦΟΣ İ ß ǅ 日本語 🎉 👩‍👩‍👧 𝔘𝔫𝔦 e\u0301 \u200fעברית\u200f \u0000 \"q\" \\ \n\t \ufeff \ud800 end"
const filterPayload = (value: unknown) => JSON.stringify({ kind: "filter", value, args: [] })
const actionPayload = (args: ReadonlyArray<unknown>) => JSON.stringify({ kind: "action", args })

/** A payload of exactly `bytes` bytes carrying one string of `a`s (as the value of a filter, the argument of an action). */
const payloadAtCap = (hook: Manifest.ManifestHook, bytes: number): string => {
  const shell = hook.kind === "filter" ? filterPayload("Ünï 🎉 ") : actionPayload(["Ünï 🎉 "])
  const at = shell.indexOf("🎉 ") + "🎉 ".length
  return shell.slice(0, at) + "a".repeat(bytes - Buffer.byteLength(shell)) + shell.slice(at)
}

const nested = (
  depth: number
): unknown => (depth === 0 ? "deep" : depth % 2 === 0 ? [nested(depth - 1)] : { d: nested(depth - 1) })
const largeValues: ReadonlyArray<readonly [string, unknown]> = [
  ["2,000 numbers", Array.from({ length: 2_000 }, (_, i) => i * 1.5)],
  ["100 levels of nesting", nested(100)],
  ["extreme numbers", [1.7976931348623157e308, -0, 5e-324, 9007199254740992, -1e-7, 1e21]],
  ["16 KiB of Unicode", unicode.repeat(Math.ceil(16_384 / unicode.length))]
]

/** The rows that call the guest, in order. */
const callRows = (guest: Guest, hooks: ReadonlyArray<Manifest.ManifestHook>, cap: number, calls: number) => {
  const rows: Array<Inspect.Check> = [allocRow(guest)]
  // The rest starts on a fresh instance: a broken allocator must not fail every row after its own.
  guest.drop()
  const answers: Array<string> = []
  const call = (hook: string, payload: string): CallResult => {
    const result = guest.call(hook, payload)
    const problem = malformed(result)
    if (problem !== undefined) answers.push(problem)
    return result
  }
  const forEachHook = (
    name: string,
    payloads: (hook: Manifest.ManifestHook) => ReadonlyArray<string>,
    detail: string,
    allowOutOfMemory = false
  ) => {
    const short: Array<string> = []
    const problems = hooks.flatMap((hook) =>
      payloads(hook).flatMap((payload) => {
        const result = call(hook.name, payload)
        if (outOfMemory(result)) short.push(hook.name)
        return answerProblem(hook.name, result, allowOutOfMemory) ?? []
      })
    )
    const memory = short.length === 0 ? "" : ` (out of memory: ${[...new Set(short)].join(", ")})`
    rows.push(row(name, problems, hooks.length === 0 ? "no hooks declared: nothing to call" : detail + memory))
  }

  const unknownProblems = (["filter", "action"] as const).flatMap((kind) => {
    const result = call("hookbus.conformance.unknown", kind === "filter" ? filterPayload(null) : actionPayload([]))
    return result._tag === "Err" && result.error._tag === "UnknownHook"
      ? []
      : [`${kind}: ${result._tag === "Ok" ? "answered success" : result.error.message}`]
  })
  rows.push(row("status -4", unknownProblems, "an unknown hook answers unknown_hook, as a filter and as an action"))

  const first = hooks[0]
  const badProblems = first === undefined ?
    [] :
    ["not json", "[]", `{"kind":"neither","args":[]}`].flatMap((payload) => {
      const result = call(first.name, payload)
      const rejected = result._tag === "Err" &&
        (result.error._tag === "BadPayload" || result.error._tag === "GuestError")
      return rejected && malformed(result) === undefined
        ? []
        : [`${JSON.stringify(payload)}: ${result._tag === "Ok" ? "answered success" : result.error.message}`]
    })
  rows.push(
    row(
      "status -3",
      badProblems,
      first === undefined
        ? "no hooks declared"
        : `${first.name} rejects payloads that are not the ABI's (not JSON, not an object, an unknown kind)`
    )
  )

  forEachHook(
    "empty values",
    (hook) =>
      hook.kind === "action" ? [actionPayload([])] : [filterPayload(null), filterPayload(""), filterPayload([])],
    "empty actions (args []) and filters of null, \"\" and [] answer without a trap"
  )
  forEachHook(
    "unicode",
    (hook) =>
      hook.kind === "action"
        ? [actionPayload([unicode, { [unicode]: unicode }])]
        : [filterPayload(unicode), filterPayload({ [unicode]: [unicode] })],
    "values with accents, final sigma, astral code points, ZWJ sequences, RTL marks, NUL, escapes, BOM and a lone surrogate answer without a trap"
  )
  forEachHook(
    "large values",
    (hook) => largeValues.map(([, value]) => hook.kind === "action" ? actionPayload([value]) : filterPayload(value)),
    largeValues.map(([name]) => name).join(", ")
  )
  forEachHook(
    "payload cap",
    (hook) => [payloadAtCap(hook, cap)],
    `a payload of exactly ${cap} bytes is answered (or refused as out of memory, cleanly)`,
    true
  )
  const over = hooks.flatMap((hook) => {
    const result = call(hook.name, payloadAtCap(hook, cap + 1))
    return result._tag === "Err" && result.error._tag === "PayloadTooLarge"
      ? []
      : [`${hook.name}: one byte over the cap was not refused`]
  })
  if (over.length > 0) rows.push(row("payload cap + 1", over, ""))

  // Many calls: warm up, then memory must not move and no call may trap (a trap replaces the instance).
  const sample = (hook: Manifest.ManifestHook) =>
    hook.kind === "filter"
      ? filterPayload("The quick brown fox jumps over the lazy dog. Ünïcödé 🎉")
      : actionPayload(["sample-1", "Zoë"])
  const cycle = hooks.length === 0
    ? [{ name: "hookbus.conformance.unknown", payload: filterPayload(null) }]
    : hooks.map((h) => ({ name: h.name, payload: sample(h) }))
  const warmup = Math.min(1_000, calls)
  for (let i = 0; i < warmup; i++) call(cycle[i % cycle.length].name, cycle[i % cycle.length].payload)
  const instances = guest.instances
  const before = guest.memoryBytes()
  const failures: Array<string> = []
  for (let i = 0; i < calls; i++) {
    const { name, payload } = cycle[i % cycle.length]
    const result = call(name, payload)
    if (
      result._tag === "Err" && failures.length < 3 &&
      (result.error._tag === "Trapped" || result.error._tag === "OutOfFuel" || result.error._tag === "GuestOutOfMemory")
    ) {
      failures.push(`call ${i}: ${result.error.message}`)
    }
  }
  const after = guest.memoryBytes()
  rows.push(row(
    `${calls} calls`,
    [
      ...failures,
      ...(guest.instances === instances ? [] : [`${guest.instances - instances} instance(s) replaced after traps`]),
      ...(after === before ? [] : [`memory grew from ${before} to ${after} bytes`])
    ],
    `after ${warmup} warm-up calls, memory flat at ${after} bytes, no trap, no out of memory`
  ))
  rows.push(
    row(
      "answers",
      answers,
      "every answer was a defined status or a valid body (no bad result block, no reserved status)"
    )
  )
  return rows
}

/**
 * Runs the suite on a plugin folder (or a lone `.wasm` file, with no hooks to call): the `inspect` checks, then,
 * when they pass, the rows that call the guest, metered and capped as `Plugin.load` would.
 *
 * @since 0.1.0
 * @category running
 * @example
 * import { Effect } from "effect"
 * import { Conformance } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const report = yield* Conformance.run("examples/plugins/uppercase", { calls: 1_000 })
 *   console.log(Conformance.format(report))
 * })
 */
export const run = (
  path: string,
  options: ConformanceOptions = {}
): Effect.Effect<ConformanceReport, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const calls = options.calls ?? defaultCalls
    const source = yield* Inspect.read(path)
    const inspected = source.bytes === undefined
      ? { checks: source.checks, ok: false }
      : yield* Inspect.inspectBytes(source.bytes, source.manifest, path, source.checks)
    const report = (rows: ReadonlyArray<Inspect.Check>): ConformanceReport => ({
      target: path,
      plugin: source.manifest?.name,
      calls,
      rows,
      ok: rows.every((r) => r.ok)
    })
    const limits = Limits.resolve(source.manifest?.name ?? "conformance", source.manifest?.limits, undefined)
    if (!inspected.ok || source.bytes === undefined || limits instanceof Error) return report(inspected.checks)
    const bytes = source.bytes
    const guest = yield* Effect.promise(() =>
      probeGuest(
        bytes,
        source.manifest?.name ?? "conformance",
        limits,
        undefined,
        Wasi.manifestGrant(source.manifest?.wasi, path)
      )
    )
    const rows = callRows(guest, source.manifest?.hooks ?? [], limits.maxPayloadBytes, calls)
    guest.drop()
    return report([...inspected.checks, ...rows])
  })

/**
 * The report as a table: one row per check with PASS or FAIL, then a verdict.
 *
 * @since 0.1.0
 * @category formatting
 * @example
 * import { Effect } from "effect"
 * import { Conformance } from "hookbus/wasm"
 *
 * const table = Effect.map(Conformance.run("plugins/seo"), Conformance.format) // "conformance plugins/seo (seo) ..."
 */
export const format = (report: ConformanceReport): string => {
  const width = Math.max(16, ...report.rows.map((r) => r.name.length))
  const failed = report.rows.filter((r) => !r.ok).length
  return [
    `conformance ${report.target}${report.plugin === undefined ? "" : ` (${report.plugin})`}`,
    `  ${"row".padEnd(width)} result  detail`,
    ...report.rows.map((r) => `  ${r.name.padEnd(width)} ${r.ok ? "PASS  " : "FAIL  "}  ${r.detail}`),
    failed === 0
      ? `conformant: all ${report.rows.length} rows passed`
      : `not conformant: ${failed} of ${report.rows.length} rows failed`
  ].join("\n")
}
