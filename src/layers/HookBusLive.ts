/**
 * The live hook bus, wired from its parts: the `Registry` of handler chains, the one dispatch engine (`Dispatch`),
 * async handlers run by the `AsyncRunner` (`Async`), and the `Observer` of spans, metrics and the test recorder
 * (`DispatchProbe`). docs/architecture.md traces a dispatch through them.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { DispatchRecord } from "../domain/DispatchRecord.ts"
import type { HookInfo } from "../domain/Handler.ts"
import { type ActionHook, type AnyHook, type ArgsOf, type FilterHook, keyOf } from "../domain/Hook.ts"
import type { InvalidOptions } from "../domain/InvalidOptions.ts"
import type { HookBusOptions } from "../services/HookBusOptions.ts"
import type { HookBusShape } from "../services/HookBusShape.ts"
import { busDurable } from "../services/internal/BusDurable.ts"
import * as HookStack from "../services/internal/HookStack.ts"
import { makeSubmitAsync } from "./internal/Async.ts"
import { AsyncRunner } from "./internal/AsyncRunner.ts"
import { Deprecations } from "./internal/Deprecations.ts"
import { type DispatchDeps, makeDispatch } from "./internal/Dispatch.ts"
import { Observer } from "./internal/DispatchProbe.ts"
import { Interceptors } from "./internal/Intercept.ts"
import { type RawOptions, resolveOptions } from "./internal/Options.ts"
import { makeParallel } from "./internal/Parallel.ts"
import { type AnyFn, chainOf, type Entry, infoOf, Registry, seriesOf } from "./internal/Registry.ts"
import { makeRegistryEvents } from "./internal/RegistryEvents.ts"

/** Internal settings the public options do not expose (the test layer's recorder). */
export interface HookBusInternals {
  readonly record?: ((record: DispatchRecord) => void) | undefined
}

const noArgs: ReadonlyArray<unknown> = []

/** How many unread records each subscriber to `bus.dispatches` keeps (the oldest go first). */
export const dispatchBuffer = 1024

const sliceArgs = (args: IArguments, from: number): ReadonlyArray<unknown> => Array.prototype.slice.call(args, from)

