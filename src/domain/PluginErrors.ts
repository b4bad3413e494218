/**
 * The tagged errors of WebAssembly plugins. Each names the plugin, and the hook when a call failed. They are
 * schema classes, so they cross a worker boundary intact.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** How a guest call trapped. */
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

/** The bytes are not a WebAssembly module this host can compile. */
export class InvalidModule extends Schema.TaggedError<InvalidModule>()("InvalidModule", {
  plugin: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}": not a loadable WebAssembly module: ${this.reason}`
  }
}

/** Required ABI exports are missing or have the wrong type (each entry says which, and why). */
export class MissingExport extends Schema.TaggedError<MissingExport>()("MissingExport", {
  plugin: Schema.String,
  exports: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `plugin "${this.plugin}": ABI exports missing or mistyped: ${this.exports.join("; ")}`
  }
}

/** The module imports something the ABI does not provide (or provides with another type). */
export class UnknownImport extends Schema.TaggedError<UnknownImport>()("UnknownImport", {
  plugin: Schema.String,
  imports: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `plugin "${this.plugin}": imports not provided by the ABI: ${this.imports.join("; ")}`
  }
}

/** `gn_abi_version` returned something other than 1. */
export class AbiVersionMismatch extends Schema.TaggedError<AbiVersionMismatch>()("AbiVersionMismatch", {
  plugin: Schema.String,
  version: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}": gn_abi_version returned ${this.version}, this host speaks ABI 1`
  }
}

/** The module's memory minimum is above the cap (`limits.memoryPages`). */
export class MemoryLimit extends Schema.TaggedError<MemoryLimit>()("MemoryLimit", {
  plugin: Schema.String,
  minimumPages: Schema.Number,
  limitPages: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}": memory minimum ${this.minimumPages} pages exceeds the cap of ${this.limitPages} pages`
  }
}

/** The module is over a host limit on its size (`limits.maxModuleBytes`) or its function count (`limits.maxFunctions`). */
export class ModuleTooLarge extends Schema.TaggedError<ModuleTooLarge>()("ModuleTooLarge", {
  plugin: Schema.String,
  limit: Schema.Literals(["maxModuleBytes", "maxFunctions"]),
  actual: Schema.Number,
  maximum: Schema.Number
}) {
  override get message(): string {
    const what = this.limit === "maxModuleBytes" ? `${this.actual} bytes` : `${this.actual} functions`
    return `plugin "${this.plugin}": module of ${what} exceeds limits.${this.limit} (${this.maximum})`
  }
}

/** One problem in a manifest, at a JSON path such as `hooks[0].kind`. */
export const ManifestProblem = Schema.Struct({ path: Schema.String, message: Schema.String })
export type ManifestProblem = typeof ManifestProblem.Type

/** `plugin.json` is not valid; every problem is listed with its JSON path. */
export class ManifestInvalid extends Schema.TaggedError<ManifestInvalid>()("ManifestInvalid", {
  source: Schema.String,
  problems: Schema.Array(ManifestProblem)
}) {
  override get message(): string {
    return `invalid manifest ${this.source}: ${this.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`
  }
}

/** The module's SHA-256 is not the one the manifest declares (checked before compiling). */
export class IntegrityMismatch extends Schema.TaggedError<IntegrityMismatch>()("IntegrityMismatch", {
  plugin: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}": sha256 mismatch: manifest says ${this.expected}, module is ${this.actual}`
  }
}

/** A plugin's files could not be read. */
export class PluginNotFound extends Schema.TaggedError<PluginNotFound>()("PluginNotFound", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read plugin at ${this.path}: ${this.reason}`
  }
}

/** Why a plugin file was refused: it resolves outside the folder, is not a regular file, or is over its cap. */
export const FileRule = Schema.Literals(["outside_folder", "not_regular_file", "too_large"])
export type FileRule = typeof FileRule.Type

/** A plugin folder's file breaks a rule of the sandbox; nothing was loaded. */
export class PluginFileRejected extends Schema.TaggedError<PluginFileRejected>()("PluginFileRejected", {
  path: Schema.String,
  rule: FileRule,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin file ${this.path} refused (${this.rule}): ${this.detail}`
  }
}

