/**
 * Observes dispatches: the dispatch span (and per-handler spans), metrics, the test recorder and the subscribers
 * to `bus.dispatches`. A bus with all of them off (and nobody subscribed) never creates a probe, so observability
 * costs nothing there.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Tracer from "effect/Tracer"
import type { DispatchOutcome, DispatchRecord, HandlerTiming } from "../../domain/DispatchRecord.ts"
import type { HookKind } from "../../domain/Hook.ts"
import type { HandlerFailed } from "../../domain/HookErrors.ts"
import * as HookMetrics from "../../domain/HookMetrics.ts"
import type { TracingMode } from "../../services/HookBusOptions.ts"
import { MetricSeries } from "./MetricSeries.ts"

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
  readonly dispatches: MetricSeries
  readonly duration: MetricSeries
  readonly shortCircuits: MetricSeries
  readonly dropped: MetricSeries
  readonly label: string
  /** The dispatch span's name, built once. */
  readonly spanName: string
  /** When a dispatch of this hook last had its handlers timed (Unix ms): at most one per millisecond is. */
  lastTimed: number
  /**
   * The monotonic reading (ns) at which `lastTimed`'s millisecond ends: a lean dispatch started before it is not
   * timed, known from one comparison.
   */
  timedUntil: bigint
}

/**
 * What starting a span needs from a fiber's context. Contexts are immutable, so it is read once per context and
 * kept for the next dispatch made in the same one: nine service lookups become one identity check. The one entry
 * keeps the last context seen alive until a dispatch from another replaces it.
 */
export interface SpanEnv {
  readonly enabled: boolean
  readonly tracer: Tracer.Tracer
  readonly parent: Option.Option<Tracer.AnySpan>
  /** Whether the current trace level passes the minimum one. */
  readonly levelSampled: boolean
  readonly links: ReadonlyArray<Tracer.SpanLink>
  readonly annotations: Readonly<Record<string, unknown>>
  readonly timing: boolean
  readonly clock: Clock.Clock
}

let lastContext: Context.Context<never> | undefined
let lastEnv: SpanEnv | undefined

/** The span environment of a context, from a one-entry cache. */
export const spanEnv = (context: Context.Context<never>): SpanEnv => {
  if (context === lastContext) return lastEnv!
  const env: SpanEnv = {
    enabled: Context.get(context, References.TracerEnabled),
    tracer: Context.get(context, Tracer.Tracer),
    parent: Option.fromUndefinedOr(Context.getOrUndefined(context, Tracer.ParentSpan)),
    levelSampled: !LogLevel.isGreaterThan(
      Context.get(context, Tracer.MinimumTraceLevel),
      Context.get(context, Tracer.CurrentTraceLevel)
    ),
    links: Context.get(context, References.TracerSpanLinks),
    annotations: Context.get(context, References.TracerSpanAnnotations),
    timing: Context.get(context, References.TracerTimingEnabled),
    clock: Context.get(context, Clock.Clock)
  }
  lastContext = context
  lastEnv = env
  return env
}

/** Starts a span the way `Effect.withSpan` would, without touching the fiber's context; undefined when disabled. */
export const startSpan = (
  env: SpanEnv,
  name: string,
  options: {
    /** The context's parent span when omitted. */
    readonly parent?: Option.Option<Tracer.AnySpan> | undefined
    readonly links?: Array<Tracer.SpanLink> | undefined
    readonly root?: boolean | undefined
    /** The start time, when the caller has read the clock already. */
    readonly startTime?: bigint | undefined
  }
): Tracer.Span | undefined => {
  if (!env.enabled) return undefined
  const parent = options.parent ?? env.parent
  const span = env.tracer.span({
    name,
    parent,
    annotations: Context.empty(),
    links: options.links === undefined ? env.links.slice() : [...env.links, ...options.links],
    startTime: options.startTime ?? spanTime(env),
    kind: "internal",
    root: options.root ?? false,
    sampled: Option.isSome(parent) && parent.value.sampled === false ? false : env.levelSampled
  })
  const annotations = env.annotations
  for (const key in annotations) span.attribute(key, annotations[key])
  return span
}

