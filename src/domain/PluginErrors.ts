/**
 * The tagged errors of WebAssembly plugins. Each names the plugin, and the hook when a call failed. They are
 * schema classes, so they cross a worker boundary intact.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * How a guest call trapped.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import { Schema } from "effect"
 * import { TrapKind, type Trapped } from "hookbus/wasm"
 *
 * const isPanic = (e: Trapped) => e.kind === ("panic" satisfies TrapKind)
 * Schema.is(TrapKind)("stack_overflow") // true
 */
export const TrapKind = Schema.Literals([
  "unreachable",
  "out_of_bounds",
  "stack_overflow",
  "divide_by_zero",
  "panic",
  "other"
])
export type TrapKind = typeof TrapKind.Type

// ---------------------------------------------------------------------------------------------------------------
// Load time

/**
 * The bytes are not a WebAssembly module this host can compile.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { InvalidModule } from "hookbus/wasm"
 *
 * const error = new InvalidModule({ plugin: "seo", reason: "magic header not detected" })
 * console.log(error.message)
 */
export class InvalidModule extends Schema.TaggedError<InvalidModule>()("InvalidModule", {
  plugin: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}": not a loadable WebAssembly module: ${this.reason}`
  }
}

/**
 * Required ABI exports are missing or have the wrong type (each entry says which, and why).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { MissingExport } from "hookbus/wasm"
 *
 * const error = new MissingExport({ plugin: "seo", exports: ["gn_alloc (missing)"] })
 * console.log(error.message)
 */
export class MissingExport extends Schema.TaggedError<MissingExport>()("MissingExport", {
  plugin: Schema.String,
  exports: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `plugin "${this.plugin}": ABI exports missing or mistyped: ${this.exports.join("; ")}`
  }
}

/**
 * The module imports something the ABI does not provide (or provides with another type).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { UnknownImport } from "hookbus/wasm"
 *
 * const error = new UnknownImport({ plugin: "seo", imports: ["env.fetch"] })
 * console.log(error.message)
 */
export class UnknownImport extends Schema.TaggedError<UnknownImport>()("UnknownImport", {
  plugin: Schema.String,
  imports: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `plugin "${this.plugin}": imports not provided by the ABI: ${this.imports.join("; ")}`
  }
}

/**
 * The module imports WASI preview 1 functions its manifest's `wasi` field does not grant (or that hookbus does
 * not provide), each named with what it would need.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { WasiNotGranted } from "hookbus/wasm"
 *
 * const error = new WasiNotGranted({ plugin: "seo", imports: ['wasi_snapshot_preview1.random_get (needs "wasi": { "random": true })'] })
 * console.log(error.message)
 */
export class WasiNotGranted extends Schema.TaggedError<WasiNotGranted>()("WasiNotGranted", {
  plugin: Schema.String,
  imports: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `plugin "${this.plugin}": WASI imports not granted: ${this.imports.join("; ")}`
  }
}

/**
 * `gn_abi_version` returned something other than 1.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { AbiVersionMismatch } from "hookbus/wasm"
 *
 * const error = new AbiVersionMismatch({ plugin: "seo", version: 2 })
 * console.log(error.message)
 */
export class AbiVersionMismatch extends Schema.TaggedError<AbiVersionMismatch>()("AbiVersionMismatch", {
  plugin: Schema.String,
  version: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}": gn_abi_version returned ${this.version}, this host speaks ABI 1`
  }
}

/**
 * The module's memory minimum is above the cap (`limits.memoryPages`).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { MemoryLimit } from "hookbus/wasm"
 *
 * const error = new MemoryLimit({ plugin: "seo", minimumPages: 512, limitPages: 256 })
 * console.log(error.message)
 */
export class MemoryLimit extends Schema.TaggedError<MemoryLimit>()("MemoryLimit", {
  plugin: Schema.String,
  minimumPages: Schema.Number,
  limitPages: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}": memory minimum ${this.minimumPages} pages exceeds the cap of ${this.limitPages} pages`
  }
}

