/**
 * Observes dispatches: the dispatch span (and per-handler spans), metrics, and the test recorder. A bus with all of
 * them off never creates a probe, so observability costs nothing there.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import * as LogLevel from "effect/LogLevel"
import type * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Tracer from "effect/Tracer"
import type { HookKind } from "../../domain/Hook.ts"
import type { HandlerFailed } from "../../domain/HookErrors.ts"
import * as HookMetrics from "../../domain/HookMetrics.ts"
import type { DispatchOutcome, DispatchRecord } from "../../services/HookRecorder.ts"

export type TracingMode = "off" | "dispatch" | "handlers"

export interface ObserverOptions {
  readonly tracing: TracingMode
  readonly metrics: boolean
  readonly maxHookLabels: number
  readonly record: ((record: DispatchRecord) => void) | undefined
  /** Where metrics are recorded: the context the bus was built in (its MetricRegistry). */
  readonly metricContext: Context.Context<never>
}

/** Per-hook metric series, created once per hook. */
export interface HookSeries {
  readonly dispatches: Metric.Metric<number, unknown>
  readonly duration: Metric.Metric<number, unknown>
  readonly shortCircuits: Metric.Metric<number, unknown>
  readonly dropped: Metric.Metric<number, unknown>
  readonly label: string
}

/** Starts a span the way `Effect.withSpan` would, without touching the fiber's context; undefined when disabled. */
export const startSpan = (
  context: Context.Context<never>,
  name: string,
  options: {
    readonly parent: Option.Option<Tracer.AnySpan>
    readonly links?: Array<Tracer.SpanLink> | undefined
    readonly root?: boolean | undefined
    /** The start time, when the caller has read the clock already. */
    readonly startTime?: bigint | undefined
  }
): Tracer.Span | undefined => {
  if (!Context.get(context, References.TracerEnabled)) return undefined
  const parent = options.parent
  const sampled = Option.isSome(parent) && parent.value.sampled === false
    ? false
    : !LogLevel.isGreaterThan(
      Context.get(context, Tracer.MinimumTraceLevel),
      Context.get(context, Tracer.CurrentTraceLevel)
    )
  const linksFromEnv = Context.get(context, References.TracerSpanLinks)
  const span = Context.get(context, Tracer.Tracer).span({
    name,
    parent,
    annotations: Context.empty(),
    links: options.links === undefined ? linksFromEnv.slice() : [...linksFromEnv, ...options.links],
    startTime: options.startTime ?? now(context),
    kind: "internal",
    root: options.root ?? false,
    sampled
  })
  const annotations = Context.get(context, References.TracerSpanAnnotations)
  for (const key in annotations) span.attribute(key, annotations[key])
  return span
}

/** The clock in nanoseconds; 0 when span timing is off, unless `always`. */
const now = (context: Context.Context<never>, always = false): bigint =>
  always || Context.get(context, References.TracerTimingEnabled)
    ? Context.get(context, Clock.Clock).currentTimeNanosUnsafe()
    : 0n

const reasonLabel = (failure: HandlerFailed): string => failure.reason.toLowerCase()

/** One per bus: what is observed, and the bounded set of hook labels. */
export class Observer {
  readonly options: ObserverOptions
  /** Whether each handler is observed on its own (handler spans, recorded handler lists). */
  readonly perHandler: boolean
  /** Whether any dispatch needs a probe at all. */
  readonly active: boolean
  private readonly labels = new Set<string>()

  constructor(options: ObserverOptions) {
    this.options = options
    this.perHandler = options.tracing === "handlers" || options.record !== undefined
    this.active = options.tracing !== "off" || options.metrics || options.record !== undefined
  }

  /** The metric label for a hook name: itself, or `other` once the bound of distinct names is reached. */
  hookLabel(name: string): string {
    if (this.labels.has(name)) return name
    if (this.labels.size >= this.options.maxHookLabels) return HookMetrics.otherHook
    this.labels.add(name)
    return name
  }

  series(kind: HookKind, name: string): HookSeries {
    const label = this.hookLabel(name)
    return {
      label,
      dispatches: HookMetrics.dispatchTotalOf(label, kind),
      duration: HookMetrics.dispatchDurationOf(label, kind),
      shortCircuits: HookMetrics.shortCircuitTotalOf(label),
      dropped: HookMetrics.asyncDroppedTotalOf(label)
    }
  }

  count(metric: Metric.Metric<number, unknown>, value: number): void {
    if (this.options.metrics) metric.updateUnsafe(value, this.options.metricContext)
  }

  failure(failure: HandlerFailed, label: string): void {
    if (!this.options.metrics) return
    HookMetrics.handlerFailuresTotalOf(label, failure.kind, failure.source, reasonLabel(failure))
      .updateUnsafe(1, this.options.metricContext)
  }

