/**
 * The metrics a hook bus records. Each name has exactly one label set, so Prometheus and OTLP exporters accept
 * them as they are (the Go bus emits one name with several label sets, which Prometheus rejects).
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

// Series are built with their attributes up front (one Metric per hook) rather than with `Metric.withAttributes`,
// which rebuilds a context on every update: the bus updates these on every dispatch.

const dispatchTotalOptions = { description: "Hook dispatches, by hook and kind", incremental: true } as const
const dispatchDurationOptions = {
  description: "Duration of hook dispatches in seconds, by hook and kind",
  boundaries: Metric.exponentialBoundaries({ start: 0.000_001, factor: 4, count: 13 })
} as const
const handlerFailuresOptions = {
  description: "Handlers that did not complete, by hook, kind, source and reason",
  incremental: true
} as const
const shortCircuitOptions = {
  description: "Filter chains stopped by a short-circuit, by hook",
  incremental: true
} as const
const asyncDroppedOptions = { description: "Async handler runs dropped, by hook", incremental: true } as const

/**
 * `hookbus_dispatch_total{hook,kind}`: dispatches started.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const read = Metric.value(HookMetrics.dispatchTotal) // the current count
 */
export const dispatchTotal = Metric.counter("hookbus_dispatch_total", dispatchTotalOptions)

/**
 * The `hookbus_dispatch_total` series of one hook.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const contentDispatches = Metric.value(HookMetrics.dispatchTotalOf("the_content", "filter"))
 */
export const dispatchTotalOf = (hook: string, kind: string) =>
  Metric.counter("hookbus_dispatch_total", { ...dispatchTotalOptions, attributes: { hook, kind } })

/**
 * `hookbus_dispatch_duration_seconds{hook,kind}`: time from dispatch start to its end (sync handlers included).
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const read = Metric.value(HookMetrics.dispatchDuration) // the current histogram
 */
export const dispatchDuration = Metric.histogram("hookbus_dispatch_duration_seconds", dispatchDurationOptions)

/**
 * The `hookbus_dispatch_duration_seconds` series of one hook.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const contentTimes = Metric.value(HookMetrics.dispatchDurationOf("the_content", "filter"))
 */
export const dispatchDurationOf = (hook: string, kind: string) =>
  Metric.histogram("hookbus_dispatch_duration_seconds", { ...dispatchDurationOptions, attributes: { hook, kind } })

/**
 * `hookbus_handler_failures_total{hook,kind,source,reason}`: reason is failure, defect, interrupt or timeout.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const read = Metric.value(HookMetrics.handlerFailuresTotal) // the current count
 */
export const handlerFailuresTotal = Metric.counter("hookbus_handler_failures_total", handlerFailuresOptions)

/**
 * The `hookbus_handler_failures_total` series of one handler and reason.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const seoTimeouts = Metric.value(HookMetrics.handlerFailuresTotalOf("the_content", "filter", "seo", "timeout"))
 */
export const handlerFailuresTotalOf = (hook: string, kind: string, source: string, reason: string) =>
  Metric.counter("hookbus_handler_failures_total", {
    ...handlerFailuresOptions,
    attributes: { hook, kind, source, reason }
  })

/**
 * `hookbus_short_circuit_total{hook}`: filter chains stopped by a short-circuit.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const read = Metric.value(HookMetrics.shortCircuitTotal) // the current count
 */
export const shortCircuitTotal = Metric.counter("hookbus_short_circuit_total", shortCircuitOptions)

/**
 * The `hookbus_short_circuit_total` series of one hook.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const cached = Metric.value(HookMetrics.shortCircuitTotalOf("the_content"))
 */
export const shortCircuitTotalOf = (hook: string) =>
  Metric.counter("hookbus_short_circuit_total", { ...shortCircuitOptions, attributes: { hook } })

/**
 * `hookbus_async_in_flight`: async handler runs accepted and not yet finished.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const read = Metric.value(HookMetrics.asyncInFlight) // the current gauge value
 */
export const asyncInFlight = Metric.gauge("hookbus_async_in_flight", {
  description: "Async handler runs in flight (queued or running)"
})

/**
 * `hookbus_async_dropped_total{hook}`: async handler runs dropped (bound reached, or the bus closing).
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const read = Metric.value(HookMetrics.asyncDroppedTotal) // the current count
 */
export const asyncDroppedTotal = Metric.counter("hookbus_async_dropped_total", asyncDroppedOptions)

/**
 * The `hookbus_async_dropped_total` series of one hook.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const dropped = Metric.value(HookMetrics.asyncDroppedTotalOf("post.saved"))
 */
export const asyncDroppedTotalOf = (hook: string) =>
  Metric.counter("hookbus_async_dropped_total", { ...asyncDroppedOptions, attributes: { hook } })

/**
 * The label used for hook names beyond the cardinality bound.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * // Hooks past the bus's metrics.maxHookLabels count under "other".
 * const overflow = Metric.value(HookMetrics.dispatchTotalOf(HookMetrics.otherHook, "action"))
 */
export const otherHook = "other"

/**
 * `hookbus_plugin_fuel_used{plugin}`: fuel units a metered plugin call used.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const read = Metric.value(HookMetrics.pluginFuelUsed) // the current histogram
 */
export const pluginFuelUsed = Metric.histogram("hookbus_plugin_fuel_used", {
  description: "Fuel units used per metered plugin call, by plugin",
  boundaries: Metric.exponentialBoundaries({ start: 100, factor: 10, count: 8 })
})

/**
 * The `hookbus_plugin_fuel_used` series of one plugin.
 *
 * @since 0.1.0
 * @category metrics
 * @example
 * import { Metric } from "effect"
 * import { HookMetrics } from "hookbus"
 *
 * const seoFuel = Metric.value(HookMetrics.pluginFuelUsedOf("seo"))
 */
export const pluginFuelUsedOf = (plugin: string) =>
  Metric.histogram("hookbus_plugin_fuel_used", {
    description: "Fuel units used per metered plugin call, by plugin",
    boundaries: Metric.exponentialBoundaries({ start: 100, factor: 10, count: 8 }),
    attributes: { plugin }
  })