/** The time to stamp on a span: the clock in nanoseconds, or 0 when span timing is off. */
export const spanTime = (env: SpanEnv): bigint => env.timing ? env.clock.currentTimeNanosUnsafe() : 0n

const reasonLabel = (failure: HandlerFailed): string => failure.reason.toLowerCase()

const noFailures: ReadonlyArray<HandlerFailed> = []

let offsetClock: Clock.Clock | undefined
let offsetMillis = 0

/** Wall time minus monotonic time of a clock, in ms, from a one-entry cache (read once per clock). */
const wallOffsetMillis = (clock: Clock.Clock): number => {
  if (clock !== offsetClock) {
    offsetClock = clock
    offsetMillis = clock.currentTimeMillisUnsafe() - Number(clock.monotonicTimeNanosUnsafe()) / 1e6
  }
  return offsetMillis
}

/** One per bus: what is observed, and the bounded set of hook labels. */
export class Observer {
  readonly options: ObserverOptions
  /** Whether each handler gets a span of its own (the general loop runs every handler). */
  perHandler = false
  /** Whether any dispatch needs a probe at all. */
  active = false
  /** Whether dispatch records are wanted (the test recorder, or a subscriber to `bus.dispatches`). */
  recording = false
  /**
   * Whether a dispatch may start without a probe: no handler gets a span, so one that completes in its hot loop
   * needs only its start time (for the duration metric and its record; a lazy span stays unmade). The probe is
   * made, with that start time, if it hands over to the general loop. A recorded dispatch whose handlers are due to
   * be timed (`timingDue`) has a probe from the start.
   */
  lean = false
  private readonly labels = new Set<string>()
  private subscribers = 0
  /** How many installed interceptors have `afterEach` (they get the records too). */
  private intercepting = 0
  private readonly publish: ((record: DispatchRecord) => void) | undefined
  private readonly asyncInFlight: MetricSeries

  constructor(options: ObserverOptions, publish?: (record: DispatchRecord) => void) {
    this.options = options
    this.asyncInFlight = new MetricSeries(HookMetrics.asyncInFlight, options.metricContext)
    this.publish = publish
    this.refresh()
  }

  /** A subscriber to the dispatch records came (+1) or went (-1): records are made only while one listens. */
  subscribed(delta: 1 | -1): void {
    this.subscribers += delta
    this.refresh()
  }

  /** How many installed interceptors have `afterEach`: records are made while any is. */
  intercepted(afterEach: number): void {
    this.intercepting = afterEach
    this.refresh()
  }

  private refresh(): void {
    const options = this.options
    this.recording = options.record !== undefined || this.subscribers > 0 || this.intercepting > 0
    this.perHandler = options.tracing === "handlers"
    this.active = options.tracing !== "off" || options.metrics || this.recording
    this.lean = options.tracing !== "handlers"
  }

  /**
   * The start time of a lean dispatch in `context` (the monotonic reading a probe would take), or `undefined` when
   * its span would be made up front (an installed tracer, tracing disabled there): then it needs a probe.
   */
  leanStart(context: Context.Context<never>): bigint | undefined {
    const env = spanEnv(context)
    if (this.options.tracing !== "off" && !(env.enabled && env.tracer === Tracer.nativeTracer)) return undefined
    return env.clock.monotonicTimeNanosUnsafe()
  }

  /**
   * Whether a recorded lean dispatch started at `started` is the one of its hook's millisecond whose handlers are
   * timed (see `Probe`): that one needs a probe from the start.
   */
  timingDue(series: HookSeries, started: bigint, context: Context.Context<never>): boolean {
    if (started < series.timedUntil) return false
    const offset = wallOffsetMillis(spanEnv(context).clock)
    const ms = Math.floor(Number(started) / 1e6 + offset)
    if (series.lastTimed !== ms) return true
    series.timedUntil = BigInt(Math.floor((ms + 1 - offset) * 1e6))
    return false
  }

