/**
 * Starting an async action handler: its job (own span linked to the dispatch, failures logged and counted, never
 * returned to the dispatcher) handed to the `AsyncRunner`, serialised per `orderBy` key. A handler that returns a
 * completed Effect or an `Effect.sync` finishes inside the runner's batch; only one that must run gets a fiber, in
 * the context of the fiber that dispatched it.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scheduler from "effect/Scheduler"
import * as Tracer from "effect/Tracer"
import * as HookStack from "../../services/internal/HookStack.ts"
import type { AsyncRunner, Job } from "./AsyncRunner.ts"
import { type Observer, spanEnv, spanTime, startSpan } from "./DispatchProbe.ts"
import * as EffectCompat from "./EffectCompat.ts"
import { callActionHandler, handlerFailed, runSlow, runThunk, Thrown } from "./Invoke.ts"
import { type Entry, logAnnotations, seriesOf } from "./Registry.ts"

/** Hands an async handler run to the runner; the dispatching fiber does not wait for it. */
export interface SubmitAsync {
  /** Accepts the run if the runner has a free slot (true); false: the caller goes through `submit`. */
  readonly trySubmit: (
    entry: Entry,
    args: ReadonlyArray<unknown>,
    caller: Context.Context<never>,
    frame: HookStack.HookFrame,
    dispatchSpan: Tracer.Span | undefined,
    dispatcher: Scheduler.SchedulerDispatcher
  ) => boolean
  /** Accepts the run, waiting for a slot or dropping it at the bound, as the bus's overflow option says. */
  readonly submit: (
    entry: Entry,
    args: ReadonlyArray<unknown>,
    caller: Context.Context<never>,
    frame: HookStack.HookFrame,
    dispatchSpan: Tracer.Span | undefined
  ) => Effect.Effect<void>
}

/** The `SubmitAsync` of a bus. */
export const makeSubmitAsync = (runner: AsyncRunner, observer: Observer): SubmitAsync => {
  const makeJob = (
    entry: Entry,
    args: ReadonlyArray<unknown>,
    caller: Context.Context<never>,
    frame: HookStack.HookFrame,
    dispatchSpan: Tracer.Span | undefined
  ): Job =>
  () => {
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
    const returned = callActionHandler(entry.fn, args)
    let exit = EffectCompat.completedExit(returned)
    if (exit === undefined && entry.timeout === undefined) {
      const thunk = EffectCompat.syncThunk(returned)
      if (thunk !== undefined) {
        const computed = runThunk(thunk)
        exit = computed instanceof Thrown ? computed.exit : Exit.void
      }
    }
    if (exit !== undefined) {
      if (span !== undefined) span.end(spanTime(env!), exit)
      return exit._tag === "Success" ? undefined : inCaller(report(entry, exit), caller, frame, dispatchSpan)
    }
    const run = Effect.flatMap(runSlow(entry, returned, caller, frame, undefined, span), (slow) => {
      if (span !== undefined) span.end(spanTime(env!), slow)
      return slow._tag === "Success" ? Effect.void : report(entry, slow)
    })
    return inCaller(run, caller, frame, dispatchSpan)
  }

  /** A failed run: counted, and logged with the hook and source. */
  const report = (entry: Entry, exit: Exit.Failure<unknown, unknown>): Effect.Effect<void> => {
    const failure = handlerFailed(entry, exit.cause)
    observer.failure(failure, seriesOf(observer, entry.slot).label)
    return Effect.logError("async handler failed", failure.message, exit.cause).pipe(
      Effect.annotateLogs(logAnnotations(entry))
    )
  }

  /** The key that serialises a run, or `undefined`; a throwing `orderBy` is logged and the run not made. */
  const keyOf = (entry: Entry, args: ReadonlyArray<unknown>): string | undefined | Effect.Effect<void> => {
    if (entry.orderBy === undefined) return undefined
    let key: string
    try {
      key = String(entry.orderBy(...args))
    } catch (error) {
      return Effect.logError("async handler not run: its orderBy threw", Cause.die(error)).pipe(
        Effect.annotateLogs(logAnnotations(entry))
      )
    }
    // One queue per hook and key: all handlers of event N run before event N+1.
    return `${entry.slot.kind}:${entry.slot.name}\u0000${key}`
  }

  return {
    // An ordered run goes through `submit`, which calls its `orderBy` once and logs a throw.
    trySubmit: (entry, args, caller, frame, dispatchSpan, dispatcher) =>
      entry.orderBy === undefined &&
      runner.trySubmit(makeJob(entry, args, caller, frame, dispatchSpan), undefined, dispatcher),
    submit: (entry, args, caller, frame, dispatchSpan) => {
      const key = keyOf(entry, args)
      if (typeof key === "object") return key
      return runner.submit(makeJob(entry, args, caller, frame, dispatchSpan), entry.slot.name, entry.source, key)
    }
  }
}

/** Runs a job's rest in the context it would have had in a fiber forked by the dispatch. */
const inCaller = (
  effect: Effect.Effect<void>,
  caller: Context.Context<never>,
  frame: HookStack.HookFrame,
  dispatchSpan: Tracer.Span | undefined
): Effect.Effect<void> => {
  const framed = Context.add(caller, HookStack.CurrentHookFrame, frame)
  const context = dispatchSpan === undefined ? framed : Context.add(framed, Tracer.ParentSpan, dispatchSpan)
  return Effect.updateContext(effect, (): Context.Context<never> => context)
}
