/**
 * The live hook bus.
 *
 * Each hook has a slot holding a `Ref` of its chain: an immutable array of handlers, already in run order. A
 * registration builds a new array (copy-on-write) and swaps it in, in one synchronous step, so dispatch reads the
 * chain once and never sorts. Dispatch calls handlers in a plain loop; a handler that returns an already-completed
 * Effect (`Effect.succeed`, `Hook.shortCircuit`) is settled on the spot, and the fiber machinery is entered only for
 * handlers that really suspend.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type { FilterErrorPolicy, HandlerInfo, HandlerMode, Registration } from "../domain/Handler.ts"
import * as HandlerOrder from "../domain/HandlerOrder.ts"
import { type ActionHook, type AnyHook, type FilterHook, type HookKind, keyOf } from "../domain/Hook.ts"
import {
  ActionFailed,
  type FailureReason,
  FilterFailed,
  HandlerFailed,
  RecursionLimit,
  RegistrationRejected
} from "../domain/HookErrors.ts"
import type { FilterResult, HookBusOptions, HookBusShape } from "../services/HookBus.ts"
import type { DispatchRecord } from "../services/HookRecorder.ts"
import { AsyncRunner } from "./internal/AsyncRunner.ts"
import { type HookSeries, Observer, type Probe, spanEnv, spanTime, startSpan } from "./internal/DispatchProbe.ts"
import * as HandlerContext from "./internal/HandlerContext.ts"
import * as HookStack from "./internal/HookStack.ts"
import { optionProblem, type RawOptions, resolveOptions } from "./internal/Options.ts"

type AnyFn = (...args: Array<any>) => Effect.Effect<any, any, any>

/** A registered handler. `removed` stops it from running; `detached` records it has left its chain. */
interface Entry extends HandlerOrder.Orderable, HandlerContext.MergeCache {
  readonly id: number
  readonly slot: Slot
  readonly fn: AnyFn
  readonly mode: HandlerMode
  readonly once: boolean
  readonly timeout: Duration.Duration | undefined
  readonly policy: FilterErrorPolicy
  readonly orderBy: ((...args: ReadonlyArray<unknown>) => string) | undefined
  readonly lent: HandlerContext.Lent
  readonly info: HandlerInfo
  removed: boolean
  detached: boolean
}

/** Everything the bus keeps for one hook. */
interface Slot {
  readonly name: string
  readonly kind: HookKind
  readonly chain: Ref.Ref<ReadonlyArray<Entry>>
  dispatches: number
  /** How many of the chain's handlers have ordering constraints (0 keeps registration a binary insertion). */
  constrained: number
  /** Metric series, made on the first observed dispatch. */
  series: HookSeries | undefined
}

/** A failure settled from an Exit: short-circuit value, or the handler failure. */
const TimedOut: unique symbol = Symbol.for("hookbus/TimedOut")

const reasonOf = (cause: Cause.Cause<unknown>): FailureReason => {
  if (cause.reasons.some((r) => Cause.isFailReason(r) && r.error === TimedOut)) return "Timeout"
  if (Cause.hasDies(cause)) return "Defect"
  if (Cause.hasFails(cause)) return "Failure"
  return "Interrupt"
}

/** The value of a `ShortCircuit` failure, or `NotShortCircuit`. */
const NotShortCircuit: unique symbol = Symbol.for("hookbus/NotShortCircuit")
const shortCircuitValue = (cause: Cause.Cause<unknown>): unknown => {
  if (cause.reasons.length !== 1) return NotShortCircuit
  const reason = cause.reasons[0]
  if (!Cause.isFailReason(reason)) return NotShortCircuit
  const error = reason.error as { readonly _tag?: unknown; readonly value?: unknown } | null
  return typeof error === "object" && error !== null && error._tag === "ShortCircuit" ? error.value : NotShortCircuit
}

const timeoutCause = (entry: Entry): Cause.Cause<unknown> =>
  Cause.fromReasons([
    Cause.makeFailReason(TimedOut),
    Cause.makeDieReason(
      new Cause.TimeoutError(`handler "${entry.source}" ran longer than ${Duration.format(entry.timeout!)}`)
    )
  ])

const handlerFailed = (entry: Entry, cause: Cause.Cause<unknown>): HandlerFailed => {
  const reason = reasonOf(cause)
  return new HandlerFailed({
    hook: entry.slot.name,
    kind: entry.slot.kind,
    source: entry.source,
    reason,
    cause: reason === "Timeout" ? Cause.fromReasons(cause.reasons.filter((r) => !Cause.isFailReason(r))) : cause
  })
}