  /**
   * A lean dispatch completed in its hot loop: what its probe's `finish("ok")` would have done (a recorded one's
   * `handlers` are given, the others' are not needed).
   */
  leanFinish(
    series: HookSeries,
    started: bigint,
    context: Context.Context<never>,
    kind: HookKind,
    name: string,
    value: unknown,
    args: ReadonlyArray<unknown>,
    handlers: ReadonlyArray<string> | undefined,
    result: unknown
  ): void {
    const metrics = this.options.metrics
    if (!metrics && handlers === undefined) return
    const clock = spanEnv(context).clock
    const elapsed = Number(clock.monotonicTimeNanosUnsafe() - started)
    if (metrics) {
      series.dispatches.update(1)
      series.duration.update(elapsed / 1e9)
    }
    if (handlers === undefined || !this.recording) return
    // The fields in the order `Probe.finish` writes them: records share one shape.
    this.emit({
      hook: name,
      kind,
      value: kind === "filter" ? value : undefined,
      args,
      outcome: "ok",
      handlers,
      result: kind === "filter" ? result : undefined,
      failures: noFailures,
      shortCircuitedBy: undefined,
      startedAt: Number(started) / 1e6 + wallOffsetMillis(clock),
      durationMillis: elapsed / 1e6,
      timings: undefined
    })
  }

  /** Hands a finished dispatch's record to the recorder and the subscribers. */
  emit(record: DispatchRecord): void {
    this.options.record?.(record)
    if (this.subscribers > 0) this.publish?.(record)
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
    const context = this.options.metricContext
    return {
      label,
      spanName: `hook.${kind} ${name}`,
      dispatches: new MetricSeries(HookMetrics.dispatchTotalOf(label, kind), context),
      duration: new MetricSeries(HookMetrics.dispatchDurationOf(label, kind), context),
      shortCircuits: new MetricSeries(HookMetrics.shortCircuitTotalOf(label), context),
      dropped: new MetricSeries(HookMetrics.asyncDroppedTotalOf(label), context),
      lastTimed: -1,
      timedUntil: 0n
    }
  }

  count(series: MetricSeries, value: number): void {
    if (this.options.metrics) series.update(value)
  }

  failure(failure: HandlerFailed, label: string): void {
    if (!this.options.metrics) return
    HookMetrics.handlerFailuresTotalOf(label, failure.kind, failure.source, reasonLabel(failure))
      .updateUnsafe(1, this.options.metricContext)
  }

  inFlight(value: number): void {
    if (this.options.metrics) this.asyncInFlight.update(value)
  }
}

/** One observed dispatch. */
export class Probe {
  private readonly observer: Observer
  /** What spans need from the dispatching fiber's context; undefined when tracing is off. */
  private readonly env: SpanEnv | undefined
  /** The clock for the duration metric when tracing is off. */
  private readonly metricClock: Clock.Clock | undefined
  private readonly kind: HookKind
  private readonly name: string
  private readonly series: HookSeries
  private readonly value: unknown
  private readonly args: ReadonlyArray<unknown>
  /**
   * Whether the dispatch span is made only when something asks for it. Under Effect's own tracer, which exports
   * nothing, a span that no handler, child span, link or event ever sees cannot be observed, so most dispatches
   * (handlers that complete on the spot) never build one. An installed tracer gets every span, eagerly.
   */
  private readonly lazy: boolean
  /** When the dispatch started: the span clock's wall time, or its monotonic time when the span is lazy. */
  private readonly started: bigint
  /** Wall time minus monotonic time, read when a lazy span is made: stamps its end on the wall clock. */
  private wallOffset = 0n
  private spanMade = false
  private madeSpan: Tracer.Span | undefined = undefined
  /** Whether the span is the parent span of the chain's context (set by the engine that ran the chain). */
  framed = false
  /** Recording: the sources of the handlers started so far (the hot loops push to it directly). */
  readonly handlers: Array<string> | undefined
  /** Recording: each handler's start and end (clock units from `started`), and its outcome. */
  private readonly timings: Array<MutableTiming> | undefined
  /** Recording: when the dispatch started, in Unix milliseconds. */
  private readonly startedAt: number
  private failures: Array<HandlerFailed> | undefined
  private done = false
  /** Where `afterEach` interceptors take this dispatch's record, when the dispatch is intercepted. */
  private readonly sink: ((record: DispatchRecord) => void) | undefined

