/**
 * hookbus: an Effect-native hook runtime. This entry point is the bus: hook definitions, the `HookBus` service and
 * its layers (`HookBus.layer`, `HookBus.layerTest`), ordering, metrics and the bus's tagged errors. It does not
 * load the WebAssembly runtime; plugins are in `hookbus/wasm`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Hook, HookBus } from "hookbus"
 *
 * const Title = Hook.filter<string>("title")
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.addFilter(Title, (t) => Effect.succeed(t.trim()), { source: "trim" })
 *   return yield* bus.applyFilters(Title, "  hi  ")
 * })
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(HookBus.layer)))
 * ```
 *
 * @since 0.1.0
 */
export * from "./domain/DurableErrors.ts"
export type * from "./domain/DurableJob.ts"
export type * from "./domain/Handler.ts"
export * as HandlerOrder from "./domain/HandlerOrder.ts"
export * as Hook from "./domain/Hook.ts"
export type { ActionHook, AnyHook, ArgsOf, FilterHook, HookKind, ValueOf } from "./domain/Hook.ts"
export * from "./domain/HookErrors.ts"
export * as HookMetrics from "./domain/HookMetrics.ts"
export * as HookName from "./domain/HookName.ts"
export type * from "./domain/Interceptor.ts"
export { InvalidOptions } from "./domain/InvalidOptions.ts"
export * as MetaHook from "./domain/MetaHook.ts"
export * from "./services/HookBus.ts"
export * as HookBusConfig from "./services/HookBusConfig.ts"
export * from "./services/HookRecorder.ts"