/** Builds a hook bus whose async fibers live in the current scope. */
export const makeHookBus = (
  options: HookBusOptions,
  internals: HookBusInternals = {}
): Effect.Effect<HookBusShape, InvalidOptions, Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* resolveOptions(options)
    const registry = new Registry(config.filterErrors, { concurrency: config.concurrency, overflow: config.overflow })
    const info = (entry: Entry) => infoOf(entry, registry.asyncBound)
    yield* Effect.addFinalizer(() => Effect.sync(() => registry.close()))
    // Each subscriber has its own sliding queue of the newest `dispatchBuffer` records it has not read: a slow one
    // never holds up a dispatch. (A sliding PubSub slides only on its effectful publish.)
    // An array replaced on (un)subscribing, not a Set: every recorded dispatch walks it, and that walk is a plain loop.
    let subscribers: ReadonlyArray<Queue.Queue<DispatchRecord>> = []
    const observer = new Observer({
      tracing: config.tracing,
      metrics: config.metrics,
      maxHookLabels: config.maxHookLabels,
      record: internals.record,
      metricContext: yield* Effect.context<never>()
    }, (record) => {
      for (let i = 0; i < subscribers.length; i++) Queue.offerUnsafe(subscribers[i], record)
    })
    const dispatches: Stream.Stream<DispatchRecord> = Stream.unwrap(Effect.gen(function*() {
      const queue = yield* Queue.sliding<DispatchRecord>(dispatchBuffer)
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          subscribers = [...subscribers, queue]
          observer.subscribed(1)
        }),
        () =>
          Effect.sync(() => {
            subscribers = subscribers.filter((q) => q !== queue)
            observer.subscribed(-1)
          })
      )
      return Stream.fromQueue(queue)
    }))
    const fibers = yield* FiberSet.make<void, never>()
    const runner = new AsyncRunner(yield* FiberSet.runtime(fibers)<never>(), {
      concurrency: config.concurrency,
      overflow: config.overflow,
      onDrop: (reason, hook, source) =>
        Effect.suspend(() => {
          observer.count(seriesOf(observer, registry.slotFor("action", hook, keyOf("action", hook))).dropped, 1)
          return Effect.logWarning(
            reason === "closing" ? "async handler dropped: the bus is closing" : "async handler dropped: bound reached"
          ).pipe(Effect.annotateLogs({ hook, kind: "action", source, concurrency: config.concurrency }))
        }),
      onInFlight: (n) => observer.inFlight(n)
    })
    // Runs before the FiberSet's own finalizer, which interrupts whatever is left.
    yield* Effect.addFinalizer(() => runner.shutdown(config.grace))

    const deps: DispatchDeps = {
      maxDepth: config.maxDepth,
      registry,
      observer,
      submitAsync: makeSubmitAsync(runner, observer)
    }
    const dispatch = makeDispatch(deps)
    const parallel = makeParallel(deps, config.parallelConcurrency)
    const interceptors = new Interceptors((afterEach) => observer.intercepted(afterEach))
    registry.events = makeRegistryEvents(registry, dispatch, interceptors)
    const deprecations = new Deprecations()
    // With no interceptor and no deprecation, a dispatch pays two checks; with some, it runs inside `around` and
    // after the deprecation's warning.
    const run = (hook: AnyHook, value: unknown, args: ReadonlyArray<unknown>, detailed: boolean) => {
      const dispatched = interceptors.dispatching
        ? interceptors.around(hook, value, args, (sink) => dispatch(hook, value, args, detailed, sink))
        : dispatch(hook, value, args, detailed)
      return deprecations.watches(hook) ? deprecations.dispatched(hook, dispatched) : dispatched
    }
    const register = (hook: AnyHook, handler: AnyFn, o: RawOptions | undefined) => {
      const registered = registry.add(hook, handler, o)
      return deprecations.watches(hook) ? deprecations.registered(hook, registered) : registered
    }

    const shape: HookBusShape = {
      addAction: (hook, handler, o) => register(hook, handler as AnyFn, o as RawOptions | undefined),
      addFilter: (hook, handler, o) => register(hook, handler as AnyFn, o as RawOptions | undefined),
      // `arguments` rather than a rest parameter: no array is allocated for the common dispatch without arguments,
      // and one argument is put in an array directly (slicing `arguments` makes the arguments object first).
      doAction: function(hook: ActionHook<any>, first?: unknown) {
        const n = arguments.length
        return run(hook, undefined, n <= 1 ? noArgs : n === 2 ? [first] : sliceArgs(arguments, 1), false)
      } as HookBusShape["doAction"],
      doActionParallel: function(hook: ActionHook<any>, first?: unknown) {
        const n = arguments.length
        const args = n <= 1 ? noArgs : n === 2 ? [first] : sliceArgs(arguments, 1)
        const dispatched = interceptors.dispatching
          ? interceptors.around(hook, undefined, args, (sink) => parallel(hook, args, sink))
          : parallel(hook, args)
        return deprecations.watches(hook) ? deprecations.dispatched(hook, dispatched) : dispatched
      } as HookBusShape["doActionParallel"],
      applyFilters: function(hook: FilterHook<any, any>, value: unknown, first?: unknown) {
        const n = arguments.length
        return run(hook, value, n <= 2 ? noArgs : n === 3 ? [first] : sliceArgs(arguments, 2), false)
      } as HookBusShape["applyFilters"],
      applyFiltersResult: function(hook: FilterHook<any, any>, value: unknown, first?: unknown) {
        const n = arguments.length
        return run(hook, value, n <= 2 ? noArgs : n === 3 ? [first] : sliceArgs(arguments, 2), true)
      } as HookBusShape["applyFiltersResult"],
      durable: busDurable,
      has: (hook) => Effect.map(registry.chainRef(hook), (chain) => chain.some((e) => !e.removed)),
      handlers: (hook) => Effect.map(registry.chainRef(hook), (chain) => chain.filter((e) => !e.removed).map(info)),
      dispatchCount: (hook) => Effect.sync(() => registry.find(hook)?.dispatches ?? 0),
      hooks: Effect.sync(() => {
        const hooks: Array<HookInfo> = []
        for (const slot of registry.allSlots()) {
          chainOf(slot)
          const handlers = Ref.getUnsafe(slot.chain).filter((e) => !e.removed).map(info)
          if (handlers.length > 0 || slot.dispatches > 0) {
            hooks.push({ name: slot.name, kind: slot.kind, handlers, dispatches: slot.dispatches })
          }
        }
        return hooks
      }),
      current: Effect.map(HookStack.CurrentHookFrame, HookStack.names),
      awaitIdle: runner.awaitIdle,
      removeSource: (source) => registry.removeSource(source),
      removeAll: (hook) => registry.removeAll(hook),
      intercept: (interceptor) => interceptors.install(interceptor),
      dispatches,
      stream: (hook) =>
        Stream.filterMap(dispatches, (record) =>
          record.kind === "action" && record.hook === hook.name
            ? Result.succeed(record.args as ArgsOf<typeof hook>)
            : Result.failVoid)
    }
    return shape
  })
