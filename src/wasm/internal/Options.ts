/**
 * The schemas host options are checked with: `PluginInstance.make`'s and `Plugin.load`'s. A mistake fails with
 * `InvalidOptions` naming the option, never a thrown `RangeError`.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { DurationInput, PositiveInt } from "../../domain/InvalidOptions.ts"
import type { PluginOptions } from "../Plugin.ts"
import type { BreakerOptions, PluginInstanceOptions, PluginLimits } from "../PluginInstance.ts"

// `satisfies` keeps each schema's fields and its interface's in step: a field added to one fails the build.
const limitFields = {
  memoryPages: Schema.optional(PositiveInt),
  fuel: Schema.optional(PositiveInt),
  timeoutMs: Schema.optional(PositiveInt),
  maxPayloadBytes: Schema.optional(PositiveInt),
  maxResultBytes: Schema.optional(PositiveInt),
  maxModuleBytes: Schema.optional(PositiveInt),
  maxFunctions: Schema.optional(PositiveInt),
  maxTableElements: Schema.optional(PositiveInt),
  logLinesPerCall: Schema.optional(PositiveInt),
  logBytesPerCall: Schema.optional(PositiveInt),
  logLinesPerSecond: Schema.optional(PositiveInt),
  logCharsPerSecond: Schema.optional(PositiveInt)
} satisfies Record<keyof PluginLimits, unknown>

const breakerFields = {
  maxFailures: Schema.optional(PositiveInt),
  window: Schema.optional(DurationInput),
  coolDown: Schema.optional(DurationInput)
} satisfies Record<keyof BreakerOptions, unknown>

const common = {
  limits: Schema.optional(Schema.Struct(limitFields)),
  fuel: Schema.optional(Schema.Boolean),
  execution: Schema.optional(Schema.Literals(["inline", "worker"])),
  pool: Schema.optional(Schema.Struct({ size: Schema.optional(PositiveInt) })),
  breaker: Schema.optional(Schema.Union([Schema.Literal(false), Schema.Struct(breakerFields)])),
  // Checked one by one where they are used (names, repeats, worker mode), with a message naming the entry.
  hostFunctions: Schema.optional(Schema.Array(Schema.Unknown))
}

const instanceFields = {
  ...common,
  config: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
  name: Schema.optional(Schema.String),
  wasi: Schema.optional(Schema.Struct({
    clock: Schema.optional(Schema.Boolean),
    random: Schema.optional(Schema.Boolean),
    preopen: Schema.optional(Schema.Struct({ guest: Schema.String, host: Schema.String }))
  }))
} satisfies Record<keyof PluginInstanceOptions, unknown>

const pluginFields = {
  ...common,
  files: Schema.optional(Schema.Struct({ maxManifestBytes: Schema.optional(PositiveInt) }))
} satisfies Record<keyof PluginOptions, unknown>

/** What `PluginInstance.make` accepts. */
export const PluginInstanceOptionsSchema = Schema.Struct(instanceFields)

/** What `Plugin.load`, `Plugin.fromBytes` and `Plugin.reload` accept. */
export const PluginOptionsSchema = Schema.Struct(pluginFields)