  constructor(
    observer: Observer,
    context: Context.Context<never>,
    kind: HookKind,
    name: string,
    series: HookSeries,
    value: unknown,
    args: ReadonlyArray<unknown>,
    sink?: ((record: DispatchRecord) => void) | undefined,
    /** The start time, when a lean dispatch took it (`Observer.leanStart`) before handing over. */
    started?: bigint | undefined,
    /** A recorded lean dispatch's handlers started so far, as it hands over: its handlers are not timed. */
    handed?: Array<string> | undefined
  ) {
    this.observer = observer
    this.sink = sink
    const tracing = observer.options.tracing !== "off"
    const env = tracing ? spanEnv(context) : undefined
    this.env = env
    this.metricClock = !tracing && (observer.options.metrics || observer.recording) ? spanEnv(context).clock : undefined
    this.kind = kind
    this.name = name
    this.series = series
    this.value = value
    this.args = args
    this.handlers = handed ?? (observer.recording ? [] : undefined)
    this.lazy = env !== undefined && env.enabled && env.tracer === Tracer.nativeTracer &&
      observer.options.tracing === "dispatch"
    // One clock read at each end serves both the span and the duration metric.
    this.started = started ?? this.clock()
    if (observer.recording) {
      // The same read on the wall clock, in ms (a monotonic read is shifted by its clock's offset, read once).
      const monotonic = env === undefined || this.lazy
      this.startedAt = Number(this.started) / 1e6 + (monotonic ? wallOffsetMillis(env?.clock ?? this.metricClock!) : 0)
      // Timing each handler costs two clock reads apiece: a recorded dispatch is timed when no other of its hook was
      // in the same millisecond, so every dispatch at a person's pace is, and a hot loop pays for one per ms.
      const ms = Math.floor(this.startedAt)
      if (handed === undefined && series.lastTimed !== ms) {
        series.lastTimed = ms
        this.timings = []
      } else this.timings = undefined
    } else {
      this.startedAt = 0
      this.timings = undefined
    }
    if (!this.lazy) {
      this.spanMade = true
      this.madeSpan = env === undefined
        ? undefined
        : startSpan(env, series.spanName, { startTime: env.timing ? this.started : 0n })
    }
  }

  /** The dispatch span (made now if it is lazy and nothing asked for it before); undefined when not traced. */
  get span(): Tracer.Span | undefined {
    if (this.spanMade) return this.madeSpan
    this.spanMade = true
    const env = this.env!
    let startTime = 0n
    if (env.timing) {
      const wall = env.clock.currentTimeNanosUnsafe()
      this.wallOffset = wall - env.clock.monotonicTimeNanosUnsafe()
      startTime = this.started + this.wallOffset
    }
    this.madeSpan = startSpan(env, this.series.spanName, { startTime })
    return this.madeSpan
  }

  /** The span when it is not the chain context's parent span already: what must be set where it is needed. */
  get unframedSpan(): Tracer.Span | undefined {
    return this.framed ? undefined : this.span
  }

  /** The span for the chain's context, if one must be there from the start: lazy spans wait to be asked for. */
  get frameSpan(): Tracer.Span | undefined {
    if (!this.spanMade) return undefined
    this.framed = this.madeSpan !== undefined
    return this.madeSpan
  }

  /**
   * One clock read serves the span and the duration metric: the span's wall clock when the span is made up
   * front, the cheaper monotonic one otherwise.
   */
  private clock(): bigint {
    const env = this.env
    if (env !== undefined) return this.lazy ? env.clock.monotonicTimeNanosUnsafe() : env.clock.currentTimeNanosUnsafe()
    return this.metricClock === undefined ? 0n : this.metricClock.monotonicTimeNanosUnsafe()
  }