// Exits are Effects that have already completed. Every Exit carries this key (the `Exit` interface declares it);
// two property loads with warm inline caches are the cheapest exact test, and this runs once per handler call.
const ExitKey = "~effect/Exit"

/** The Exit a handler returned, or `undefined` when it returned something still to run (or not an Effect). */
const completed = (returned: unknown): Exit.Exit<unknown, unknown> | undefined =>
  returned !== null && typeof returned === "object" && (returned as Record<string, unknown>)[ExitKey] !== undefined
    ? returned as Exit.Exit<unknown, unknown>
    : undefined

/** Calls a filter handler; a throw is a defect, like a throw inside `Effect.sync`. */
const invokeFilter = (fn: AnyFn, value: unknown, args: ReadonlyArray<unknown>): unknown => {
  try {
    switch (args.length) {
      case 0:
        return fn(value)
      case 1:
        return fn(value, args[0])
      default:
        return fn(value, ...args)
    }
  } catch (error) {
    return Exit.die(error)
  }
}

/** Calls an action handler; a throw is a defect. */
const invokeAction = (fn: AnyFn, args: ReadonlyArray<unknown>): unknown => {
  try {
    switch (args.length) {
      case 0:
        return fn()
      case 1:
        return fn(args[0])
      default:
        return fn(...args)
    }
  } catch (error) {
    return Exit.die(error)
  }
}

const noArgs: ReadonlyArray<unknown> = []

const sliceArgs = (args: IArguments, from: number): ReadonlyArray<unknown> => Array.prototype.slice.call(args, from)

/** Whether a handler returned an already-successful Effect. */
const isSuccess = (returned: unknown): returned is Exit.Success<unknown> =>
  returned !== null && typeof returned === "object" && (returned as Exit.Success<unknown>)._tag === "Success" &&
  (returned as Record<string, unknown>)[ExitKey] !== undefined

const notAnEffect = (entry: Entry, returned: unknown): Exit.Exit<never> =>
  Exit.die(
    new TypeError(
      `handler "${entry.source}" on ${entry.slot.kind} "${entry.slot.name}" returned ${
        returned === null ? "null" : typeof returned
      }, not an Effect`
    )
  )

const logAnnotations = (entry: Entry) => ({ hook: entry.slot.name, kind: entry.slot.kind, source: entry.source })

/** A filter dispatch past its hot loop: a failure, a short-circuit, a suspending handler, or observed handlers. */
class FilterRun {
  value: unknown
  ran: number
  skipped: Array<HandlerFailed> | undefined = undefined
  shortCircuitedBy: string | undefined = undefined
  failed: FilterFailed<unknown> | undefined = undefined
  readonly probe: Probe | undefined
  constructor(value: unknown, ran: number, probe: Probe | undefined) {
    this.value = value
    this.ran = ran
    this.probe = probe
  }
  /** Takes a handler's outcome; false stops the chain. */
  settle(entry: Entry, exit: Exit.Exit<unknown, unknown>): boolean {
    this.ran++
    if (exit._tag === "Success") {
      this.value = exit.value
      return true
    }
    const value = shortCircuitValue(exit.cause)
    if (value !== NotShortCircuit) {
      this.value = value
      this.shortCircuitedBy = entry.source
      return false
    }
    const failure = handlerFailed(entry, exit.cause)
    this.probe?.failed(failure)
    if (entry.policy === "skip") {
      ;(this.skipped ??= []).push(failure)
      return true
    }
    this.failed = new FilterFailed({ hook: entry.slot.name, value: this.value, failure })
    return false
  }
  finish(detailed: boolean): Effect.Effect<unknown, FilterFailed<unknown>> {
    this.probe?.finish(
      this.failed !== undefined ? "failed" : this.shortCircuitedBy !== undefined ? "short_circuit" : "ok",
      this.ran,
      this.value,
      this.shortCircuitedBy
    )
    const outcome: Effect.Effect<unknown, FilterFailed<unknown>> = this.failed !== undefined
      ? Effect.fail(this.failed)
      : Effect.succeed(
        detailed
          ? {
            value: this.value,
            shortCircuitedBy: Option.fromUndefinedOr(this.shortCircuitedBy),
            ran: this.ran,
            skipped: this.skipped ?? []
          } satisfies FilterResult<unknown>
          : this.value
      )
    if (this.skipped === undefined) return outcome
    return Effect.andThen(Effect.forEach(this.skipped, logSkipped, { discard: true }), outcome)
  }
}

