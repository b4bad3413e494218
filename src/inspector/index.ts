/**
 * hookbus/inspector: a web page that shows a running bus (its hooks, each chain in resolved order, live dispatches,
 * plugin health) served by `HookInspector.layer`. A separate entry point: an application that does not import it
 * loads none of it.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { HookBus } from "hookbus"
 * import { HookInspector } from "hookbus/inspector"
 *
 * const App = HookInspector.layer({ port: 4400 }).pipe(Layer.provideMerge(HookBus.layer))
 * ```
 *
 * @since 0.1.0
 */
export { InspectorListenFailed } from "../domain/InspectorErrors.ts"
export { InvalidOptions } from "../domain/InvalidOptions.ts"
export * from "./HookInspector.ts"
