/**
 * The dispatch engine, one for both kinds of hook. `dispatch` reads the chain once and calls handlers in a plain
 * loop: a handler that returns an already-successful Effect (`Effect.succeed`, `Effect.void`) costs a call and a
 * prototype check. Anything else (a failure, a short-circuit, an Effect that must run, an async action handler, or
 * an observed dispatch) hands over to `runChain`, the general loop, which enters the fiber only where a handler
 * suspends. What differs between filters and actions (the value threaded through, what stops the chain, the result)
 * is the kind's `ChainRun`: its `call`, `settle` and `finish`.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { AnyHook } from "../../domain/Hook.ts"
import { ActionFailed, FilterFailed, type HandlerFailed, RecursionLimit } from "../../domain/HookErrors.ts"
import type { FilterResult } from "../../services/HookBusShape.ts"
import {
  CurrentDurableDispatch,
  type DurableDispatch,
  RequestedDurableDispatch,
  succeedNoJobs
} from "../../services/internal/DurableRegistrar.ts"
import * as HookStack from "../../services/internal/HookStack.ts"
import type { SubmitAsync } from "./Async.ts"
import { type Observer, Probe } from "./DispatchProbe.ts"
import * as EffectCompat from "./EffectCompat.ts"
import type { RecordSink } from "./Intercept.ts"
import {
  callActionHandler,
  callFilterHandler,
  exitOnTheSpot,
  handlerFailed,
  NotShortCircuit,
  runSlow,
  runThunk,
  shortCircuitValue,
  Thrown
} from "./Invoke.ts"
import { chainOf, chainSources, type Entry, type Registry, seriesOf, type Slot, sourcesBefore } from "./Registry.ts"

/** What a chain fails with, whichever its kind. */
type ChainError = FilterFailed<unknown> | ActionFailed

/** What a dispatch fails with, whichever its kind. */
export type DispatchError = FilterFailed<unknown> | ActionFailed | RecursionLimit

/** A dispatch past its hot loop: how its kind calls a handler, takes its outcome, and ends. */
interface ChainRun {
  ran: number
  readonly probe: Probe | undefined
  /** Calls the handler (returns what it returned, or a defect Exit if it threw). */
  call(entry: Entry, args: ReadonlyArray<unknown>): unknown
  /** Takes a handler's outcome; false stops the chain. */
  settle(entry: Entry, exit: Exit.Exit<unknown, unknown>): boolean
  /** The dispatch's result, once the chain is done or stopped. */
  finish(): Effect.Effect<unknown, ChainError>
}

const annotations = (failure: HandlerFailed) => ({
  hook: failure.hook,
  kind: failure.kind,
  source: failure.source,
  reason: failure.reason
})

/** A skipped filter handler: a warning, or an error when it died (a defect is a bug whatever the policy). */
const logSkipped = (failure: HandlerFailed) =>
  (failure.reason === "Defect"
    ? Effect.logError("filter handler died and was skipped", failure.cause)
    : Effect.logWarning("filter handler failed and was skipped", failure.cause)).pipe(
      Effect.annotateLogs(annotations(failure))
    )

/** A sync handler that died (threw, `Effect.die`): logged at ERROR with its pretty Cause, then returned as usual. */
export const logDefect = (failure: HandlerFailed) =>
  Effect.logError(`${failure.kind} handler died`, failure.cause).pipe(Effect.annotateLogs(annotations(failure)))

/** `outcome`, after logging the defects of the dispatch (only failing dispatches have any). */
export const afterDefects = <A, E>(
  defects: ReadonlyArray<HandlerFailed> | undefined,
  outcome: Effect.Effect<A, E>,
  probe: Probe | undefined
): Effect.Effect<A, E> =>
  defects === undefined
    ? outcome
    : Effect.andThen(inDispatchSpan(probe, Effect.forEach(defects, logDefect, { discard: true })), outcome)

/** `effect` under the dispatch span: a lazy span is not in the chain's context, so it is set here (rare paths). */
const inDispatchSpan = <A, E>(probe: Probe | undefined, effect: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  const span = probe?.unframedSpan
  return span === undefined ? effect : Effect.withParentSpan(effect, span)
}

