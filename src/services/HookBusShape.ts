/**
 * The operations of a hook bus, and the handler and result types they use.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { DispatchRecord } from "../domain/DispatchRecord.ts"
import type { BusDurableJobs } from "../domain/DurableJob.ts"
import type { ActionOptions, FilterOptions, HandlerInfo, HookInfo, Registration } from "../domain/Handler.ts"
import type { ActionHook, AnyHook, ArgsOf, ErrorOf, FilterHook, ValueOf } from "../domain/Hook.ts"
import type {
  ActionFailed,
  FilterFailed,
  HandlerFailed,
  RecursionLimit,
  RegistrationRejected,
  ShortCircuit
} from "../domain/HookErrors.ts"
import type { Interceptor } from "../domain/Interceptor.ts"

/**
 * What `applyFiltersResult` tells beyond the value.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect, Option } from "effect"
 * import { Hook, HookBus, type FilterResult } from "hookbus"
 *
 * const TheContent = Hook.filter<string>("the_content")
 * const report = (r: FilterResult<string>) => `${r.ran} ran, stopped by ${Option.getOrElse(r.shortCircuitedBy, () => "none")}`
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   return report(yield* bus.applyFiltersResult(TheContent, "hello"))
 * })
 */
export interface FilterResult<A> {
  readonly value: A
  /** The source of the handler that short-circuited the chain, if one did. */
  readonly shortCircuitedBy: Option.Option<string>
  /** How many handlers ran (including skipped failures). */
  readonly ran: number
  /** Handlers that failed under the "skip" policy and were passed over, in chain order. */
  readonly skipped: ReadonlyArray<HandlerFailed>
}

/**
 * An action handler: receives the hook's arguments.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import type { ActionHandler } from "hookbus"
 *
 * const logSaved: ActionHandler<[postId: string], never, never> = (postId) => Effect.log(`saved ${postId}`)
 */
export type ActionHandler<Args extends ReadonlyArray<unknown>, E, R> = (...args: Args) => Effect.Effect<unknown, E, R>

/**
 * A filter handler: receives the value and the hook's arguments, returns the next value or short-circuits.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import type { FilterHandler } from "hookbus"
 *
 * const trim: FilterHandler<string, [], never, never> = (text) => Effect.succeed(text.trim())
 */
export type FilterHandler<A, Args extends ReadonlyArray<unknown>, E, R> = (
  value: A,
  ...args: Args
) => Effect.Effect<A, E, R>

/** The values a handler's `ShortCircuit` failures carry. */
type ShortCircuitValues<E> = E extends ShortCircuit<infer X> ? X : never

/**
 * Rejects, at compile time, a filter handler that short-circuits with a value of another type.
 *
 * @since 0.1.0
 * @category type-level
 * @example
 * import type { CheckShortCircuit, ShortCircuit } from "hookbus"
 *
 * type Fine = CheckShortCircuit<ShortCircuit<string>, string> // unknown: accepted
 * type Refused = CheckShortCircuit<ShortCircuit<number>, string> // an object type naming the mistake
 */
export type CheckShortCircuit<E, A> = [ShortCircuitValues<E>] extends [A] ? unknown
  : { readonly "a filter handler must short-circuit with the filter's value type": ShortCircuitValues<E> }

/**
 * Rejects, at compile time, a handler that fails with an error the hook does not declare (`Hook.action(name, {
 * error })`); a hook that declares none (`unknown`) accepts any.
 *
 * @since 0.1.0
 * @category type-level
 * @example
 * import type { CheckDeclaredError } from "hookbus"
 *
 * type Fine = CheckDeclaredError<"denied", "denied" | "expired"> // unknown: accepted
 * type Refused = CheckDeclaredError<Error, "denied"> // an object type naming the mistake
 */
export type CheckDeclaredError<E, Declared> = [E] extends [Declared] ? unknown
  : { readonly "a handler must fail with the hook's declared error type": E }

/**
 * The operations of a hook bus.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Hook, HookBus, type HookBusShape } from "hookbus"
 *
 * const TheContent = Hook.filter<string>("the_content")
 * const render = (bus: HookBusShape, text: string) => bus.applyFilters(TheContent, text)
 * const program = HookBus.use((bus) => render(bus, "hello"))
 */