/**
 * The module is over a host limit on its size (`limits.maxModuleBytes`), its function count (`limits.maxFunctions`)
 * or its table's minimum size (`limits.maxTableElements`).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { ModuleTooLarge } from "hookbus/wasm"
 *
 * const error = new ModuleTooLarge({ plugin: "seo", limit: "maxModuleBytes", actual: 20_000_000, maximum: 16_777_216 })
 * console.log(error.message)
 */
export class ModuleTooLarge extends Schema.TaggedError<ModuleTooLarge>()("ModuleTooLarge", {
  plugin: Schema.String,
  limit: Schema.Literals(["maxModuleBytes", "maxFunctions", "maxTableElements"]),
  actual: Schema.Number,
  maximum: Schema.Number
}) {
  override get message(): string {
    const unit = this.limit === "maxModuleBytes"
      ? "bytes"
      : this.limit === "maxFunctions"
      ? "functions"
      : "table elements"
    const what = `${this.actual} ${unit}`
    return `plugin "${this.plugin}": module of ${what} exceeds limits.${this.limit} (${this.maximum})`
  }
}

/**
 * One problem in a manifest, at a JSON path such as `hooks[0].kind`.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import type { ManifestInvalid, ManifestProblem } from "hookbus/wasm"
 *
 * const lines = (e: ManifestInvalid) => e.problems.map((p: ManifestProblem) => `${p.path}: ${p.message}`)
 */
export const ManifestProblem = Schema.Struct({ path: Schema.String, message: Schema.String })
export type ManifestProblem = typeof ManifestProblem.Type

/**
 * `plugin.json` is not valid; every problem is listed with its JSON path.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { ManifestInvalid } from "hookbus/wasm"
 *
 * const error = new ManifestInvalid({ source: "plugins/seo/plugin.json", problems: [{ path: "hooks[0].kind", message: "Expected \"action\" | \"filter\"" }] })
 * console.log(error.message)
 */
export class ManifestInvalid extends Schema.TaggedError<ManifestInvalid>()("ManifestInvalid", {
  source: Schema.String,
  problems: Schema.Array(ManifestProblem)
}) {
  override get message(): string {
    return `invalid manifest ${this.source}: ${this.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`
  }
}

/**
 * The module's SHA-256 is not the one the manifest declares (checked before compiling).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { IntegrityMismatch } from "hookbus/wasm"
 *
 * const error = new IntegrityMismatch({ plugin: "seo", expected: "ab".repeat(32), actual: "cd".repeat(32) })
 * console.log(error.message)
 */
export class IntegrityMismatch extends Schema.TaggedError<IntegrityMismatch>()("IntegrityMismatch", {
  plugin: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}": sha256 mismatch: manifest says ${this.expected}, module is ${this.actual}`
  }
}

/**
 * A plugin's files could not be read.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { PluginNotFound } from "hookbus/wasm"
 *
 * const error = new PluginNotFound({ path: "plugins/seo/plugin.json", reason: "no such file" })
 * console.log(error.message)
 */
export class PluginNotFound extends Schema.TaggedError<PluginNotFound>()("PluginNotFound", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read plugin at ${this.path}: ${this.reason}`
  }
}

/**
 * Why a plugin file was refused: it resolves outside the folder, is not a regular file, or is over its cap.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import type { FileRule, PluginFileRejected } from "hookbus/wasm"
 *
 * const escaped = (e: PluginFileRejected) => e.rule === ("outside_folder" satisfies FileRule)
 */
export const FileRule = Schema.Literals(["outside_folder", "not_regular_file", "too_large"])
export type FileRule = typeof FileRule.Type

/**
 * A plugin folder's file breaks a rule of the sandbox; nothing was loaded.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { PluginFileRejected } from "hookbus/wasm"
 *
 * const error = new PluginFileRejected({ path: "plugins/seo/build/seo.wasm", rule: "not_regular_file", detail: "a FIFO" })
 * console.log(error.message)
 */
export class PluginFileRejected extends Schema.TaggedError<PluginFileRejected>()("PluginFileRejected", {
  path: Schema.String,
  rule: FileRule,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin file ${this.path} refused (${this.rule}): ${this.detail}`
  }
}