  /**
   * A handler is about to run: returns its span in "handlers" mode. An async handler (`inline` false) gets its own
   * linked span where it runs instead.
   */
  handlerStarted(source: string, inline = true): Tracer.Span | undefined {
    if (this.handlers !== undefined) {
      this.handlers.push(source)
      this.timings?.push({
        source,
        start: this.clock() - this.started,
        end: undefined,
        outcome: inline ? "ok" : "async"
      })
    }
    const env = this.env
    if (!inline || this.observer.options.tracing !== "handlers" || this.span === undefined || env === undefined) {
      return undefined
    }
    const span = startSpan(env, `hook.handler ${source}`, { parent: Option.some(this.span) })
    span?.attribute("hook.source", source)
    return span
  }

  /**
   * A sync handler ended. `at` is its place among the handlers started (`handlerCount()` before it started): the
   * last one started unless handlers run at once.
   */
  handlerEnded(span: Tracer.Span | undefined, exit: Exit.Exit<unknown, unknown>, at?: number): void {
    if (span !== undefined) span.end(spanTime(this.env!), exit)
    const timings = this.timings
    if (timings !== undefined) {
      const timing = timings[at ?? timings.length - 1]
      if (timing !== undefined) {
        timing.end = this.clock() - this.started
        if (exit._tag === "Failure") timing.outcome = "failed"
      }
    }
  }

  /** Whether this dispatch times its handlers (the general loop runs it). */
  get timed(): boolean {
    return this.timings !== undefined
  }

  /** How many handlers were started so far (recording only; 0 otherwise). */
  handlerCount(): number {
    return this.timings?.length ?? 0
  }

  /** A handler did not complete: a span event and a metric. */
  failed(failure: HandlerFailed): void {
    this.failures ??= []
    this.failures.push(failure)
    if (this.span !== undefined) {
      this.span.event("hook.handler_failed", spanTime(this.env!), {
        "hook.source": failure.source,
        "hook.reason": failure.reason,
        "hook.error": failure.message
      })
    }
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
      this.series.dispatches.update(1)
      this.series.duration.update(Number(ended - this.started) / 1e9)
      if (outcome === "short_circuit") this.series.shortCircuits.update(1)
    }
    // A lazy span nothing asked for stays unmade: nothing could see it.
    const span = this.spanMade ? this.madeSpan : undefined
    if (span !== undefined) {
      span.attribute("hook.name", this.name)
      span.attribute("hook.kind", this.kind)
      span.attribute("hook.handlers", ran)
      span.attribute("hook.outcome", outcome)
      if (shortCircuitedBy !== undefined) span.attribute("hook.short_circuited_by", shortCircuitedBy)
      span.end(
        this.env!.timing ? ended + this.wallOffset : 0n,
        outcome === "failed" || outcome === "interrupted" ? Exit.fail(outcome) : Exit.void
      )
    }
    if (!observer.recording) return
    const record: DispatchRecord = {
      hook: this.name,
      kind: this.kind,
      value: this.kind === "filter" ? this.value : undefined,
      args: this.args,
      outcome,
      handlers: this.handlers ?? [],
      result: this.kind === "filter" ? result : undefined,
      failures: this.failures ?? noFailures,
      shortCircuitedBy,
      startedAt: this.startedAt,
      durationMillis: Number(ended - this.started) / 1e6,
      timings: this.timings?.map((t): HandlerTiming => ({
        source: t.source,
        startMillis: Number(t.start) / 1e6,
        durationMillis: t.end === undefined ? undefined : Number(t.end - t.start) / 1e6,
        outcome: t.outcome
      }))
    }
    observer.emit(record)
    this.sink?.(record)
  }
}

/** A handler's timing while its dispatch runs. */
interface MutableTiming {
  readonly source: string
  readonly start: bigint
  end: bigint | undefined
  outcome: HandlerTiming["outcome"]
}