/** A filter: threads the value, stops at a short-circuit or an aborting failure, skips failures under "skip". */
class FilterRun implements ChainRun {
  value: unknown
  ran: number
  skipped: Array<HandlerFailed> | undefined = undefined
  shortCircuitedBy: string | undefined = undefined
  failed: FilterFailed<unknown> | undefined = undefined
  readonly probe: Probe | undefined
  readonly detailed: boolean
  constructor(value: unknown, ran: number, probe: Probe | undefined, detailed: boolean) {
    this.value = value
    this.ran = ran
    this.probe = probe
    this.detailed = detailed
  }
  call(entry: Entry, args: ReadonlyArray<unknown>): unknown {
    return callFilterHandler(entry.fn, this.value, args)
  }
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
  finish(): Effect.Effect<unknown, FilterFailed<unknown>> {
    this.probe?.finish(
      this.failed !== undefined ? "failed" : this.shortCircuitedBy !== undefined ? "short_circuit" : "ok",
      this.ran,
      this.value,
      this.shortCircuitedBy
    )
    const outcome: Effect.Effect<unknown, FilterFailed<unknown>> = this.failed !== undefined
      ? Effect.fail(this.failed)
      : Effect.succeed(
        this.detailed
          ? {
            value: this.value,
            shortCircuitedBy: Option.fromUndefinedOr(this.shortCircuitedBy),
            ran: this.ran,
            skipped: this.skipped ?? []
          } satisfies FilterResult<unknown>
          : this.value
      )
    const failure = this.failed?.failure
    const defect = failure?.reason === "Defect" ? failure : undefined
    if (defect === undefined && this.skipped === undefined) return outcome
    const logDefects = defect === undefined ? Effect.void : logDefect(defect)
    const logs = this.skipped === undefined
      ? logDefects
      : Effect.andThen(Effect.forEach(this.skipped, logSkipped, { discard: true }), logDefects)
    return Effect.andThen(inDispatchSpan(this.probe, logs), outcome)
  }
}

/** An action: runs every handler, collects the failures. */
export class ActionRun implements ChainRun {
  ran: number
  failures: Array<HandlerFailed> | undefined = undefined
  defects: Array<HandlerFailed> | undefined = undefined
  readonly probe: Probe | undefined
  readonly name: string
  constructor(name: string, ran: number, probe: Probe | undefined) {
    this.name = name
    this.ran = ran
    this.probe = probe
  }
  call(entry: Entry, args: ReadonlyArray<unknown>): unknown {
    return callActionHandler(entry.fn, args)
  }
  settle(entry: Entry, exit: Exit.Exit<unknown, unknown>): boolean {
    this.ran++
    if (exit._tag === "Success") return true
    const failure = handlerFailed(entry, exit.cause)
    this.probe?.failed(failure)
    ;(this.failures ??= []).push(failure)
    if (failure.reason === "Defect") (this.defects ??= []).push(failure)
    return true
  }
  finish(): Effect.Effect<ReadonlyArray<string>, ActionFailed> {
    this.probe?.finish(this.failures === undefined ? "ok" : "failed", this.ran, undefined, undefined)
    return this.failures === undefined
      ? succeedNoJobs
      : afterDefects(
        this.defects,
        Effect.fail(new ActionFailed({ hook: this.name, failures: this.failures })),
        this.probe
      )
  }
}

/**
 * A dispatch of a hook with durable handlers, run under the `DurableDispatch` their enqueues add job ids to, and
 * returning those ids. The dispatch id is the one `Durable.doActionWithId` asked for when it is this hook's first
 * dispatch under it, a fresh UUID otherwise.
 */
export const collectingJobs = <E>(
  context: Context.Context<never>,
  hook: AnyHook,
  dispatch: Effect.Effect<unknown, E>
): Effect.Effect<ReadonlyArray<string>, E> => {
  const requested = Context.get(context, RequestedDurableDispatch)
  let id: string
  if (requested !== undefined && !requested.claimed && requested.hook === hook.name) {
    requested.claimed = true
    id = requested.id
  } else id = crypto.randomUUID()
  const collector: DurableDispatch = { id, hook: hook.name, jobs: [] }
  return Effect.as(Effect.provideService(dispatch, CurrentDurableDispatch, collector), collector.jobs)
}

/**
 * What a recorded lean dispatch hands its probe: the handlers it started, the first `count` of the chain when none
 * was passed over. `undefined` when it is not recorded.
 */
const handedOver = (
  recorded: boolean,
  names: Array<string> | undefined,
  chain: ReadonlyArray<Entry>,
  count: number
): Array<string> | undefined => recorded ? names ?? sourcesBefore(chain, count) : undefined

/** Marks a handler not yet called when the general loop starts. */
const NotInvoked: unique symbol = Symbol.for("hookbus/NotInvoked")