  inFlight(value: number): void {
    if (this.options.metrics) HookMetrics.asyncInFlight.updateUnsafe(value, this.options.metricContext)
  }

  start(
    context: Context.Context<never>,
    kind: HookKind,
    name: string,
    series: HookSeries,
    value: unknown,
    args: ReadonlyArray<unknown>
  ): Probe {
    return new Probe(this, context, kind, name, series, value, args)
  }
}

/** One observed dispatch. */
export class Probe {
  readonly span: Tracer.Span | undefined
  private readonly observer: Observer
  private readonly context: Context.Context<never>
  private readonly kind: HookKind
  private readonly name: string
  private readonly series: HookSeries
  private readonly value: unknown
  private readonly args: ReadonlyArray<unknown>
  private readonly started: bigint
  private readonly handlers: Array<string> | undefined
  private readonly failures: Array<HandlerFailed> = []
  private done = false

  constructor(
    observer: Observer,
    context: Context.Context<never>,
    kind: HookKind,
    name: string,
    series: HookSeries,
    value: unknown,
    args: ReadonlyArray<unknown>
  ) {
    this.observer = observer
    this.context = context
    this.kind = kind
    this.name = name
    this.series = series
    this.value = value
    this.args = args
    this.handlers = observer.options.record === undefined ? undefined : []
    // One clock read at each end serves both the span and the duration metric.
    this.started = this.clock()
    this.span = observer.options.tracing === "off"
      ? undefined
      : startSpan(context, `hook.${kind} ${name}`, {
        parent: Option.fromUndefinedOr(Context.getOrUndefined(context, Tracer.ParentSpan)),
        startTime: Context.get(context, References.TracerTimingEnabled) ? this.started : 0n
      })
  }

  /**
   * One clock read serves the span and the duration metric: the span's clock when tracing, the cheaper monotonic
   * one for metrics alone.
   */
  private clock(): bigint {
    const options = this.observer.options
    if (options.tracing !== "off") return now(this.context, true)
    return options.metrics ? Context.get(this.context, Clock.Clock).monotonicTimeNanosUnsafe() : 0n
  }

  /**
   * A handler is about to run: returns its span in "handlers" mode. An async handler (`inline` false) gets its own
   * linked span where it runs instead.
   */
  handlerStarted(source: string, inline = true): Tracer.Span | undefined {
    this.handlers?.push(source)
    if (!inline || this.observer.options.tracing !== "handlers" || this.span === undefined) return undefined
    const span = startSpan(this.context, `hook.handler ${source}`, { parent: Option.some(this.span) })
    span?.attribute("hook.source", source)
    return span
  }

  handlerEnded(span: Tracer.Span | undefined, exit: Exit.Exit<unknown, unknown>): void {
    span?.end(now(this.context), exit)
  }

  /** A handler did not complete: a span event and a metric. */
  failed(failure: HandlerFailed): void {
    this.failures.push(failure)
    this.span?.event("hook.handler_failed", now(this.context), {
      "hook.source": failure.source,
      "hook.reason": failure.reason,
      "hook.error": failure.message
    })
    this.observer.failure(failure, this.series.label)
  }

  /** The dispatching fiber was interrupted before the dispatch ended. */
  interrupted(): void {
    this.finish("interrupted", this.handlers?.length ?? 0, undefined, undefined)
  }

  /** The dispatch ended. Idempotent: an interruption after the end changes nothing. */
  finish(outcome: DispatchOutcome, ran: number, result: unknown, shortCircuitedBy: string | undefined): void {
    if (this.done) return
    this.done = true
    const observer = this.observer
    const ended = this.clock()
    if (observer.options.metrics) {
      observer.count(this.series.dispatches, 1)
      this.series.duration.updateUnsafe(Number(ended - this.started) / 1e9, observer.options.metricContext)
      if (outcome === "short_circuit") observer.count(this.series.shortCircuits, 1)
    }
    const span = this.span
    if (span !== undefined) {
      span.attribute("hook.name", this.name)
      span.attribute("hook.kind", this.kind)
      span.attribute("hook.handlers", ran)
      span.attribute("hook.outcome", outcome)
      if (shortCircuitedBy !== undefined) span.attribute("hook.short_circuited_by", shortCircuitedBy)
      span.end(
        Context.get(this.context, References.TracerTimingEnabled) ? ended : 0n,
        outcome === "failed" || outcome === "interrupted" ? Exit.fail(outcome) : Exit.void
      )
    }
    observer.options.record?.({
      hook: this.name,
      kind: this.kind,
      value: this.kind === "filter" ? this.value : undefined,
      args: this.args,
      outcome,
      handlers: this.handlers ?? [],
      result: this.kind === "filter" ? result : undefined,
      failures: this.failures,
      shortCircuitedBy
    })
  }
}