/**
 * One limit a manifest asks for above the host's ceiling.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import type { LimitAboveCeiling, LimitRequest } from "hookbus/wasm"
 *
 * const asked = (e: LimitAboveCeiling) => e.limits.map((l: LimitRequest) => `${l.limit}: ${l.requested} > ${l.ceiling}`)
 */
export const LimitRequest = Schema.Struct({ limit: Schema.String, requested: Schema.Number, ceiling: Schema.Number })
export type LimitRequest = typeof LimitRequest.Type

/**
 * The manifest asks for more than the host allows: the host's limits are ceilings, a manifest may only ask less.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { LimitAboveCeiling } from "hookbus/wasm"
 *
 * const error = new LimitAboveCeiling({ plugin: "seo", limits: [{ limit: "fuel", requested: 1e9, ceiling: 5e8 }] })
 * console.log(error.message)
 */
export class LimitAboveCeiling extends Schema.TaggedError<LimitAboveCeiling>()("LimitAboveCeiling", {
  plugin: Schema.String,
  limits: Schema.Array(LimitRequest)
}) {
  override get message(): string {
    return `plugin "${this.plugin}": the manifest asks for more than the host allows: ${
      this.limits.map((l) => `limits.${l.limit} ${l.requested} is over the ceiling of ${l.ceiling}`).join("; ")
    }`
  }
}

/**
 * The host policy does not allow what the manifest asks for.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { CapabilityDenied } from "hookbus/wasm"
 *
 * const error = new CapabilityDenied({ plugin: "seo", hooks: ["init"], imports: [] })
 * console.log(error.message)
 */
export class CapabilityDenied extends Schema.TaggedError<CapabilityDenied>()("CapabilityDenied", {
  plugin: Schema.String,
  hooks: Schema.Array(Schema.String),
  imports: Schema.Array(Schema.String),
  /** Registrations outside the policy: a priority out of range, an ordering constraint on a host source. */
  registrations: Schema.optionalKey(Schema.Array(Schema.String)),
  /** WASI grants the manifest asks for and the policy refuses (`clock`, `random`). */
  wasi: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Host functions the module imports and the policy does not grant (`allowHostFunctions`). */
  hostFunctions: Schema.optionalKey(Schema.Array(Schema.String))
}) {
  override get message(): string {
    const parts = [
      this.hooks.length > 0 ? `hooks ${this.hooks.join(", ")}` : undefined,
      this.imports.length > 0 ? `imports ${this.imports.join(", ")}` : undefined,
      this.hostFunctions !== undefined && this.hostFunctions.length > 0
        ? `host functions ${this.hostFunctions.join(", ")}`
        : undefined,
      this.wasi !== undefined && this.wasi.length > 0 ? `WASI ${this.wasi.join(", ")}` : undefined,
      this.registrations !== undefined && this.registrations.length > 0 ? this.registrations.join(", ") : undefined
    ].filter((p) => p !== undefined)
    return `plugin "${this.plugin}": not allowed by the host policy: ${parts.join("; ")}`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Call time

/**
 * The guest reported an error (status -1, an unknown status, or an `{"error": ...}` body).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { GuestError } from "hookbus/wasm"
 *
 * const error = new GuestError({ plugin: "seo", hook: "the_content", detail: "title missing", code: "E_TITLE" })
 * console.log(error.message)
 */
export class GuestError extends Schema.TaggedError<GuestError>()("GuestError", {
  plugin: Schema.String,
  hook: Schema.String,
  detail: Schema.String,
  code: Schema.optionalKey(Schema.String),
  status: Schema.optionalKey(Schema.Number)
}) {
  override get message(): string {
    return `plugin "${this.plugin}" failed on hook "${this.hook}": ${this.detail}`
  }
}

/**
 * The guest could not allocate (gn_alloc returned 0, or status -2).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { GuestOutOfMemory } from "hookbus/wasm"
 *
 * const error = new GuestOutOfMemory({ plugin: "seo", hook: "the_content" })
 * console.log(error.message)
 */
export class GuestOutOfMemory extends Schema.TaggedError<GuestOutOfMemory>()("GuestOutOfMemory", {
  plugin: Schema.String,
  hook: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}" ran out of memory on hook "${this.hook}"`
  }
}

/**
 * A payload the guest rejected (status -3), or a result body the host could not accept.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { BadPayload } from "hookbus/wasm"
 *
 * const error = new BadPayload({ plugin: "seo", hook: "the_content", detail: "the result nests deeper than 128 levels" })
 * console.log(error.message)
 */
export class BadPayload extends Schema.TaggedError<BadPayload>()("BadPayload", {
  plugin: Schema.String,
  hook: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}", hook "${this.hook}": bad payload: ${this.detail}`
  }
}

