/**
 * The conformance checker behind `hookbus inspect` and `Plugin.inspect`: checks a plugin's manifest, exports and
 * signatures, imports and memory limits, then probes the module (an unknown hook answers -4, alloc/free round
 * trips, each declared hook answers within its fuel budget on a sample payload). Never fails: every problem is a
 * failed check in the report.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import { createHash } from "node:crypto"
import { errorMessage } from "../domain/errorMessage.ts"
import * as Manifest from "../domain/Manifest.ts"
import * as Abi from "./Abi.ts"
import type { Guest } from "./Guest.ts"
import { probeGuest } from "./internal/ProbeGuest.ts"
import * as Wasi from "./internal/Wasi.ts"
import * as Limits from "./Limits.ts"
import * as PluginFiles from "./PluginFiles.ts"
import * as PluginInstance from "./PluginInstance.ts"
import * as WasmBinary from "./WasmBinary.ts"

/**
 * One check: its name, whether it passed, and why.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Inspect } from "hookbus/wasm"
 *
 * const failed = (checks: ReadonlyArray<Inspect.Check>) => checks.filter((c) => !c.ok).map((c) => c.name)
 */
export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

/**
 * The outcome of an inspection.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Inspect } from "hookbus/wasm"
 *
 * const verdict = (report: Inspect.InspectReport) => `${report.target}: ${report.ok ? "conformant" : "not conformant"}`
 */
export interface InspectReport {
  readonly target: string
  readonly plugin: string | undefined
  readonly checks: ReadonlyArray<Check>
  /** True when every check passed. */
  readonly ok: boolean
}

const pass = (name: string, detail: string): Check => ({ name, ok: true, detail })
const fail = (name: string, detail: string): Check => ({ name, ok: false, detail })

/** A payload for probing a declared hook. */
const samplePayload = (hook: Manifest.ManifestHook): string =>
  hook.kind === "filter"
    ? `{"kind":"filter","value":"The quick brown fox jumps over the lazy dog.","args":[]}`
    : `{"kind":"action","args":["sample-1","inspector"]}`

/**
 * Checks a module (and its manifest, when there is one).
 *
 * @since 0.1.0
 * @category inspection
 * @example
 * import { Effect } from "effect"
 * import { Inspect } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const program = Effect.map(Inspect.inspectBytes(bytes, undefined, "upload.wasm"), (report) => report.ok)
 */
