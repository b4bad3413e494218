/**
 * Checking and defaulting the bus's options and the registration options: every problem becomes a clear message.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type { FilterErrorPolicy } from "../../domain/Handler.ts"
import type { HookKind } from "../../domain/Hook.ts"
import type { RejectionReason } from "../../domain/HookErrors.ts"
import * as HookName from "../../domain/HookName.ts"
import type { HookBusOptions, TracingMode } from "../../services/HookBusOptions.ts"

/** The bus's options with every default filled in. */
export interface ResolvedOptions {
  readonly maxDepth: number
  readonly grace: Duration.Duration
  readonly filterErrors: Readonly<Record<string, FilterErrorPolicy>>
  readonly concurrency: number
  readonly overflow: "wait" | "drop"
  readonly tracing: TracingMode
  readonly metrics: boolean
  readonly maxHookLabels: number
}

/** Defaults and checks the bus's options; throws a RangeError naming a bad option. */
export const resolveOptions = (options: HookBusOptions): ResolvedOptions => {
  const maxDepth = options.maxDepth ?? 64
  if (!Number.isInteger(maxDepth) || maxDepth < 1) {
    throw new RangeError(`HookBus option maxDepth must be a positive integer, got ${String(options.maxDepth)}`)
  }
  const grace = Duration.fromInput(options.asyncShutdownGrace ?? "5 seconds")
  if (Option.isNone(grace)) {
    throw new RangeError(`HookBus option asyncShutdownGrace is not a duration: ${String(options.asyncShutdownGrace)}`)
  }
  const concurrency = options.async?.concurrency ?? 1024
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`HookBus option async.concurrency must be a positive integer, got ${String(concurrency)}`)
  }
  const overflow = options.async?.overflow ?? "wait"
  if (overflow !== "wait" && overflow !== "drop") {
    throw new RangeError(`HookBus option async.overflow must be "wait" or "drop", got ${String(overflow)}`)
  }
  // A null-prototype copy: the bus looks policies up by hook name, and "constructor" must not find Object's.
  const filterErrors: Record<string, FilterErrorPolicy> = Object.create(null)
  for (const [hook, policy] of Object.entries(options.filterErrors ?? {})) {
    if (policy !== "abort" && policy !== "skip") {
      throw new RangeError(`HookBus option filterErrors["${hook}"] must be "abort" or "skip", got ${String(policy)}`)
    }
    filterErrors[hook] = policy
  }
  const tracing = options.tracing ?? "dispatch"
  if (tracing !== "off" && tracing !== "dispatch" && tracing !== "handlers") {
    throw new RangeError(`HookBus option tracing must be "off", "dispatch" or "handlers", got ${String(tracing)}`)
  }
  const metrics = options.metrics ?? true
  const maxHookLabels = typeof metrics === "object" ? metrics.maxHookLabels ?? 1000 : 1000
  if (!Number.isInteger(maxHookLabels) || maxHookLabels < 1) {
    throw new RangeError(
      `HookBus option metrics.maxHookLabels must be a positive integer, got ${String(maxHookLabels)}`
    )
  }
  return {
    maxDepth,
    grace: grace.value,
    filterErrors,
    concurrency,
    overflow,
    tracing,
    metrics: metrics !== false,
    maxHookLabels
  }
}

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
  if (kind === "action" && o.mode !== undefined && o.mode !== "sync" && o.mode !== "async") {
    return ["InvalidOption", `mode must be "sync" or "async", got ${String(o.mode)}`]
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