/**
 * The guest does not handle this hook (status -4).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { UnknownHook } from "hookbus/wasm"
 *
 * const error = new UnknownHook({ plugin: "seo", hook: "the_title" })
 * console.log(error.message)
 */
export class UnknownHook extends Schema.TaggedError<UnknownHook>()("UnknownHook", {
  plugin: Schema.String,
  hook: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}" does not handle hook "${this.hook}"`
  }
}

/**
 * The call trapped; the instance was thrown away.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Trapped } from "hookbus/wasm"
 *
 * const error = new Trapped({ plugin: "seo", hook: "the_content", kind: "unreachable", detail: "unreachable executed" })
 * console.log(error.message)
 */
export class Trapped extends Schema.TaggedError<Trapped>()("Trapped", {
  plugin: Schema.String,
  hook: Schema.String,
  kind: TrapKind,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}" trapped (${this.kind}) on hook "${this.hook}": ${this.detail}`
  }
}

/**
 * The call used up its fuel (instruction budget); the instance was thrown away.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { OutOfFuel } from "hookbus/wasm"
 *
 * const error = new OutOfFuel({ plugin: "seo", hook: "the_content", fuel: 50_000_000 })
 * console.log(error.message)
 */
export class OutOfFuel extends Schema.TaggedError<OutOfFuel>()("OutOfFuel", {
  plugin: Schema.String,
  hook: Schema.String,
  fuel: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}" used up its fuel (${this.fuel}) on hook "${this.hook}"`
  }
}

/**
 * The call overran its wall-clock limit (worker mode); its worker was terminated.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Timeout } from "hookbus/wasm"
 *
 * const error = new Timeout({ plugin: "seo", hook: "the_content", timeoutMs: 2000 })
 * console.log(error.message)
 */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  plugin: Schema.String,
  hook: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}" exceeded ${this.timeoutMs} ms on hook "${this.hook}"`
  }
}

/**
 * The encoded payload is over the cap; no guest call was made.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { PayloadTooLarge } from "hookbus/wasm"
 *
 * const error = new PayloadTooLarge({ plugin: "seo", hook: "the_content", size: 2_000_000, limit: 1_048_576 })
 * console.log(error.message)
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  plugin: Schema.String,
  hook: Schema.String,
  size: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}", hook "${this.hook}": payload of ${this.size} bytes exceeds ${this.limit}`
  }
}

/**
 * The guest returned a body over the result cap.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { ResultTooLarge } from "hookbus/wasm"
 *
 * const error = new ResultTooLarge({ plugin: "seo", hook: "the_content", size: 2_000_000, limit: 1_048_576 })
 * console.log(error.message)
 */
export class ResultTooLarge extends Schema.TaggedError<ResultTooLarge>()("ResultTooLarge", {
  plugin: Schema.String,
  hook: Schema.String,
  size: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}", hook "${this.hook}": result of ${this.size} bytes exceeds ${this.limit}`
  }
}

