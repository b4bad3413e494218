/**
 * The hook bus service: register handlers on hooks, fire actions, thread values through filters.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { ActionOptions, FilterErrorPolicy, FilterOptions, HandlerInfo, Registration } from "../domain/Handler.ts"
import type { ActionHook, AnyHook, ArgsOf, FilterHook, ValueOf } from "../domain/Hook.ts"
import type {
  ActionFailed,
  FilterFailed,
  HandlerFailed,
  RecursionLimit,
  RegistrationRejected,
  ShortCircuit
} from "../domain/HookErrors.ts"
import { makeHookBus } from "../layers/HookBusLive.ts"
import { type DispatchRecord, HookRecorder } from "./HookRecorder.ts"

/** How much of a dispatch is traced. */
export type TracingMode = "off" | "dispatch" | "handlers"

/** Settings of a bus; every field has a default. */
export interface HookBusOptions {
  /** Deepest nesting of dispatches (a handler dispatching a hook, and so on). Default 64. */
  readonly maxDepth?: number | undefined
  /** How long in-flight async handlers may run on when the bus closes before they are interrupted. Default 5 s. */
  readonly asyncShutdownGrace?: Duration.Input | undefined
  /** Filter error policy per hook name. Default "abort" for every hook. */
  readonly filterErrors?: Readonly<Record<string, FilterErrorPolicy>> | undefined
  /** Bound on async handler runs in flight, and what a dispatch does when it is reached. */
  readonly async?: {
    /** Default 1024. */
    readonly concurrency?: number | undefined
    /** "wait" (default) suspends the dispatching fiber while the bound is reached; "drop" drops the run and logs it. */
    readonly overflow?: "wait" | "drop" | undefined
  } | undefined
  /** "dispatch" (default): a span per dispatch; "handlers": also a span per handler; "off": no tracing cost. */
  readonly tracing?: TracingMode | undefined
  /**
   * Record the `hookbus_*` metrics (default true). `maxHookLabels` bounds the distinct hook names used as labels
   * (default 1000); further names count under `other`.
   */
  readonly metrics?: boolean | { readonly maxHookLabels?: number | undefined } | undefined
}

/** What `applyFiltersResult` tells beyond the value. */
export interface FilterResult<A> {
  readonly value: A
  /** The source of the handler that short-circuited the chain, if one did. */
  readonly shortCircuitedBy: Option.Option<string>
  /** How many handlers ran (including skipped failures). */
  readonly ran: number
  /** Handlers that failed under the "skip" policy and were passed over, in chain order. */
  readonly skipped: ReadonlyArray<HandlerFailed>
}

/** An action handler: receives the hook's arguments. */
export type ActionHandler<Args extends ReadonlyArray<unknown>, E, R> = (...args: Args) => Effect.Effect<unknown, E, R>

/** A filter handler: receives the value and the hook's arguments, returns the next value or short-circuits. */
export type FilterHandler<A, Args extends ReadonlyArray<unknown>, E, R> = (
  value: A,
  ...args: Args
) => Effect.Effect<A, E, R>

/** The values a handler's `ShortCircuit` failures carry. */
type ShortCircuitValues<E> = E extends ShortCircuit<infer X> ? X : never

/** Rejects, at compile time, a filter handler that short-circuits with a value of another type. */
export type CheckShortCircuit<E, A> = [ShortCircuitValues<E>] extends [A] ? unknown
  : { readonly "a filter handler must short-circuit with the filter's value type": ShortCircuitValues<E> }

