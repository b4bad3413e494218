/**
 * hookbus/cli: the `hookbus` command as an `effect/cli` `Command`, for embedding in your own command line (the
 * `hookbus` bin runs it with `Command.run`).
 *
 * @example
 * ```ts
 * import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
 * import * as NodeServices from "@effect/platform-node/NodeServices"
 * import { Command } from "effect/cli"
 * import * as Effect from "effect/Effect"
 * import { hookbus } from "hookbus/cli"
 *
 * hookbus.pipe(Command.run({ version: "1.0.0" }), Effect.provide(NodeServices.layer), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 */
export { hookbus } from "./Cli.ts"
export { bundledPlugins } from "./CommandKit.ts"
export { CliInputError, loadAll, type LoadFailure, type PluginSet, SilentExit } from "./PluginSet.ts"
