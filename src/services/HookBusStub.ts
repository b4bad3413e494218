/**
 * The stub bus behind `HookBus.layerStub`: answers dispatches from a table of functions by hook name, without
 * handlers, chains or fibers, for users' unit tests.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { AnyHook } from "../domain/Hook.ts"
import { ActionFailed, FilterFailed, HandlerFailed } from "../domain/HookErrors.ts"
import { Interceptors, recordOf } from "../layers/internal/Intercept.ts"
import { declaredGuard, undeclaredAsDefects } from "../layers/internal/Invoke.ts"
import type { HookBusShape } from "./HookBusShape.ts"
import { busDurable } from "./internal/BusDurable.ts"
import { succeedNoJobs as noJobs } from "./internal/DurableRegistrar.ts"

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

/** A stub's failure; one the hook does not declare (`Hook.action(name, { error })`) is a defect, as on the bus. */
const failureOf = (hook: AnyHook, ended: Cause.Cause<unknown>): HandlerFailed => {
  const cause = undeclaredAsDefects(ended, declaredGuard(hook.schemas?.error))
  return new HandlerFailed({
    hook: hook.name,
    kind: hook.kind,
    source: "stub",
    reason: Cause.hasDies(cause) ? "Defect" : Cause.hasFails(cause) ? "Failure" : "Interrupt",
    cause
  })
}

/** The failures a stub dispatch's `FilterFailed` or `ActionFailed` carries. */
const failuresOf = (cause: Cause.Cause<unknown>): ReadonlyArray<HandlerFailed> => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "None") return []
  const e = error.value
  return e instanceof FilterFailed ? [e.failure] : e instanceof ActionFailed ? e.failures : []
}

/**
 * A bus that answers from `stubs`: `applyFilters` calls the hook's filter stub (its failure is a `FilterFailed` from
 * source `"stub"`), `doAction`/`doActionParallel` its action stub (`ActionFailed`). Registrations succeed and never
 * run (nor reach `register` interceptors); `beforeEach`/`afterEach` interceptors see every stub dispatch, whose record
 * names the handler `"stub"` when the table has one; `dispatchCount` counts; everything else reports an empty bus.
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
  const interceptors = new Interceptors(() => {})
  /** Runs a stub dispatch inside the interceptors, when any is installed, with the record a stub dispatch has. */
  const intercepted = <A, E>(
    hook: AnyHook,
    value: unknown,
    args: ReadonlyArray<unknown>,
    stubbed: boolean,
    dispatch: Effect.Effect<A, E>,
    resultOf: (a: A) => unknown
  ): Effect.Effect<A, E> =>
    interceptors.dispatching
      ? interceptors.around(hook, value, args, (sink) =>
        Effect.flatMap(Effect.clockWith(Effect.succeed), (clock) => {
          const startedAt = clock.currentTimeMillisUnsafe()
          const start = { hook: hook.name, kind: hook.kind, value: hook.kind === "filter" ? value : undefined, args }
          return Effect.onExit(dispatch, (exit) =>
            Effect.sync(() =>
              sink?.(recordOf(start, exit, clock, startedAt, {
                handlers: stubbed ? ["stub"] : [],
                result: hook.kind === "filter" && Exit.isSuccess(exit) ? resultOf(exit.value) : undefined,
                failures: Exit.isFailure(exit) ? failuresOf(exit.cause) : []
              }))
            ))
        }))
      : dispatch
  const filter = (hook: AnyHook, value: unknown, args: ReadonlyArray<unknown>) => {
    const fn = stubs.filters?.[hook.name]
    const run = Effect.suspend(() => {
      count(hook)
      if (fn === undefined) return Effect.succeed({ value, ran: 0 })
      return Effect.map(fn(value, ...args), (next) => ({ value: next, ran: 1 })).pipe(
        Effect.catchCause((cause) =>
          Effect.fail(new FilterFailed({ hook: hook.name, value, failure: failureOf(hook, cause) }))
        )
      )
    })
    return intercepted(hook, value, args, fn !== undefined, run, (r) => r.value)
  }
  const action = (hook: AnyHook, args: ReadonlyArray<unknown>) => {
    const fn = stubs.actions?.[hook.name]
    const run = Effect.suspend(() => {
      count(hook)
      if (fn === undefined) return noJobs
      return fn(...args).pipe(
        Effect.andThen(noJobs),
        Effect.catchCause((cause) =>
          Effect.fail(new ActionFailed({ hook: hook.name, failures: [failureOf(hook, cause)] }))
        )
      )
    })
    return intercepted(hook, undefined, args, fn !== undefined, run, () => undefined)
  }
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
    doAction: (hook, ...args) => action(hook, args) as any,
    doActionParallel: (hook, ...args) => action(hook, args) as any,
    durable: busDurable,
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
    intercept: (interceptor) => interceptors.install(interceptor),
    dispatches: Stream.empty,
    stream: () => Stream.empty
  }
}
