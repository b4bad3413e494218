/**
 * `doActionParallel`: every handler of an action at once, at most `concurrency` in flight, awaited. Its own engine
 * beside `Dispatch.ts`, so the sequential dispatch's hot loops are untouched; what a handler's outcome becomes (the
 * failures in chain order, the defects logged, the probe) is the sequential `ActionRun`'s.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { AnyHook } from "../../domain/Hook.ts"
import type { ActionFailed, RecursionLimit } from "../../domain/HookErrors.ts"
import * as HookStack from "../../services/internal/HookStack.ts"
import { ActionRun, collectingJobs, type DispatchDeps, inFrame, openSlot, probeOf, tooDeep } from "./Dispatch.ts"
import type { RecordSink } from "./Intercept.ts"
import { callActionHandler, exitOnTheSpot, runSlow } from "./Invoke.ts"
import { chainOf, type Entry, type Slot } from "./Registry.ts"

/** The bus's parallel action dispatch. */
export type ParallelDispatch = (
  hook: AnyHook,
  args: ReadonlyArray<unknown>,
  sink?: RecordSink | undefined
) => Effect.Effect<ReadonlyArray<string>, ActionFailed | RecursionLimit>

export const makeParallel = (
  { maxDepth, observer, registry, submitAsync }: DispatchDeps,
  concurrency: number
): ParallelDispatch => {
  /** The dispatch once its slot is open. */
  const start = (
    context: Context.Context<never>,
    parent: HookStack.HookFrame | undefined,
    hook: AnyHook,
    slot: Slot,
    args: ReadonlyArray<unknown>,
    sink: RecordSink | undefined
  ): Effect.Effect<ReadonlyArray<string>, ActionFailed> => {
    const chain = chainOf(slot)
    const probe = probeOf(observer, context, slot, hook, undefined, args, sink)
    const frame = HookStack.push(parent, hook)
    // Outcomes by chain position, so failures are reported in chain order whatever order handlers end in.
    const exits: Array<Exit.Exit<unknown, unknown> | undefined> = new Array(chain.length)
    let started = 0
    const runOne = (entry: Entry, i: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (!registry.claim(entry)) return Effect.void
        if (entry.mode === "async") {
          probe?.handlerStarted(entry.source, false)
          started++
          return submitAsync.submit(entry, args, context, frame, probe?.span)
        }
        const at = probe?.handlerCount()
        const span = probe?.handlerStarted(entry.source)
        const returned = callActionHandler(entry.fn, args)
        const done = (exit: Exit.Exit<unknown, unknown>) => {
          probe?.handlerEnded(span, exit, at)
          exits[i] = exit
        }
        // Completed on the spot, or an `Effect.sync` run in place (as the sequential loops do): no fiber step.
        const exit = exitOnTheSpot(entry, returned)
        if (exit !== undefined) {
          done(exit)
          return Effect.void
        }
        return Effect.map(runSlow(entry, returned, context, frame, probe, span), done)
      })
    const all = Effect.forEach(chain, runOne, { concurrency, discard: true })
    const finish = Effect.suspend(() => {
      const run = new ActionRun(hook.name, started, probe)
      for (let i = 0; i < chain.length; i++) {
        const exit = exits[i]
        if (exit !== undefined) run.settle(chain[i], exit)
      }
      return run.finish()
    })
    const framed = inFrame(Effect.andThen(all, finish), frame, probe?.frameSpan)
    return probe === undefined ? framed : Effect.onInterrupt(framed, () => Effect.sync(() => probe.interrupted()))
  }
  return (hook, args, sink) =>
    Effect.withFiber<ReadonlyArray<string>, ActionFailed | RecursionLimit>((fiber) => {
      const parent = Context.get(fiber.context, HookStack.CurrentHookFrame)
      if (parent !== undefined && parent.depth >= maxDepth) return tooDeep(hook, parent)
      const slot = openSlot(registry, hook)
      return slot.durable
        ? collectingJobs(
          fiber.context,
          hook,
          Effect.withFiber((inner) => start(inner.context, parent, hook, slot, args, sink))
        )
        : start(fiber.context, parent, hook, slot, args, sink)
    })
}