/** The operations of a hook bus. */
export interface HookBusShape {
  /**
   * Registers an action handler for the life of the current scope. Services the handler requires come from here,
   * where it is registered.
   */
  readonly addAction: <H extends ActionHook<any>, E = never, R = never>(
    hook: H,
    handler: ActionHandler<ArgsOf<H>, E, R>,
    options?: ActionOptions<ArgsOf<H>>
  ) => Effect.Effect<Registration, RegistrationRejected, R | Scope.Scope>
  /** Registers a filter handler for the life of the current scope. */
  readonly addFilter: <H extends FilterHook<any, any>, E = never, R = never>(
    hook: H,
    handler: FilterHandler<ValueOf<H>, ArgsOf<H>, E, R> & CheckShortCircuit<E, ValueOf<H>>,
    options?: FilterOptions
  ) => Effect.Effect<Registration, RegistrationRejected, R | Scope.Scope>
  /** Runs every sync handler in order (async ones are started, not awaited); fails if any sync handler failed. */
  readonly doAction: <H extends ActionHook<any>>(
    hook: H,
    ...args: ArgsOf<H>
  ) => Effect.Effect<void, ActionFailed | RecursionLimit>
  /** Threads `value` through the filter chain. */
  readonly applyFilters: <H extends FilterHook<any, any>>(
    hook: H,
    value: ValueOf<H>,
    ...args: ArgsOf<H>
  ) => Effect.Effect<ValueOf<H>, FilterFailed<ValueOf<H>> | RecursionLimit>
  /** Like `applyFilters`, and tells whether the chain completed or was short-circuited, and what was skipped. */
  readonly applyFiltersResult: <H extends FilterHook<any, any>>(
    hook: H,
    value: ValueOf<H>,
    ...args: ArgsOf<H>
  ) => Effect.Effect<FilterResult<ValueOf<H>>, FilterFailed<ValueOf<H>> | RecursionLimit>
  /** Whether the hook has any handler. */
  readonly has: (hook: AnyHook) => Effect.Effect<boolean>
  /** The hook's handlers in resolved run order. */
  readonly handlers: (hook: AnyHook) => Effect.Effect<ReadonlyArray<HandlerInfo>>
  /** How many times the hook was dispatched (WordPress `did_action`). */
  readonly dispatchCount: (hook: AnyHook) => Effect.Effect<number>
  /** The hooks this fiber is dispatching, outermost first (WordPress `current_filter`, as a stack). */
  readonly current: Effect.Effect<ReadonlyArray<string>>
  /** Waits until no async handler run is in flight. */
  readonly awaitIdle: Effect.Effect<void>
  /** Removes every handler registered with `source`, on every hook; returns how many were removed. */
  readonly removeSource: (source: string) => Effect.Effect<number>
}

/**
 * The hook bus, as an Effect service.
 *
 * @example
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.addFilter(TheContent, (text) => Effect.succeed(text.toUpperCase()))
 *   return yield* bus.applyFilters(TheContent, "hello")
 * }).pipe(Effect.scoped, Effect.provide(HookBus.layer))
 */
export class HookBus extends Context.Service<HookBus, HookBusShape>()("hookbus/HookBus") {
  /** A bus with default options. */
  static readonly layer: Layer.Layer<HookBus> = Layer.effect(HookBus, makeHookBus({}))
  /** A bus with the given options. */
  static readonly layerWith = (options: HookBusOptions): Layer.Layer<HookBus> =>
    Layer.effect(HookBus, makeHookBus(options))

  /**
   * For tests: the real bus (tracing and metrics off unless set) plus a `HookRecorder` of every dispatch.
   *
   * @example
   * it.effect("saves", () =>
   *   Effect.gen(function*() {
   *     yield* PostService.use((posts) => posts.save("42"))
   *     const saved = yield* HookRecorder.use((r) => r.recordsOf("post.saved"))
   *     assert.deepStrictEqual(saved.map((r) => r.args), [["42"]])
   *   }).pipe(Effect.provide(PostService.layer.pipe(Layer.provideMerge(HookBus.layerTest)))))
   */
  static readonly layerTest: Layer.Layer<HookBus | HookRecorder> = Layer.effectContext(
    Effect.suspend(() => makeTestBus({}))
  )

  /** `layerTest` with bus options. */
  static readonly layerTestWith = (options: HookBusOptions): Layer.Layer<HookBus | HookRecorder> =>
    Layer.effectContext(Effect.suspend(() => makeTestBus(options)))
}

const makeTestBus = (options: HookBusOptions) => {
  const records: Array<DispatchRecord> = []
  return Effect.map(
    makeHookBus({ tracing: "off", metrics: false, ...options }, { record: (record) => records.push(record) }),
    (bus) =>
      Context.make(HookBus, bus).pipe(
        Context.add(
          HookRecorder,
          HookRecorder.of({
            records: Effect.sync(() => records.slice()),
            recordsOf: (name, kind) =>
              Effect.sync(() => records.filter((r) => r.hook === name && (kind === undefined || r.kind === kind))),
            clear: Effect.sync(() => {
              records.length = 0
            })
          })
        )
      )
  )
}