/** Runs `effect` with this dispatch on the hook stack and, when traced, as the parent span. */
export const inFrame = <A, E>(
  effect: Effect.Effect<A, E>,
  frame: HookStack.HookFrame,
  span: Tracer.Span | undefined
): Effect.Effect<A, E> =>
  Effect.updateContext(effect, (context: Context.Context<never>): Context.Context<never> => {
    const framed = Context.add(context, HookStack.CurrentHookFrame, frame)
    return span === undefined ? framed : Context.add(framed, Tracer.ParentSpan, span)
  })

// The start of a dispatch, shared by the sequential engine here and the parallel one (`Parallel.ts`).

/** The failure of a dispatch nested past the bound. */
export const tooDeep = (hook: AnyHook, parent: HookStack.HookFrame): Effect.Effect<never, RecursionLimit> =>
  Effect.fail(new RecursionLimit({ hook: hook.name, depth: parent.depth + 1 }))

/** The hook's slot, with this dispatch counted (`slotOf` has met the hook's declared error schema, if any). */
export const openSlot = (registry: Registry, hook: AnyHook): Slot => {
  const slot = registry.slotOf(hook)
  slot.dispatches++
  return slot
}

/** The dispatch's probe when anything observes it, else `undefined`. */
export const probeOf = (
  observer: Observer,
  context: Context.Context<never>,
  slot: Slot,
  hook: AnyHook,
  value: unknown,
  args: ReadonlyArray<unknown>,
  sink: RecordSink | undefined
): Probe | undefined =>
  observer.active
    ? new Probe(observer, context, hook.kind, hook.name, seriesOf(observer, slot), value, args, sink)
    : undefined

/**
 * The probe of a lean dispatch (`started` set) that leaves its hot loop, made with its start time and, when it is
 * recorded, the handlers it started.
 */
const leanProbe = (
  observer: Observer,
  started: bigint | undefined,
  context: Context.Context<never>,
  slot: Slot,
  hook: AnyHook,
  value: unknown,
  args: ReadonlyArray<unknown>,
  handed: Array<string> | undefined
): Probe | undefined =>
  started === undefined
    ? undefined
    : new Probe(
      observer,
      context,
      hook.kind,
      hook.name,
      seriesOf(observer, slot),
      value,
      args,
      undefined,
      started,
      handed
    )

/** What a dispatch needs from the bus. */
export interface DispatchDeps {
  readonly maxDepth: number
  readonly registry: Registry
  readonly observer: Observer
  readonly submitAsync: SubmitAsync
}

/**
 * The bus's dispatch: `(hook, value, args, detailed, sink)`; `value` and `detailed` matter to filters only, `sink`
 * (an intercepted dispatch's) receives the dispatch's record.
 */
export type Dispatch = (
  hook: AnyHook,
  value: unknown,
  args: ReadonlyArray<unknown>,
  detailed: boolean,
  sink?: RecordSink | undefined
) => Effect.Effect<unknown, DispatchError>