const logSkipped = (failure: HandlerFailed) =>
  Effect.logWarning("filter handler failed and was skipped", failure.cause).pipe(
    Effect.annotateLogs({ hook: failure.hook, kind: failure.kind, source: failure.source, reason: failure.reason })
  )

/** An action dispatch past its hot loop. */
class ActionRun {
  ran: number
  failures: Array<HandlerFailed> | undefined = undefined
  readonly probe: Probe | undefined
  constructor(ran: number, probe: Probe | undefined) {
    this.ran = ran
    this.probe = probe
  }
  settle(entry: Entry, exit: Exit.Exit<unknown, unknown>): void {
    this.ran++
    if (exit._tag === "Success") return
    const failure = handlerFailed(entry, exit.cause)
    this.probe?.failed(failure)
    ;(this.failures ??= []).push(failure)
  }
  finish(name: string): Effect.Effect<void, ActionFailed> {
    this.probe?.finish(this.failures === undefined ? "ok" : "failed", this.ran, undefined, undefined)
    return this.failures === undefined
      ? Effect.void
      : Effect.fail(new ActionFailed({ hook: name, failures: this.failures }))
  }
}

/** Marks a handler not yet called when the general loop starts. */
const NotInvoked: unique symbol = Symbol.for("hookbus/NotInvoked")

/** Internal settings the public options do not expose (the test layer's recorder). */
export interface HookBusInternals {
  readonly record?: ((record: DispatchRecord) => void) | undefined
}

