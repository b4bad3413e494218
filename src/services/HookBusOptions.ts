/**
 * The settings of a hook bus.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type { FilterErrorPolicy } from "../domain/Handler.ts"

/**
 * How much of a dispatch is traced.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { HookBus, type TracingMode } from "hookbus"
 *
 * const tracing: TracingMode = "handlers"
 * const layer = HookBus.layerWith({ tracing })
 */
export type TracingMode = "off" | "dispatch" | "handlers"

/**
 * Settings of a bus; every field has a default.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { HookBus, type HookBusOptions } from "hookbus"
 *
 * const options: HookBusOptions = {
 *   maxDepth: 32,
 *   asyncShutdownGrace: "2 seconds",
 *   filterErrors: { the_content: "skip" },
 *   async: { concurrency: 64, overflow: "drop" },
 *   parallel: { concurrency: 8 },
 *   tracing: "off",
 *   metrics: { maxHookLabels: 200 }
 * }
 * const layer = HookBus.layerWith(options) // Layer<HookBus, InvalidOptions>
 */
export interface HookBusOptions {
  /** Deepest nesting of dispatches (a handler dispatching a hook, and so on). Default 64. */
  readonly maxDepth?: number | undefined
  /** How long in-flight async handlers may run on when the bus closes before they are interrupted. Default 5 s. */
  readonly asyncShutdownGrace?: Duration.Input | undefined
  /** Filter error policy per hook name. Default "abort" for every hook. */
  readonly filterErrors?: Readonly<Record<string, FilterErrorPolicy>> | undefined
  /** Bound on async handler runs in flight, and what a dispatch does when it is reached. */
  readonly async?: {
    /** Default 1024. */
    readonly concurrency?: number | undefined
    /** "wait" (default) suspends the dispatching fiber while the bound is reached; "drop" drops the run and logs it. */
    readonly overflow?: "wait" | "drop" | undefined
  } | undefined
  /** `doActionParallel`: how many of an action's handlers run at once. */
  readonly parallel?: {
    /** Default 16. */
    readonly concurrency?: number | undefined
  } | undefined
  /** "dispatch" (default): a span per dispatch; "handlers": also a span per handler; "off": no tracing cost. */
  readonly tracing?: TracingMode | undefined
  /**
   * Record the `hookbus_*` metrics (default true). `maxHookLabels` bounds the distinct hook names used as labels
   * (default 1000); further names count under `other`.
   */
  readonly metrics?: boolean | { readonly maxHookLabels?: number | undefined } | undefined
}
