/**
 * The stub bus behind `HookBus.layerStub`: answers dispatches from a table of functions by hook name, without
 * handlers, chains or fibers, for users' unit tests.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { AnyHook } from "../domain/Hook.ts"
import { ActionFailed, FilterFailed, HandlerFailed } from "../domain/HookErrors.ts"
import type { HookBusShape } from "./HookBusShape.ts"

/**
 * What a stub bus answers, by hook name: a filter's next value, or an action's effect. A hook not named passes the
 * value through (filters) or does nothing (actions).
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import type { HookBusStubs } from "hookbus"
 *
 * const stubs: HookBusStubs = {
 *   filters: { the_content: (text) => Effect.succeed(String(text).toUpperCase()) },
 *   actions: { "post.saved": () => Effect.void }
 * }
 */
export interface HookBusStubs {
  readonly filters?: Readonly<Record<string, (value: any, ...args: Array<any>) => Effect.Effect<unknown, unknown>>>
  readonly actions?: Readonly<Record<string, (...args: Array<any>) => Effect.Effect<unknown, unknown>>>
}

const failureOf = (hook: AnyHook, cause: Cause.Cause<unknown>): HandlerFailed =>
  new HandlerFailed({
    hook: hook.name,
    kind: hook.kind,
    source: "stub",
    reason: Cause.hasDies(cause) ? "Defect" : Cause.hasFails(cause) ? "Failure" : "Interrupt",
    cause
  })

/**
 * A bus that answers from `stubs`: `applyFilters` calls the hook's filter stub (its failure is a `FilterFailed` from
 * source `"stub"`), `doAction`/`doActionParallel` its action stub (`ActionFailed`). Registrations succeed and never
 * run; `dispatchCount` counts; everything else reports an empty bus.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Effect } from "effect"
 * import { Hook, makeStubBus } from "hookbus"
 *
 * const bus = makeStubBus({ filters: { the_content: (text) => Effect.succeed(`<p>${text}</p>`) } })
 * const html = bus.applyFilters(Hook.filter<string>("the_content"), "hi") // Effect of "<p>hi</p>"
 */
export const makeStubBus = (stubs: HookBusStubs): HookBusShape => {
  const counts = new Map<string, number>()
  let nextId = 0
  const count = (hook: AnyHook) => counts.set(hook.key, (counts.get(hook.key) ?? 0) + 1)
  const filter = (hook: AnyHook, value: unknown, args: ReadonlyArray<unknown>) =>
    Effect.suspend(() => {
      count(hook)
      const fn = stubs.filters?.[hook.name]
      if (fn === undefined) return Effect.succeed({ value, ran: 0 })
      return Effect.map(fn(value, ...args), (next) => ({ value: next, ran: 1 })).pipe(
        Effect.catchCause((cause) =>
          Effect.fail(new FilterFailed({ hook: hook.name, value, failure: failureOf(hook, cause) }))
        )
      )
    })
  const action = (hook: AnyHook, args: ReadonlyArray<unknown>) =>
    Effect.suspend(() => {
      count(hook)
      const fn = stubs.actions?.[hook.name]
      if (fn === undefined) return Effect.void
      return fn(...args).pipe(
        Effect.asVoid,
        Effect.catchCause((cause) =>
          Effect.fail(new ActionFailed({ hook: hook.name, failures: [failureOf(hook, cause)] }))
        )
      )
    })
  const register = (hook: AnyHook, options: { readonly source?: string | undefined } | undefined) =>
    Effect.sync(() => {
      const id = ++nextId
      return { id, hook: hook.name, source: options?.source ?? `handler-${id}`, remove: Effect.void }
    })
  const has = (hook: AnyHook) =>
    hook.kind === "filter" ? stubs.filters?.[hook.name] !== undefined : stubs.actions?.[hook.name] !== undefined
  return {
    addAction: (hook, _handler, options) => register(hook, options),
    addFilter: (hook, _handler, options) => register(hook, options),
    doAction: (hook, ...args) => action(hook, args),
    doActionParallel: (hook, ...args) => action(hook, args),
    applyFilters: (hook, value, ...args) => Effect.map(filter(hook, value, args), (r) => r.value) as any,
    applyFiltersResult: (hook, value, ...args) =>
      Effect.map(filter(hook, value, args), (r) => ({
        value: r.value,
        shortCircuitedBy: Option.none(),
        ran: r.ran,
        skipped: []
      })) as any,
    has: (hook) => Effect.sync(() => has(hook)),
    handlers: () => Effect.succeed([]),
    hooks: Effect.succeed([]),
    dispatchCount: (hook) => Effect.sync(() => counts.get(hook.key) ?? 0),
    current: Effect.succeed([]),
    awaitIdle: Effect.void,
    removeSource: () => Effect.succeed(0),
    removeAll: () => Effect.succeed(0),
    dispatches: Stream.empty,
    stream: () => Stream.empty
  }
}