/** One limit a manifest asks for above the host's ceiling. */
export const LimitRequest = Schema.Struct({ limit: Schema.String, requested: Schema.Number, ceiling: Schema.Number })
export type LimitRequest = typeof LimitRequest.Type

/** The manifest asks for more than the host allows: the host's limits are ceilings, a manifest may only ask less. */
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

/** The host policy does not allow what the manifest asks for. */
export class CapabilityDenied extends Schema.TaggedError<CapabilityDenied>()("CapabilityDenied", {
  plugin: Schema.String,
  hooks: Schema.Array(Schema.String),
  imports: Schema.Array(Schema.String),
  /** Registrations outside the policy: a priority out of range, an ordering constraint on a host source. */
  registrations: Schema.optionalKey(Schema.Array(Schema.String))
}) {
  override get message(): string {
    const parts = [
      this.hooks.length > 0 ? `hooks ${this.hooks.join(", ")}` : undefined,
      this.imports.length > 0 ? `imports ${this.imports.join(", ")}` : undefined,
      this.registrations !== undefined && this.registrations.length > 0 ? this.registrations.join(", ") : undefined
    ].filter((p) => p !== undefined)
    return `plugin "${this.plugin}": not allowed by the host policy: ${parts.join("; ")}`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Call time

/** The guest reported an error (status -1, an unknown status, or an `{"error": ...}` body). */
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

/** The guest could not allocate (gn_alloc returned 0, or status -2). */
export class GuestOutOfMemory extends Schema.TaggedError<GuestOutOfMemory>()("GuestOutOfMemory", {
  plugin: Schema.String,
  hook: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}" ran out of memory on hook "${this.hook}"`
  }
}

/** A payload the guest rejected (status -3), or a result body the host could not accept. */
export class BadPayload extends Schema.TaggedError<BadPayload>()("BadPayload", {
  plugin: Schema.String,
  hook: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}", hook "${this.hook}": bad payload: ${this.detail}`
  }
}

/** The guest does not handle this hook (status -4). */
export class UnknownHook extends Schema.TaggedError<UnknownHook>()("UnknownHook", {
  plugin: Schema.String,
  hook: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}" does not handle hook "${this.hook}"`
  }
}

/** The call trapped; the instance was thrown away. */
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

/** The call used up its fuel (instruction budget); the instance was thrown away. */
export class OutOfFuel extends Schema.TaggedError<OutOfFuel>()("OutOfFuel", {
  plugin: Schema.String,
  hook: Schema.String,
  fuel: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}" used up its fuel (${this.fuel}) on hook "${this.hook}"`
  }
}

/** The call overran its wall-clock limit (worker mode); its worker was terminated. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  plugin: Schema.String,
  hook: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}" exceeded ${this.timeoutMs} ms on hook "${this.hook}"`
  }
}

/** The encoded payload is over the cap; no guest call was made. */
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

/** The guest returned a body over the result cap. */
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

/** The guest returned an impossible result (a negative length with a pointer, a block outside memory, ...). */
export class BadResult extends Schema.TaggedError<BadResult>()("BadResult", {
  plugin: Schema.String,
  hook: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}", hook "${this.hook}": bad result: ${this.detail}`
  }
}

/** A value could not be encoded as JSON for the guest (a function, a cycle, a bigint...); the guest did not run. */
export class UnencodableValue extends Schema.TaggedError<UnencodableValue>()("UnencodableValue", {
  plugin: Schema.String,
  hook: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `plugin "${this.plugin}", hook "${this.hook}": value cannot be sent to the plugin: ${this.detail}`
  }
}

/** The plugin's circuit breaker is open: its handlers are skipped until the cool-down ends. */
export class PluginSuspended extends Schema.TaggedError<PluginSuspended>()("PluginSuspended", {
  plugin: Schema.String,
  hook: Schema.String,
  until: Schema.Number
}) {
  override get message(): string {
    return `plugin "${this.plugin}" is suspended (circuit breaker open until ${new Date(this.until).toISOString()})`
  }
}

/** Errors of loading a plugin. */
export type PluginLoadError =
  | InvalidModule
  | MissingExport
  | UnknownImport
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

/** Errors of one guest call. */
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

/** Any plugin error. */
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
