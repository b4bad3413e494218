/**
 * Starting an async action handler: its job (own span linked to the dispatch, failures logged and counted, never
 * returned to the dispatcher) handed to the `AsyncRunner`, serialised per `orderBy` key.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import type * as HookStack from "../../services/internal/HookStack.ts"
import type { AsyncRunner } from "./AsyncRunner.ts"
import { type Observer, spanEnv, spanTime, startSpan } from "./DispatchProbe.ts"
import { callActionHandler, handlerFailed, runSlow } from "./Invoke.ts"
import { type Entry, logAnnotations, seriesOf } from "./Registry.ts"

/** Starts an async handler run in a bus-owned fiber; the dispatching fiber does not wait for it. */
export type SubmitAsync = (
  entry: Entry,
  args: ReadonlyArray<unknown>,
  caller: Context.Context<never>,
  frame: HookStack.HookFrame,
  dispatchSpan: Tracer.Span | undefined
) => Effect.Effect<void>

/** The `SubmitAsync` of a bus. */
export const makeSubmitAsync = (runner: AsyncRunner, observer: Observer): SubmitAsync =>
(
  entry,
  args,
  caller,
  frame,
  dispatchSpan
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
    return Effect.map(runSlow(entry, callActionHandler(entry.fn, args), caller, frame, undefined, span), (exit) => {
      if (span !== undefined) span.end(spanTime(env!), exit)
      return exit
    })
  }).pipe(
    Effect.flatMap((exit) => {
      if (exit._tag === "Success") return Effect.void
      const failure = handlerFailed(entry, exit.cause)
      observer.failure(failure, seriesOf(observer, entry.slot).label)
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