export interface HookBusShape {
  /**
   * Registers an action handler for the life of the current scope. Services the handler requires come from here,
   * where it is registered.
   */
  readonly addAction: <H extends ActionHook<any>, E = never, R = never>(
    hook: H,
    handler: ActionHandler<ArgsOf<H>, E, R> & CheckDeclaredError<NoInfer<E>, ErrorOf<H>>,
    options?: ActionOptions<ArgsOf<H>>
  ) => Effect.Effect<Registration, RegistrationRejected, R | Scope.Scope>
  /** Registers a filter handler for the life of the current scope. */
  readonly addFilter: <H extends FilterHook<any, any>, E = never, R = never>(
    hook: H,
    handler:
      & FilterHandler<ValueOf<H>, ArgsOf<H>, E, R>
      & CheckShortCircuit<E, ValueOf<H>>
      & CheckDeclaredError<NoInfer<Exclude<E, ShortCircuit<any>>>, ErrorOf<H>>,
    options?: FilterOptions
  ) => Effect.Effect<Registration, RegistrationRejected, R | Scope.Scope>
  /**
   * Runs every sync handler in order (async ones are started, not awaited); fails if any sync handler failed.
   * Returns the ids of the durable jobs it stored, once they are stored (`mode: "durable"` handlers, `hookbus/durable`):
   * none, one shared empty array, for a hook without durable handlers.
   */
  readonly doAction: <H extends ActionHook<any>>(
    hook: H,
    ...args: ArgsOf<H>
  ) => Effect.Effect<ReadonlyArray<string>, ActionFailed<ErrorOf<H>> | RecursionLimit>
  /**
   * Runs every sync handler at once (at most the bus's `parallel.concurrency` in flight) and waits for all; fails
   * like `doAction`, with every failure in chain order. Async handlers are started, not awaited, as by `doAction`
   * (hookable `callHookParallel`, tapable `AsyncParallelHook`, emittery `emit`). Returns the durable job ids, as
   * `doAction` does.
   */
  readonly doActionParallel: <H extends ActionHook<any>>(
    hook: H,
    ...args: ArgsOf<H>
  ) => Effect.Effect<ReadonlyArray<string>, ActionFailed<ErrorOf<H>> | RecursionLimit>
  /** Threads `value` through the filter chain. */
  readonly applyFilters: <H extends FilterHook<any, any>>(
    hook: H,
    value: ValueOf<H>,
    ...args: ArgsOf<H>
  ) => Effect.Effect<ValueOf<H>, FilterFailed<ValueOf<H>, ErrorOf<H>> | RecursionLimit>
  /** Like `applyFilters`, and tells whether the chain completed or was short-circuited, and what was skipped. */
  readonly applyFiltersResult: <H extends FilterHook<any, any>>(
    hook: H,
    value: ValueOf<H>,
    ...args: ArgsOf<H>
  ) => Effect.Effect<FilterResult<ValueOf<H>>, FilterFailed<ValueOf<H>, ErrorOf<H>> | RecursionLimit>
  /**
   * The stored durable jobs of the runner provided where the operation runs (`Durable.layerSqlite` or
   * `Durable.layerPostgres` from `hookbus/durable`): `list`, `get`, `counts`, `retry`, `cancel` (Action Scheduler's
   * list of pending, running, failed and complete actions). Without a runner each fails with `DurableUnavailable`.
   */
  readonly durable: BusDurableJobs
  /** Whether the hook has any handler. */
  readonly has: (hook: AnyHook) => Effect.Effect<boolean>
  /** The hook's handlers in resolved run order. */
  readonly handlers: (hook: AnyHook) => Effect.Effect<ReadonlyArray<HandlerInfo>>
  /**
   * Every hook the bus has handlers for or has dispatched, in the order it first saw them, each with its handlers
   * in resolved run order (what `handlers` shows) and its dispatch count: what an inspector lists.
   */
  readonly hooks: Effect.Effect<ReadonlyArray<HookInfo>>
  /** How many times the hook was dispatched (WordPress `did_action`). */
  readonly dispatchCount: (hook: AnyHook) => Effect.Effect<number>
  /** The hooks this fiber is dispatching, outermost first (WordPress `current_filter`, as a stack). */
  readonly current: Effect.Effect<ReadonlyArray<string>>
  /** Waits until no async handler run is in flight. */
  readonly awaitIdle: Effect.Effect<void>
  /** Removes every handler registered with `source`, on every hook; returns how many were removed. */
  readonly removeSource: (source: string) => Effect.Effect<number>
  /**
   * Removes every handler of `hook`, whatever its source; returns how many were removed (WordPress
   * `removeAllFilters`, hookable `removeAllHooks`, emittery `clearListeners`).
   */
  readonly removeAll: (hook: AnyHook) => Effect.Effect<number>
  /**
   * Installs an interceptor until the current scope closes: `beforeEach`/`afterEach` around every dispatch (with its
   * `DispatchRecord`), `register` after every registration (tapable's `intercept({ call, register })`, hookable's
   * `beforeEach`/`afterEach`). Services the interceptor requires come from here. While one with `afterEach` is
   * installed, every handler is observed, as for a subscriber to `dispatches`; with none, dispatch pays nothing.
   */
  readonly intercept: <R = never>(interceptor: Interceptor<R>) => Effect.Effect<void, never, R | Scope.Scope>
  /**
   * Every dispatch as it ends, for as long as the stream is consumed (emittery `events()`). Records are made only
   * while someone subscribes: a subscribed bus lists each dispatch's handlers, and times them on one dispatch per
   * hook per millisecond (`DispatchRecord.timings`). Each subscriber keeps up to 1,024 unread records: one that
   * falls behind loses the oldest, never holds up a dispatch.
   */
  readonly dispatches: Stream.Stream<DispatchRecord>
  /** The arguments of each dispatch of an action hook, as it ends (emittery `events(name)`); see `dispatches`. */
  readonly stream: <H extends ActionHook<any>>(hook: H) => Stream.Stream<ArgsOf<H>>
}