export const inspectBytes = (
  bytes: Uint8Array,
  manifest: Manifest.Manifest | undefined,
  target: string,
  earlier: ReadonlyArray<Check> = []
): Effect.Effect<InspectReport> =>
  Effect.promise(async () => {
    const checks: Array<Check> = [...earlier]
    const finish = (): InspectReport => ({
      target,
      plugin: manifest?.name,
      checks,
      ok: checks.every((c) => c.ok)
    })
    let info: WasmBinary.ModuleInfo
    try {
      info = WasmBinary.read(bytes)
      await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>)
      checks.push(pass("module", `WebAssembly module, ${bytes.length} bytes`))
    } catch (error) {
      checks.push(fail("module", errorMessage(error)))
      return finish()
    }
    const exports = Abi.exportProblems(info)
    checks.push(
      exports.length === 0
        ? pass("exports", "memory, gn_alloc, gn_free, gn_handle_hook with the ABI's signatures")
        : fail("exports", exports.join("; "))
    )
    const imports = Abi.importProblems(info)
    const used = info.imports.filter((i) => i.module === "env").map((i) => i.name)
    checks.push(
      imports.length === 0
        ? pass("imports", used.length === 0 ? "none" : `only ABI host functions: ${used.join(", ")}`)
        : fail("imports", `not provided by the ABI: ${imports.join("; ")}`)
    )
    if (Wasi.usesWasi(info.imports)) {
      const ungranted = Wasi.ungranted(info.imports, Wasi.manifestGrant(manifest?.wasi, target))
      checks.push(
        ungranted.length === 0
          ? pass(
            "wasi",
            `WASI preview 1 as granted: ${info.imports.filter((i) => i.module === Wasi.namespace).length} import(s)`
          )
          : fail("wasi", `not granted: ${ungranted.join("; ")}`)
      )
    }
    // The same ceilings as loading: the manifest may ask for less than the defaults, never more.
    const limits = Limits.resolve(manifest?.name ?? "inspect", manifest?.limits, undefined)
    if (limits instanceof Error) {
      checks.push(fail("limits", limits.message))
      return finish()
    }
    const declared = manifest?.capabilities
    if (declared !== undefined) {
      const undeclared = [...new Set(used)].filter((name) => !(declared as ReadonlyArray<string>).includes(name))
      if (undeclared.length > 0) {
        checks.push(fail("capabilities", `the module imports ${undeclared.join(", ")}, not declared in capabilities`))
      }
    }
    const cap = limits.memoryPages
    const memory = info.memories[0]
    if (memory === undefined) checks.push(fail("memory", "the module defines no memory"))
    else if (info.memories.length > 1) {
      checks.push(fail("memory", `the module defines ${info.memories.length} memories; ABI v1 allows one`))
    } else if (memory.memory64) checks.push(fail("memory", "64-bit memories are not supported by ABI v1"))
    else if (memory.min > cap) {
      checks.push(fail("memory", `minimum ${memory.min} pages exceeds the cap of ${cap} pages`))
    } else {
      checks.push(
        pass("memory", `minimum ${memory.min} pages, capped at ${Math.min(memory.max ?? cap, cap)} of ${cap}`)
      )
    }
    // The same table rules as loading, with the default cap; only a problem is listed (most modules have a table).
    const tableProblem = WasmBinary.tableFormProblem(info)
    const table = info.tables[0]
    if (tableProblem !== undefined) checks.push(fail("table", tableProblem))
    else if (table !== undefined && table.min > PluginInstance.defaultMaxTableElements) {
      checks.push(
        fail(
          "table",
          `minimum ${table.min} elements exceeds limits.maxTableElements (${PluginInstance.defaultMaxTableElements})`
        )
      )
    }
    if (!checks.every((c) => c.ok)) return finish()

    const budget = limits.fuel
    let guest: Guest
    try {
      guest = await probeGuest(
        bytes,
        manifest?.name ?? "inspect",
        limits,
        undefined,
        Wasi.manifestGrant(manifest?.wasi, target)
      )
    } catch (error) {
      checks.push(fail("instrument", `cannot meter the module: ${errorMessage(error)}`))
      return finish()
    }
    const start = guest.start()
    if (start !== undefined) {
      checks.push(fail("start", start.message))
      return finish()
    }
    const version = guest.abiVersion()
    checks.push(
      typeof version === "object"
        ? fail("abi version", version.message)
        : version === undefined || version === Abi.version
        ? pass("abi version", version === undefined ? "no gn_abi_version (ABI 1 assumed)" : "gn_abi_version is 1")
        : fail("abi version", `gn_abi_version returned ${version}`)
    )
    const unknown = guest.call("hookbus.inspect.unknown-hook", `{"kind":"filter","value":null,"args":[]}`)
    checks.push(
      unknown._tag === "Err" && unknown.error._tag === "UnknownHook"
        ? pass("unknown hook", "answers status -4")
        : fail(
          "unknown hook",
          `must answer status -4, got ${unknown._tag === "Ok" ? "success" : unknown.error.message}`
        )
    )
    const alloc = guest.probeAlloc(1024)
    checks.push(alloc === undefined ? pass("alloc/free", "1024-byte round trip") : fail("alloc/free", alloc))
    for (const hook of manifest?.hooks ?? []) {
      const result = guest.call(hook.name, samplePayload(hook))
      const name = `hook ${hook.name}`
      if (result._tag === "Ok") {
        checks.push(pass(name, `${hook.kind} answered, ${result.fuelUsed ?? 0} of ${budget} fuel`))
        continue
      }
      const error = result.error
      switch (error._tag) {
        case "GuestError":
        case "BadPayload":
          checks.push(
            pass(
              name,
              `${hook.kind} answered with an error on the sample (${error.message}), ${result.fuelUsed ?? 0} fuel`
            )
          )
          break
        case "UnknownHook":
          checks.push(fail(name, "declared in the manifest, but the module answers unknown hook (-4)"))
          break
        case "OutOfFuel":
          checks.push(fail(name, `did not answer within its fuel budget of ${budget}`))
          break
        default:
          checks.push(fail(name, error.message))
      }
    }
    guest.drop()
    return finish()
  })

/** `PluginFiles.readInside`, with a missing file described as `inspect` always has, and a refusal by its rule. */
const readInside = (root: string, file: string, maxBytes: number) =>
  PluginFiles.readInside(root, file, maxBytes).pipe(
    Effect.mapError((error) =>
      error._tag === "PluginNotFound"
        ? `cannot read ${file}${file.endsWith(".wasm") ? " (run npm run build:plugins?)" : ""}`
        : error.message
    )
  )

/**
 * A plugin as read for checking: the checks made while reading (the manifest, the integrity hash), and the module
 * and manifest when they could be read (`bytes` is undefined when reading failed: the checks say why).
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Inspect } from "hookbus/wasm"
 *
 * const readable = (source: Inspect.PluginSource) => source.bytes !== undefined
 */
export interface PluginSource {
  readonly target: string
  readonly manifest: Manifest.Manifest | undefined
  readonly bytes: Uint8Array | undefined
  readonly checks: ReadonlyArray<Check>
}

/**
 * Reads a plugin folder (its `plugin.json` and module) or a lone `.wasm` file under the rules `Plugin.load`
 * applies, for `inspect` and the conformance suite. Never fails: a problem is a failed check.
 *
 * @since 0.1.0
 * @category inspection
 * @example
 * import { Effect } from "effect"
 * import { Inspect } from "hookbus/wasm"
 *
 * const size = Effect.map(Inspect.read("examples/plugins/uppercase"), (source) => source.bytes?.length ?? 0)
 */
