/**
 * hookbus/wasm: WebAssembly plugins on the bus. `Plugin.load` reads a plugin folder (manifest and module) and
 * registers its hooks; `PluginInstance` runs a module under the sandbox (fuel, memory cap, worker isolation,
 * circuit breaker); `Manifest` validates `plugin.json`; `Inspect` checks a plugin against ABI v1 and `Conformance`
 * runs it through every row of it; `HostFunction` exposes host services to plugins; `PluginPolicy` limits what each plugin may hook and import; the plugin errors
 * are tagged.
 *
 * @example
 * ```ts
 * import * as NodeServices from "@effect/platform-node/NodeServices"
 * import { Effect } from "effect"
 * import { HookBus } from "hookbus"
 * import { Plugin } from "hookbus/wasm"
 *
 * const program = Plugin.load("plugins/uppercase").pipe(Effect.andThen(Effect.never))
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(HookBus.layer), Effect.provide(NodeServices.layer)))
 * ```
 *
 * @since 0.1.0
 */
export { InvalidOptions } from "../domain/InvalidOptions.ts"
export * as Manifest from "../domain/Manifest.ts"
export * from "../domain/PluginErrors.ts"
export * from "../services/PluginPolicy.ts"
export * as Abi from "./Abi.ts"
export * as Conformance from "./Conformance.ts"
export * as HostFunction from "./HostFunction.ts"
export * as Inspect from "./Inspect.ts"
export * as Limits from "./Limits.ts"
export * as Plugin from "./Plugin.ts"
export * as PluginFiles from "./PluginFiles.ts"
export * as PluginInstance from "./PluginInstance.ts"
export * as WasmBinary from "./WasmBinary.ts"
/**
 * The former name of `PluginInstance` (the same module).
 *
 * @deprecated Use `PluginInstance` (removed in the next release).
 * @since 0.1.0
 * @category deprecated
 */
export * as WasmDispatcher from "./PluginInstance.ts"
