/**
 * hookbus: an Effect-native hook runtime.
 *
 * @since 0.1.0
 */
export type * from "./domain/Handler.ts"
export * as HandlerOrder from "./domain/HandlerOrder.ts"
export * as Hook from "./domain/Hook.ts"
export type { ActionHook, AnyHook, ArgsOf, FilterHook, HookKind, ValueOf } from "./domain/Hook.ts"
export * from "./domain/HookErrors.ts"
export * as HookMetrics from "./domain/HookMetrics.ts"
export * as HookName from "./domain/HookName.ts"
export * as Manifest from "./domain/Manifest.ts"
export * from "./domain/PluginErrors.ts"
export * from "./services/HookBus.ts"
export * from "./services/HookRecorder.ts"
export * from "./services/PluginPolicy.ts"
export * as Abi from "./wasm/Abi.ts"
export * as Inspect from "./wasm/Inspect.ts"
export * as Plugin from "./wasm/Plugin.ts"
export * as WasmBinary from "./wasm/WasmBinary.ts"
export * as WasmDispatcher from "./wasm/WasmDispatcher.ts"