export const makeDispatch = ({ maxDepth, observer, registry, submitAsync }: DispatchDeps): Dispatch => {
  /** Runs the chain from `start` (whose handler may already have been called), entering the fiber where needed. */
  const runChain = (
    run: ChainRun,
    chain: ReadonlyArray<Entry>,
    start: number,
    pending: unknown,
    args: ReadonlyArray<unknown>,
    context: Context.Context<never>,
    parent: HookStack.HookFrame | undefined,
    hook: AnyHook,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<unknown, ChainError> => {
    const probe = run.probe
    const frame = HookStack.push(parent, hook)
    // A plain loop that returns an Effect only where a handler suspends: `Effect.gen` would cost a generator
    // and an iterator primitive per dispatch, more than the handlers themselves.
    const loop = (from: number, first: unknown): Effect.Effect<unknown, ChainError> => {
      for (let i = from; i < chain.length; i++) {
        const entry = chain[i]
        let returned = first
        let span: Tracer.Span | undefined
        first = NotInvoked
        if (returned === NotInvoked) {
          if (!registry.claim(entry)) continue
          if (entry.mode === "async") {
            probe?.handlerStarted(entry.source, false)
            run.ran++
            if (submitAsync.trySubmit(entry, args, context, frame, probe?.span, fiber.currentDispatcher)) continue
            const next = i + 1
            return Effect.flatMap(
              submitAsync.submit(entry, args, context, frame, probe?.span),
              () => loop(next, NotInvoked)
            )
          }
          span = probe?.handlerStarted(entry.source)
          returned = run.call(entry, args)
        }
        const exit = exitOnTheSpot(entry, returned)
        if (exit === undefined) {
          return Effect.flatMap(runSlow(entry, returned, context, frame, probe, span), (slow) => {
            probe?.handlerEnded(span, slow)
            return run.settle(entry, slow) ? loop(i + 1, NotInvoked) : run.finish()
          })
        }
        probe?.handlerEnded(span, exit)
        if (!run.settle(entry, exit)) break
      }
      return run.finish()
    }
    const framed = inFrame(Effect.suspend(() => loop(start, pending)), frame, probe?.frameSpan)
    return probe === undefined ? framed : Effect.onInterrupt(framed, () => Effect.sync(() => probe.interrupted()))
  }

  /**
   * A hot loop ran its chain to the end: its probe finishes, or a lean dispatch records its metrics and (when
   * recorded) its record, whose handler list is the chain's own unless one was passed over.
   */
  const hotDone = (
    probe: Probe | undefined,
    started: bigint | undefined,
    recorded: boolean,
    names: Array<string> | undefined,
    slot: Slot,
    chain: ReadonlyArray<Entry>,
    context: Context.Context<never>,
    hook: AnyHook,
    value: unknown,
    args: ReadonlyArray<unknown>,
    ran: number,
    result: unknown
  ): void => {
    if (probe !== undefined) probe.finish("ok", ran, result, undefined)
    else if (started !== undefined) {
      const handlers = recorded ? names ?? chainSources(slot, chain) : undefined
      observer.leanFinish(
        seriesOf(observer, slot),
        started,
        context,
        hook.kind,
        hook.name,
        value,
        args,
        handlers,
        result
      )
    }
  }

  // The hot loops, one per kind (a shared one measured slower): handlers that succeed on the spot cost a call and a
  // prototype check. Anything else (a failure, a short-circuit, an Effect that must run, an async handler) hands
  // over to the general loop.
  const filterHot = (
    chain: ReadonlyArray<Entry>,
    value: unknown,
    args: ReadonlyArray<unknown>,
    detailed: boolean,
    probe: Probe | undefined,
    context: Context.Context<never>,
    parent: HookStack.HookFrame | undefined,
    hook: AnyHook,
    fiber: Fiber.Fiber<unknown, unknown>,
    slot: Slot,
    started: bigint | undefined
  ): Effect.Effect<unknown, ChainError> => {
    let current = value
    let ran = 0
    // Recorded, untimed dispatches stay here. A probe's list of handlers grows as they start; a lean one's is made
    // only when a handler is passed over (or the dispatch hands over): else it is the chain's, shared.
    const recorded = started !== undefined && observer.recording
    let names = probe?.handlers
    for (let i = 0; i < chain.length; i++) {
      const entry = chain[i]
      if (!registry.claim(entry)) {
        if (recorded && names === undefined) names = sourcesBefore(chain, i)
        continue
      }
      names?.push(entry.source)
      const returned = callFilterHandler(entry.fn, current, args)
      if (EffectCompat.isSuccessExit(returned)) {
        current = returned.value
        ran++
        continue
      }
      // An `Effect.sync` is called in place too (a timeout wraps the handler, so that one runs in the fiber).
      let pending = returned
      const thunk = entry.timeout === undefined ? EffectCompat.syncThunk(returned) : undefined
      if (thunk !== undefined) {
        const computed = runThunk(thunk)
        if (!(computed instanceof Thrown)) {
          current = computed
          ran++
          continue
        }
        pending = computed.exit
      }
      return runChain(
        new FilterRun(
          current,
          ran,
          probe ??
            leanProbe(observer, started, context, slot, hook, value, args, handedOver(recorded, names, chain, i + 1)),
          detailed
        ),
        chain,
        i,
        pending,
        args,
        context,
        parent,
        hook,
        fiber
      )
    }
    hotDone(probe, started, recorded, names, slot, chain, context, hook, value, args, ran, current)
    return Effect.succeed(
      detailed
        ? { value: current, shortCircuitedBy: Option.none(), ran, skipped: [] } satisfies FilterResult<unknown>
        : current
    )
  }

  const actionHot = (
    chain: ReadonlyArray<Entry>,
    args: ReadonlyArray<unknown>,
    probe: Probe | undefined,
    context: Context.Context<never>,
    parent: HookStack.HookFrame | undefined,
    hook: AnyHook,
    fiber: Fiber.Fiber<unknown, unknown>,
    slot: Slot,
    started: bigint | undefined
  ): Effect.Effect<unknown, ChainError> => {
    let ran = 0
    let frame: HookStack.HookFrame | undefined
    const recorded = started !== undefined && observer.recording
    let names = probe?.handlers
    for (let i = 0; i < chain.length; i++) {
      const entry = chain[i]
      if (!registry.claim(entry)) {
        if (recorded && names === undefined) names = sourcesBefore(chain, i)
        continue
      }
      if (entry.mode === "async") {
        // An async handler's span is a child of the dispatch span: a lean dispatch makes its probe here.
        if (probe === undefined) {
          probe = leanProbe(
            observer,
            started,
            context,
            slot,
            hook,
            undefined,
            args,
            handedOver(recorded, names, chain, i)
          )
          names = probe?.handlers
        }
        probe?.handlerStarted(entry.source, false)
        ran++
        frame ??= HookStack.push(parent, hook)
        if (submitAsync.trySubmit(entry, args, context, frame, probe?.span, fiber.currentDispatcher)) continue
        // At the bound or closing: the general loop waits or drops, as the options say.
        const run = new ActionRun(hook.name, ran, probe)
        const next = i + 1
        return Effect.flatMap(
          submitAsync.submit(entry, args, context, frame, probe?.span),
          () => runChain(run, chain, next, NotInvoked, args, context, parent, hook, fiber)
        )
      }
      names?.push(entry.source)
      const returned = callActionHandler(entry.fn, args)
      if (EffectCompat.isSuccessExit(returned)) {
        ran++
        continue
      }
      let pending = returned
      const thunk = entry.timeout === undefined ? EffectCompat.syncThunk(returned) : undefined
      if (thunk !== undefined) {
        const computed = runThunk(thunk)
        if (!(computed instanceof Thrown)) {
          ran++
          continue
        }
        pending = computed.exit
      }
      const run = new ActionRun(
        hook.name,
        ran,
        probe ??
          leanProbe(observer, started, context, slot, hook, undefined, args, handedOver(recorded, names, chain, i + 1))
      )
      return runChain(run, chain, i, pending, args, context, parent, hook, fiber)
    }
    hotDone(probe, started, recorded, names, slot, chain, context, hook, undefined, args, ran, undefined)
    return succeedNoJobs
  }

  /** The dispatch once its slot is open: the hot loop of its kind, or the general loop when observed per handler. */
  const start = (
    fiber: Fiber.Fiber<unknown, unknown>,
    parent: HookStack.HookFrame | undefined,
    hook: AnyHook,
    slot: Slot,
    value: unknown,
    args: ReadonlyArray<unknown>,
    detailed: boolean,
    sink: RecordSink | undefined
  ): Effect.Effect<unknown, ChainError> => {
    const context = fiber.context
    const isFilter = hook.kind === "filter"
    const chain = chainOf(slot)
    let probe: Probe | undefined
    if (observer.active && observer.lean && sink === undefined) {
      const started = observer.leanStart(context)
      if (started !== undefined) {
        if (!observer.recording || !observer.timingDue(seriesOf(observer, slot), started, context)) {
          return isFilter
            ? filterHot(chain, value, args, detailed, undefined, context, parent, hook, fiber, slot, started)
            : actionHot(chain, args, undefined, context, parent, hook, fiber, slot, started)
        }
        // The one dispatch of its millisecond whose handlers are timed: its probe from the start, with that time.
        probe = leanProbe(observer, started, context, slot, hook, value, args, undefined)
      }
    }
    probe ??= probeOf(observer, context, slot, hook, value, args, sink)
    if (observer.perHandler || (probe !== undefined && probe.timed)) {
      const run = isFilter ? new FilterRun(value, 0, probe, detailed) : new ActionRun(hook.name, 0, probe)
      return runChain(run, chain, 0, NotInvoked, args, context, parent, hook, fiber)
    }
    return isFilter
      ? filterHot(chain, value, args, detailed, probe, context, parent, hook, fiber, slot, undefined)
      : actionHot(chain, args, probe, context, parent, hook, fiber, slot, undefined)
  }

  // Contexts are immutable, so the hook frame found in one stays valid; a fiber dispatching in a loop presents the
  // same context each time, and the lookup (a walk of the context) is then skipped.
  let lastContext: Context.Context<never> | undefined
  let lastParent: HookStack.HookFrame | undefined
  return (hook, value, args, detailed, sink) =>
    Effect.withFiber<unknown, DispatchError>((fiber) => {
      const context = fiber.context
      let parent: HookStack.HookFrame | undefined
      if (context === lastContext) parent = lastParent
      else {
        parent = Context.get(context, HookStack.CurrentHookFrame)
        lastContext = context
        lastParent = parent
      }
      if (parent !== undefined && parent.depth >= maxDepth) return tooDeep(hook, parent)
      const slot = openSlot(registry, hook)
      if (slot.durable) {
        return collectingJobs(
          context,
          hook,
          Effect.withFiber((inner) => start(inner, parent, hook, slot, value, args, detailed, sink))
        )
      }
      return start(fiber, parent, hook, slot, value, args, detailed, sink)
    })
}