export const read = (path: string): Effect.Effect<PluginSource, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    const failed = (manifest: Manifest.Manifest | undefined, checks: ReadonlyArray<Check>): PluginSource => ({
      target: path,
      manifest,
      bytes: undefined,
      checks
    })
    const stat = yield* Effect.result(fs.stat(path))
    if (stat._tag === "Failure") return failed(undefined, [fail("path", `cannot read ${path}`)])
    if (stat.success.type !== "Directory") {
      // Read under the same rules as a plugin folder's module: a regular file, under the size cap.
      const bytes = yield* Effect.result(
        fs.realPath(path).pipe(
          Effect.mapError((error) => new Error(error.message)),
          Effect.flatMap((real) => PluginFiles.readInside(p.dirname(real), real, PluginFiles.defaultMaxModuleBytes))
        )
      )
      if (bytes._tag === "Failure") return failed(undefined, [fail("path", bytes.failure.message)])
      return {
        target: path,
        manifest: undefined,
        bytes: bytes.success,
        checks: [pass("manifest", "none (a lone module): skipped")]
      }
    }
    const manifestPath = p.join(path, "plugin.json")
    const text = yield* Effect.result(readInside(path, manifestPath, PluginFiles.defaultMaxManifestBytes))
    if (text._tag === "Failure") return failed(undefined, [fail("manifest", text.failure)])
    const manifest = yield* Effect.result(Manifest.parse(new TextDecoder().decode(text.success), manifestPath))
    if (manifest._tag === "Failure") {
      const problems = manifest.failure.problems.map((pr) => `${pr.path}: ${pr.message}`).join("; ")
      return failed(undefined, [fail("manifest", problems)])
    }
    const m = manifest.success
    const manifestCheck = pass("manifest", `${m.name} ${m.version}, ${m.hooks.length} hook(s)`)
    if (m.wasm === undefined) return failed(m, [manifestCheck, fail("module", "the manifest names no wasm.path")])
    const wasmPath = p.resolve(path, m.wasm.path)
    const bytes = yield* Effect.result(readInside(path, wasmPath, PluginFiles.defaultMaxModuleBytes))
    if (bytes._tag === "Failure") return failed(m, [manifestCheck, fail("module", bytes.failure)])
    return { target: path, manifest: m, bytes: bytes.success, checks: [manifestCheck, ...integrity(m, bytes.success)] }
  })

/**
 * Inspects a plugin folder (its `plugin.json` and module) or a lone `.wasm` file (module checks only).
 *
 * @since 0.1.0
 * @category inspection
 * @example
 * import { Effect } from "effect"
 * import { Inspect } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const report = yield* Inspect.inspect("examples/plugins/uppercase")
 *   console.log(Inspect.format(report))
 * })
 */
export const inspect = (path: string): Effect.Effect<InspectReport, never, FileSystem.FileSystem | Path.Path> =>
  Effect.flatMap(read(path), (source) =>
    source.bytes === undefined
      ? Effect.succeed({
        target: path,
        plugin: source.manifest?.name,
        checks: source.checks,
        ok: source.checks.every((c) => c.ok)
      })
      : inspectBytes(source.bytes, source.manifest, path, source.checks))

/** The module against the manifest's `wasm.sha256`, as `Plugin.load` checks it; no check when there is none. */
const integrity = (manifest: Manifest.Manifest, bytes: Uint8Array): ReadonlyArray<Check> => {
  const expected = manifest.wasm?.sha256
  if (expected === undefined) return []
  const actual = createHash("sha256").update(bytes).digest("hex")
  return [
    actual === expected
      ? pass("integrity", "sha256 matches wasm.sha256")
      : fail("integrity", `sha256 mismatch: manifest says ${expected}, module is ${actual}`)
  ]
}

/**
 * The report as text: one line per check, then a verdict.
 *
 * @since 0.1.0
 * @category formatting
 * @example
 * import { Effect } from "effect"
 * import { Inspect } from "hookbus/wasm"
 *
 * const printed = Effect.map(Inspect.inspect("plugins/seo"), Inspect.format) // "inspect plugins/seo (seo)\n  PASS ..."
 */
export const format = (report: InspectReport): string => {
  // As wide as the longest check name (hook names can be long), so the details stay in one column.
  const width = Math.max(16, ...report.checks.map((c) => c.name.length))
  return [
    `inspect ${report.target}${report.plugin === undefined ? "" : ` (${report.plugin})`}`,
    ...report.checks.map((c) => `  ${c.ok ? "PASS" : "FAIL"}  ${c.name.padEnd(width)} ${c.detail}`),
    report.ok
      ? "conformant: every check passed"
      : `not conformant: ${report.checks.filter((c) => !c.ok).length} check(s) failed`
  ].join("\n")
}