/**
 * The guest returned an impossible result (a negative length with a pointer, a block outside memory, ...).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { BadResult } from "hookbus/wasm"
 *
 * const error = new BadResult({ plugin: "seo", hook: "the_content", detail: "the result block is outside memory" })
 * console.log(error.message)
 */
export class BadResult extends Schema.TaggedError<BadResult>()("BadResult", {
  plugin: Schema.String,
  hook: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}", hook "${this.hook}": bad result: ${this.detail}`
  }
}

/**
 * A value could not be encoded as JSON for the guest (a function, a cycle, a bigint...); the guest did not run.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { UnencodableValue } from "hookbus/wasm"
 *
 * const error = new UnencodableValue({ plugin: "seo", hook: "the_content", detail: "a bigint cannot be encoded as JSON" })
 * console.log(error.message)
 */
export class UnencodableValue extends Schema.TaggedError<UnencodableValue>()("UnencodableValue", {
  plugin: Schema.String,
  hook: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}", hook "${this.hook}": value cannot be sent to the plugin: ${this.detail}`
  }
}

/**
 * The plugin's circuit breaker is open: its handlers are skipped until the cool-down ends.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { PluginSuspended } from "hookbus/wasm"
 *
 * const error = new PluginSuspended({ plugin: "seo", hook: "the_content", until: Date.now() + 30_000 })
 * console.log(error.message)
 */
export class PluginSuspended extends Schema.TaggedError<PluginSuspended>()("PluginSuspended", {
  plugin: Schema.String,
  hook: Schema.String,
  until: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}" is suspended (circuit breaker open until ${new Date(this.until).toISOString()})`
  }
}

/**
 * Errors of loading a plugin.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { type PluginLoadError, PluginInstance } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const program = PluginInstance.make(bytes).pipe(
 *   Effect.catch((error: PluginLoadError | { readonly _tag: "InvalidOptions"; readonly message: string }) =>
 *     Effect.logError(error.message))
 * )
 */
export type PluginLoadError =
  | InvalidModule
  | MissingExport
  | UnknownImport
  | WasiNotGranted
  | AbiVersionMismatch
  | MemoryLimit
  | ModuleTooLarge
  | ManifestInvalid
  | IntegrityMismatch
  | PluginNotFound
  | PluginFileRejected
  | LimitAboveCeiling
  | CapabilityDenied
  | Trapped
  | OutOfFuel
  | Timeout

/**
 * Errors of one guest call.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect, Schema } from "effect"
 * import { PluginCallError, type PluginInstance } from "hookbus/wasm"
 *
 * declare const instance: PluginInstance.PluginInstance
 * const program = instance.callAction("post.saved", ["42"]).pipe(
 *   Effect.catch((error: PluginCallError) => Effect.logWarning(`${error._tag}: ${error.message}`))
 * )
 * const encoded = Schema.encodeUnknownSync(PluginCallError) // as the worker sends errors to the host
 */
export type PluginCallError =
  | GuestError
  | GuestOutOfMemory
  | BadPayload
  | UnknownHook
  | Trapped
  | OutOfFuel
  | Timeout
  | PayloadTooLarge
  | ResultTooLarge
  | BadResult
  | UnencodableValue
  | PluginSuspended

/**
 * Any plugin error.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { PluginError } from "hookbus/wasm"
 *
 * const describe = (error: PluginError) => `${error._tag}: ${error.message}`
 */
export type PluginError = PluginLoadError | PluginCallError

/** The schema of every call error, for transport across a worker boundary. */
export const PluginCallError = Schema.Union([
  GuestError,
  GuestOutOfMemory,
  BadPayload,
  UnknownHook,
  Trapped,
  OutOfFuel,
  Timeout,
  PayloadTooLarge,
  ResultTooLarge,
  BadResult,
  UnencodableValue,
  PluginSuspended
])