/** Builds a hook bus whose async fibers live in the current scope. */
export const makeHookBus = (
  options: HookBusOptions,
  internals: HookBusInternals = {}
): Effect.Effect<HookBusShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const config = resolveOptions(options)
    const slots = new Map<string, Slot>()
    const bySource = new Map<string, Set<Entry>>()
    let nextId = 0

    const observer = new Observer({
      tracing: config.tracing,
      metrics: config.metrics,
      maxHookLabels: config.maxHookLabels,
      record: internals.record,
      metricContext: yield* Effect.context<never>()
    })
    const fibers = yield* FiberSet.make<void, never>()
    const runner = new AsyncRunner(fibers, {
      concurrency: config.concurrency,
      overflow: config.overflow,
      onDrop: (reason, hook, source) =>
        Effect.suspend(() => {
          observer.count(seriesOf(slotFor("action", hook, keyOf("action", hook))).dropped, 1)
          return Effect.logWarning(
            reason === "closing" ? "async handler dropped: the bus is closing" : "async handler dropped: bound reached"
          ).pipe(Effect.annotateLogs({ hook, kind: "action", source, concurrency: config.concurrency }))
        }),
      onInFlight: (n) => observer.inFlight(n)
    })
    // Runs before the FiberSet's own finalizer, which interrupts whatever is left.
    yield* Effect.addFinalizer(() => runner.shutdown(config.grace))

    const slotFor = (kind: HookKind, name: string, key: string): Slot => {
      let slot = slots.get(key)
      if (slot === undefined) {
        slot = {
          name,
          kind,
          chain: Ref.makeUnsafe<ReadonlyArray<Entry>>([]),
          dispatches: 0,
          constrained: 0,
          series: undefined
        }
        slots.set(key, slot)
      }
      return slot
    }

    const seriesOf = (slot: Slot): HookSeries => slot.series ??= observer.series(slot.kind, slot.name)

    // Registrations made in a row from one context (a Layer registering its handlers) share what they lend.
    let lastContext: Context.Context<never> | undefined
    let lastLent: HandlerContext.Lent | undefined
    const lentBy = (context: Context.Context<never>): HandlerContext.Lent => {
      if (context !== lastContext || lastLent === undefined) {
        lastContext = context
        lastLent = HandlerContext.capture(context)
      }
      return lastLent
    }

    const detach = (entry: Entry): void => {
      entry.removed = true
      if (entry.detached) return
      entry.detached = true
      const slot = entry.slot
      const chain = slot.chain.ref
      chain.current = HandlerOrder.remove(chain.current, entry, slot.constrained > 0)
      if (entry.before.length > 0 || entry.after.length > 0) slot.constrained--
      const sourceSet = bySource.get(entry.source)
      sourceSet?.delete(entry)
      if (sourceSet?.size === 0) bySource.delete(entry.source)
    }

    const register = (hook: AnyHook, fn: AnyFn, raw: RawOptions | undefined) =>
      Effect.uninterruptible(Effect.withFiber((fiber) => {
        const o: RawOptions = raw ?? {}
        const problem = optionProblem(hook.kind, hook.name, o)
        if (problem !== undefined) {
          return Effect.fail(new RegistrationRejected({ hook: hook.name, reason: problem[0], message: problem[1] }))
        }
        const id = ++nextId
        const source = (o.source as string | undefined) ?? `handler-${id}`
        const before = (o.before as ReadonlyArray<string> | undefined) ?? []
        const after = (o.after as ReadonlyArray<string> | undefined) ?? []
        if (before.includes(source) || after.includes(source)) {
          return Effect.fail(
            new RegistrationRejected({
              hook: hook.name,
              reason: "SelfConstraint",
              message: `handler "${source}" names its own source in before/after`
            })
          )
        }
        const slot = slotFor(hook.kind, hook.name, hook.key)
        const mode: HandlerMode = o.mode === "async" ? "async" : "sync"
        const priority = (o.priority as number | undefined) ?? 10
        const once = o.once === true
        const entry: Entry = {
          id,
          seq: id,
          slot,
          fn,
          source,
          priority,
          before,
          after,
          mode,
          once,
          timeout: o.timeout === undefined ? undefined : Duration.fromInputUnsafe(o.timeout as Duration.Input),
          policy: (o.onError as FilterErrorPolicy | undefined) ?? config.filterErrors[hook.name] ?? "abort",
          orderBy: o.orderBy as Entry["orderBy"],
          lent: lentBy(fiber.context),
          info: { id, source, priority, mode, before, after, once },
          base: undefined,
          merged: undefined,
          removed: false,
          detached: false
        }
        const chain = Ref.getUnsafe(slot.chain)
        const resolved = HandlerOrder.insert(chain, entry, slot.constrained > 0)
        if (resolved._tag === "Cycle") {
          return Effect.fail(
            new RegistrationRejected({
              hook: hook.name,
              reason: "Cycle",
              message: `ordering constraints form a cycle: ${resolved.sources.join(" -> ")}`
            })
          )
        }
        slot.chain.ref.current = resolved.order
        if (before.length > 0 || after.length > 0) slot.constrained++
        let sourceSet = bySource.get(source)
        if (sourceSet === undefined) bySource.set(source, sourceSet = new Set())
        sourceSet.add(entry)

        // A child scope per registration: `remove` closes it, which also detaches it from the parent scope, so
        // long-lived scopes do not collect finalizers of removed handlers.
        const scope = Scope.forkUnsafe(Context.get(fiber.context as Context.Context<Scope.Scope>, Scope.Scope))
        const registration: Registration = {
          id,
          hook: hook.name,
          source,
          remove: Scope.close(scope, Exit.void)
        }
        const missing = before.length === 0 && after.length === 0 ? [] : HandlerOrder.missingSources(chain, entry)
        const warn = missing.length === 0 ? Effect.void : Effect.logWarning(
          `ordering constraint names source(s) not registered on this hook, ignored until they register: ${
            missing.join(", ")
          }`
        ).pipe(Effect.annotateLogs(logAnnotations(entry)))
        return Scope.addFinalizer(scope, Effect.sync(() => detach(entry))).pipe(
          Effect.andThen(warn),
          Effect.as(registration)
        )
      }))

    /**
     * Runs a handler Effect that did not complete on the spot, bounded by its timeout. It runs in the dispatch's
     * context (set once for the whole rest of the chain), switched only when the handler needs services the
     * dispatching fiber lacks, or has its own span.
     */
    const runSlow = (
      entry: Entry,
      returned: unknown,
      caller: Context.Context<never>,
      frame: HookStack.HookFrame,
      dispatchSpan: Tracer.Span | undefined,
      handlerSpan: Tracer.Span | undefined
    ): Effect.Effect<Exit.Exit<unknown, unknown>> => {
      if (!Effect.isEffect(returned)) return Effect.succeed(notAnEffect(entry, returned))
      let effect = returned as Effect.Effect<unknown, unknown>
      const lent = HandlerContext.prepare(entry, entry.lent, caller)
      if (lent !== undefined || handlerSpan !== undefined) {
        const base = Context.add(lent ?? caller, HookStack.CurrentHookFrame, frame)
        const parentSpan = handlerSpan ?? dispatchSpan
        const context = parentSpan === undefined ? base : Context.add(base, Tracer.ParentSpan, parentSpan)
        effect = Effect.updateContext(effect, (): Context.Context<never> => context)
      }
      if (entry.timeout !== undefined) {
        const timeout = entry.timeout
        effect = Effect.flatMap(
          Effect.timeoutOption(Effect.exit(effect), timeout),
          (o) => o._tag === "Some" ? o.value : Effect.failCause(timeoutCause(entry))
        )
      }
      return Effect.exit(effect)
    }

    /** Runs `effect` with this dispatch on the hook stack and, when traced, as the parent span. */
    const inFrame = <A, E>(
      effect: Effect.Effect<A, E>,
      frame: HookStack.HookFrame,
      span: Tracer.Span | undefined
    ): Effect.Effect<A, E> =>
      Effect.updateContext(effect, (context: Context.Context<never>): Context.Context<never> => {
        const framed = Context.add(context, HookStack.CurrentHookFrame, frame)
        return span === undefined ? framed : Context.add(framed, Tracer.ParentSpan, span)
      })

    /** Claims a handler for this run: false when it was removed, or is `once` and already claimed. */
    const claim = (entry: Entry): boolean => {
      if (entry.removed) return false
      if (entry.once) detach(entry)
      return true
    }

    const recursionLimit = (name: string, parent: HookStack.HookFrame) =>
      Effect.fail(new RecursionLimit({ hook: name, depth: parent.depth + 1 }))

    const applyFiltersWith = (
      hook: FilterHook<any, any>,
      value: unknown,
      args: ReadonlyArray<unknown>,
      detailed: boolean
    ): Effect.Effect<any, FilterFailed<unknown> | RecursionLimit> =>
      Effect.withFiber<any, FilterFailed<unknown> | RecursionLimit>((fiber) => {
        const context = fiber.context
        const parent = Context.get(context, HookStack.CurrentHookFrame)
        if (parent !== undefined && parent.depth >= config.maxDepth) return recursionLimit(hook.name, parent)
        const slot = slotFor("filter", hook.name, hook.key)
        slot.dispatches++
        const chain = slot.chain.ref.current
        const probe = observer.active
          ? observer.start(context, "filter", hook.name, seriesOf(slot), value, args)
          : undefined
        if (observer.perHandler) {
          return filterRest(
            new FilterRun(value, 0, probe),
            chain,
            0,
            NotInvoked,
            args,
            context,
            parent,
            hook,
            detailed
          )
        }
        // The hot loop: handlers that succeed on the spot cost a call and two property checks. Anything else (a
        // failure, a short-circuit, an Effect that must run) hands over to the general loop.
        let current = value
        let ran = 0
        for (let i = 0; i < chain.length; i++) {
          const entry = chain[i]
          if (entry.removed) continue
          if (entry.once) detach(entry)
          const returned = invokeFilter(entry.fn, current, args)
          if (isSuccess(returned)) {
            current = returned.value
            ran++
            continue
          }
          return filterRest(
            new FilterRun(current, ran, probe),
            chain,
            i,
            returned,
            args,
            context,
            parent,
            hook,
            detailed
          )
        }
        if (probe !== undefined) probe.finish("ok", ran, current, undefined)
        return Effect.succeed(
          detailed ? { value: current, shortCircuitedBy: Option.none(), ran, skipped: [] } : current
        )
      })

    /** Runs the chain from `start` (whose handler may already have been called), entering the fiber where needed. */
    const filterRest = (
      run: FilterRun,
      chain: ReadonlyArray<Entry>,
      start: number,
      pending: unknown,
      args: ReadonlyArray<unknown>,
      context: Context.Context<never>,
      parent: HookStack.HookFrame | undefined,
      hook: AnyHook,
      detail: boolean
    ): Effect.Effect<unknown, FilterFailed<unknown>> => {
      const probe = run.probe
      const dispatchSpan = probe?.span
      const frame = HookStack.push(parent, hook)
      // A plain loop that returns an Effect only where a handler suspends: `Effect.gen` would cost a generator
      // and an iterator primitive per dispatch, more than the handlers themselves.
      const loop = (from: number, first: unknown): Effect.Effect<unknown, FilterFailed<unknown>> => {
        for (let i = from; i < chain.length; i++) {
          const entry = chain[i]
          let returned = first
          let span: Tracer.Span | undefined
          first = NotInvoked
          if (returned === NotInvoked) {
            if (!claim(entry)) continue
            span = probe?.handlerStarted(entry.source)
            returned = invokeFilter(entry.fn, run.value, args)
          }
          const exit = completed(returned)
          if (exit === undefined) {
            return Effect.flatMap(runSlow(entry, returned, context, frame, dispatchSpan, span), (slow) => {
              probe?.handlerEnded(span, slow)
              return run.settle(entry, slow) ? loop(i + 1, NotInvoked) : run.finish(detail)
            })
          }
          probe?.handlerEnded(span, exit)
          if (!run.settle(entry, exit)) break
        }
        return run.finish(detail)
      }
      const framed = inFrame(Effect.suspend(() => loop(start, pending)), frame, dispatchSpan)
      return probe === undefined ? framed : Effect.onInterrupt(framed, () => Effect.sync(() => probe.interrupted()))
    }

    /** Starts an async handler run in a bus-owned fiber; the dispatching fiber does not wait for it. */
    const submitAsync = (
      entry: Entry,
      args: ReadonlyArray<unknown>,
      caller: Context.Context<never>,
      frame: HookStack.HookFrame,
      dispatchSpan: Tracer.Span | undefined
    ) => {
      const job = Effect.suspend(() => {
        // Its own span, linked to the dispatch span: it outlives the dispatch, so it is not a child.
        const env = dispatchSpan === undefined ? undefined : spanEnv(caller)
        const span = env === undefined || dispatchSpan === undefined
          ? undefined
          : startSpan(env, `hook.handler ${entry.source}`, {
            parent: Option.none(),
            root: true,
            links: [{ span: dispatchSpan, attributes: { "hook.link": "dispatch" } }]
          })
        span?.attribute("hook.name", entry.slot.name)
        span?.attribute("hook.source", entry.source)
        span?.attribute("hook.mode", "async")
        return Effect.map(runSlow(entry, invokeAction(entry.fn, args), caller, frame, undefined, span), (exit) => {
          if (span !== undefined) span.end(spanTime(env!), exit)
          return exit
        })
      }).pipe(
        Effect.flatMap((exit) => {
          if (exit._tag === "Success") return Effect.void
          const failure = handlerFailed(entry, exit.cause)
          observer.failure(failure, seriesOf(entry.slot).label)
          return Effect.logError("async handler failed", failure.message, exit.cause).pipe(
            Effect.annotateLogs(logAnnotations(entry))
          )
        })
      )
      let key: string | undefined
      if (entry.orderBy !== undefined) {
        try {
          key = String(entry.orderBy(...args))
        } catch (error) {
          return Effect.logError("async handler not run: its orderBy threw", Cause.die(error)).pipe(
            Effect.annotateLogs(logAnnotations(entry))
          )
        }
      }
      // One queue per hook and key: all handlers of event N run before event N+1.
      const queue = key === undefined ? undefined : `${entry.slot.kind}:${entry.slot.name}\u0000${key}`
      return runner.submit(job, entry.slot.name, entry.source, queue)
    }

    const doAction = (hook: ActionHook<any>, args: ReadonlyArray<unknown>) =>
      Effect.withFiber<void, ActionFailed | RecursionLimit>((fiber) => {
        const context = fiber.context
        const parent = Context.get(context, HookStack.CurrentHookFrame)
        if (parent !== undefined && parent.depth >= config.maxDepth) return recursionLimit(hook.name, parent)
        const slot = slotFor("action", hook.name, hook.key)
        slot.dispatches++
        const chain = slot.chain.ref.current
        const probe = observer.active
          ? observer.start(context, "action", hook.name, seriesOf(slot), undefined, args)
          : undefined
        if (observer.perHandler) {
          return actionRest(new ActionRun(0, probe), chain, 0, NotInvoked, args, context, parent, hook)
        }
        let ran = 0
        let run: ActionRun | undefined
        for (let i = 0; i < chain.length; i++) {
          const entry = chain[i]
          if (entry.mode === "async") {
            return actionRest(run ?? new ActionRun(ran, probe), chain, i, NotInvoked, args, context, parent, hook)
          }
          if (!claim(entry)) {
            continue
          }
          const returned = invokeAction(entry.fn, args)
          if (isSuccess(returned)) {
            ran++
            continue
          }
          const exit = completed(returned)
          if (exit === undefined) {
            return actionRest(run ?? new ActionRun(ran, probe), chain, i, returned, args, context, parent, hook)
          }
          run ??= new ActionRun(ran, probe)
          run.settle(entry, exit)
          ran = run.ran
        }
        if (run !== undefined) {
          return run.finish(hook.name)
        }
        if (probe !== undefined) {
          probe.finish("ok", ran, undefined, undefined)
        }
        return Effect.void
      })

    const actionRest = (
      run: ActionRun,
      chain: ReadonlyArray<Entry>,
      start: number,
      pending: unknown,
      args: ReadonlyArray<unknown>,
      context: Context.Context<never>,
      parent: HookStack.HookFrame | undefined,
      hook: AnyHook
    ): Effect.Effect<void, ActionFailed> => {
      const probe = run.probe
      const name = hook.name
      const dispatchSpan = probe?.span
      const frame = HookStack.push(parent, hook)
      const loop = (from: number, first: unknown): Effect.Effect<void, ActionFailed> => {
        for (let i = from; i < chain.length; i++) {
          const entry = chain[i]
          let returned = first
          let span: Tracer.Span | undefined
          first = NotInvoked
          if (returned === NotInvoked) {
            if (!claim(entry)) continue
            if (entry.mode === "async") {
              probe?.handlerStarted(entry.source, false)
              run.ran++
              return Effect.flatMap(
                submitAsync(entry, args, context, frame, dispatchSpan),
                () => loop(i + 1, NotInvoked)
              )
            }
            span = probe?.handlerStarted(entry.source)
            returned = invokeAction(entry.fn, args)
          }
          const exit = completed(returned)
          if (exit === undefined) {
            return Effect.flatMap(runSlow(entry, returned, context, frame, dispatchSpan, span), (slow) => {
              probe?.handlerEnded(span, slow)
              run.settle(entry, slow)
              return loop(i + 1, NotInvoked)
            })
          }
          probe?.handlerEnded(span, exit)
          run.settle(entry, exit)
        }
        return run.finish(name)
      }
      const framed = inFrame(Effect.suspend(() => loop(start, pending)), frame, dispatchSpan)
      return probe === undefined ? framed : Effect.onInterrupt(framed, () => Effect.sync(() => probe.interrupted()))
    }

    const chainOf = (hook: AnyHook): ReadonlyArray<Entry> => {
      const slot = slots.get(hook.key)
      return slot === undefined ? [] : Ref.getUnsafe(slot.chain)
    }

    const shape: HookBusShape = {
      addAction: (hook, handler, o) => register(hook, handler as AnyFn, o as RawOptions | undefined),
      addFilter: (hook, handler, o) => register(hook, handler as AnyFn, o as RawOptions | undefined),
      doAction: function(hook: ActionHook<any>) {
        return doAction(hook, arguments.length <= 1 ? noArgs : sliceArgs(arguments, 1))
      } as HookBusShape["doAction"],
      // `arguments` rather than a rest parameter: no array is allocated for the common dispatch without arguments.
      applyFilters: function(hook: FilterHook<any, any>, value: unknown) {
        return applyFiltersWith(hook, value, arguments.length <= 2 ? noArgs : sliceArgs(arguments, 2), false)
      } as HookBusShape["applyFilters"],
      applyFiltersResult: function(hook: FilterHook<any, any>, value: unknown) {
        return applyFiltersWith(hook, value, arguments.length <= 2 ? noArgs : sliceArgs(arguments, 2), true)
      } as HookBusShape["applyFiltersResult"],
      has: (hook) => Effect.sync(() => chainOf(hook).some((e) => !e.removed)),
      handlers: (hook) => Effect.sync(() => chainOf(hook).filter((e) => !e.removed).map((e) => e.info)),
      dispatchCount: (hook) => Effect.sync(() => slots.get(hook.key)?.dispatches ?? 0),
      current: Effect.withFiber((fiber) =>
        Effect.succeed(HookStack.names(Context.get(fiber.context, HookStack.CurrentHookFrame)))
      ),
      awaitIdle: runner.awaitIdle,
      removeSource: (source) =>
        Effect.sync(() => {
          const entries = bySource.get(source)
          if (entries === undefined) return 0
          const all = [...entries]
          for (const entry of all) detach(entry)
          return all.length
        })
    }
    return shape
  })
