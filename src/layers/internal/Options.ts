/**
 * Checking and defaulting the bus's options and the registration options: every problem becomes a clear message.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { FilterErrorPolicy } from "../../domain/Handler.ts"
import type { HookKind } from "../../domain/Hook.ts"
import type { RejectionReason } from "../../domain/HookErrors.ts"
import * as HookName from "../../domain/HookName.ts"
import { check, DurationInput, type InvalidOptions, PositiveInt } from "../../domain/InvalidOptions.ts"
import type { HookBusOptions, TracingMode } from "../../services/HookBusOptions.ts"

/** The bus's options with every default filled in. */
export interface ResolvedOptions {
  readonly maxDepth: number
  readonly grace: Duration.Duration
  readonly filterErrors: Readonly<Record<string, FilterErrorPolicy>>
  readonly concurrency: number
  readonly overflow: "wait" | "drop"
  readonly parallelConcurrency: number
  readonly tracing: TracingMode
  readonly metrics: boolean
  readonly maxHookLabels: number
}

/** The shape `HookBus.layerWith` accepts; every problem names its option. */
const HookBusOptionsSchema = Schema.Struct({
  maxDepth: Schema.optional(PositiveInt),
  asyncShutdownGrace: Schema.optional(DurationInput),
  filterErrors: Schema.optional(Schema.Record(Schema.String, Schema.Literals(["abort", "skip"]))),
  async: Schema.optional(Schema.Struct({
    concurrency: Schema.optional(PositiveInt),
    overflow: Schema.optional(Schema.Literals(["wait", "drop"]))
  })),
  parallel: Schema.optional(Schema.Struct({ concurrency: Schema.optional(PositiveInt) })),
  tracing: Schema.optional(Schema.Literals(["off", "dispatch", "handlers"])),
  metrics: Schema.optional(Schema.Union([
    Schema.Boolean,
    Schema.Struct({ maxHookLabels: Schema.optional(PositiveInt) })
  ]))
})

/** Checks the bus's options with their schema and fills in the defaults. */
export const resolveOptions = (input: HookBusOptions): Exit.Exit<ResolvedOptions, InvalidOptions> =>
  Exit.map(check("HookBus", HookBusOptionsSchema, input), (options) => {
    // A null-prototype copy: the bus looks policies up by hook name, and "constructor" must not find Object's.
    const filterErrors: Record<string, FilterErrorPolicy> = Object.create(null)
    for (const [hook, policy] of Object.entries(options.filterErrors ?? {})) filterErrors[hook] = policy
    const metrics = options.metrics ?? true
    return {
      maxDepth: options.maxDepth ?? 64,
      grace: Duration.fromInputUnsafe(options.asyncShutdownGrace ?? "5 seconds"),
      filterErrors,
      concurrency: options.async?.concurrency ?? 1024,
      overflow: options.async?.overflow ?? "wait",
      parallelConcurrency: options.parallel?.concurrency ?? 16,
      tracing: options.tracing ?? "dispatch",
      metrics: metrics !== false,
      maxHookLabels: typeof metrics === "object" ? metrics.maxHookLabels ?? 1000 : 1000
    }
  })

/** Registration options as they arrive (checked before use). */
export interface RawOptions {
  readonly priority?: unknown
  readonly source?: unknown
  readonly before?: unknown
  readonly after?: unknown
  readonly once?: unknown
  readonly timeout?: unknown
  readonly mode?: unknown
  readonly orderBy?: unknown
  readonly onError?: unknown
  readonly retry?: unknown
  readonly transactional?: unknown
}

const isStringArray = (u: unknown): u is ReadonlyArray<string> =>
  Array.isArray(u) && u.every((s) => typeof s === "string" && s.length > 0)

/** Checks registration options; returns the reason and message of the first problem. */
export const optionProblem = (
  kind: HookKind,
  name: string,
  o: RawOptions
): readonly [RejectionReason, string] | undefined => {
  const nameProblem = HookName.problem(name)
  if (nameProblem !== undefined) return ["InvalidHookName", nameProblem]
  if (o.priority !== undefined && (typeof o.priority !== "number" || !Number.isFinite(o.priority))) {
    return ["InvalidPriority", `priority must be a finite number, got ${String(o.priority)}`]
  }
  if (o.source !== undefined && (typeof o.source !== "string" || o.source.length === 0)) {
    return ["InvalidOption", "source must be a non-empty string"]
  }
  if (o.before !== undefined && !isStringArray(o.before)) {
    return ["InvalidOption", "before must be an array of non-empty source names"]
  }
  if (o.after !== undefined && !isStringArray(o.after)) {
    return ["InvalidOption", "after must be an array of non-empty source names"]
  }
  if (o.once !== undefined && typeof o.once !== "boolean") {
    return ["InvalidOption", `once must be a boolean, got ${typeof o.once} ${String(o.once)}`]
  }
  if (o.timeout !== undefined) {
    const d = Duration.fromInput(o.timeout as Duration.Input)
    if (Option.isNone(d) || !Duration.isFinite(d.value) || Duration.toMillis(d.value) <= 0) {
      return ["InvalidOption", `timeout must be a positive, finite duration, got ${String(o.timeout)}`]
    }
  }
  if (kind === "action" && o.mode !== undefined && o.mode !== "sync" && o.mode !== "async" && o.mode !== "durable") {
    return ["InvalidOption", `mode must be "sync", "async" or "durable", got ${String(o.mode)}`]
  }
  if (o.retry !== undefined && o.mode !== "durable") {
    return ["InvalidOption", "retry applies to durable action handlers only"]
  }
  if (o.transactional !== undefined) {
    if (o.mode !== "durable") return ["InvalidOption", "transactional applies to durable action handlers only"]
    if (typeof o.transactional !== "boolean") {
      return [
        "InvalidOption",
        `transactional must be a boolean, got ${typeof o.transactional} ${String(o.transactional)}`
      ]
    }
  }
  if (o.mode === "durable" && o.once !== undefined) {
    return ["InvalidOption", "once does not apply to durable handlers: each dispatch is a job"]
  }
  if (o.orderBy !== undefined) {
    if (typeof o.orderBy !== "function") return ["InvalidOption", "orderBy must be a function"]
    if (o.mode !== "async") return ["InvalidOption", "orderBy applies to async action handlers only"]
  }
  if (kind === "filter" && o.onError !== undefined && o.onError !== "abort" && o.onError !== "skip") {
    return ["InvalidOption", `onError must be "abort" or "skip", got ${String(o.onError)}`]
  }
  if (kind === "filter" && o.mode !== undefined && o.mode !== "sync") {
    return ["InvalidOption", "filter handlers are always sync: mode is for actions"]
  }
  return undefined
}
