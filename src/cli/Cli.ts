/**
 * The `hookbus` command: run a hook through the plugins in a directory, list hooks and handlers, inspect a plugin,
 * and a short scripted demo (what `npm start` runs).
 *
 * Exit codes: 0 success; 1 a hook, a handler or a plugin failed; 2 a usage error (bad flags or input). Usage errors
 * are one line on stderr with a pointer to `--help`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import { CliError, CliOutput, Command, TerminalCapabilities } from "effect/cli"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { exitCodes } from "./CommandKit.ts"
import { conformance } from "./ConformanceCommand.ts"
import { demo } from "./DemoCommand.ts"
import { jobs } from "./JobsCommand.ts"
import { inspect, list } from "./ListCommand.ts"
import { CliInputError } from "./PluginSet.ts"
import { run } from "./RunCommand.ts"
import { commands as authoring } from "./Scaffold.ts"

export { bundledPlugins } from "./CommandKit.ts"

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 * @example
 * import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
 * import * as NodeServices from "@effect/platform-node/NodeServices"
 * import { Effect } from "effect"
 * import { Command } from "effect/cli"
 * import { hookbus } from "hookbus/cli"
 *
 * hookbus.pipe(Command.run({ version: "1.0.0" }), Effect.provide(NodeServices.layer), NodeRuntime.runMain)
 */
export const hookbus = Command.make("hookbus").pipe(
  Command.withDescription(`Hook bus and WebAssembly plugins for Effect backends. ${exitCodes}`),
  Command.withExamples([{ command: "hookbus run --help", description: "Flags and an example for one command" }]),
  Command.withSubcommands([run, list, inspect, conformance, jobs, demo, ...authoring])
)

/** Help that marks required flags, since the default help shows them like the optional ones. */
const markRequired = (doc: CliOutput.Presenter.Help["helpDoc"]): CliOutput.Presenter.Help["helpDoc"] => ({
  ...doc,
  flags: doc.flags.map((flag) =>
    flag.required
      ? { ...flag, description: Option.some(`(required) ${Option.getOrElse(flag.description, () => "")}`.trim()) }
      : flag
  )
})

/**
 * Help as usual, but a usage error is one line on stderr with a pointer to `--help`, rather than the whole help
 * followed by the error.
 */
export const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      const formatter = Context.getOrUndefined(context, CliOutput.Formatter) ??
        CliOutput.defaultFormatter({ colors: Context.get(context, TerminalCapabilities.TerminalCapabilities).canColor })
      switch (event._tag) {
        case "Help":
          return yield* Console.log(formatter.formatHelpDoc(markRequired(event.helpDoc)))
        case "InvalidInvocation":
          return yield* Console.error(
            `hookbus: ${event.errors.map((e) => e.message).join("; ")} (see \`${event.commandPath.join(" ")} --help\`)`
          )
        case "Version":
          return yield* Console.log(formatter.formatVersion(event.name, event.version))
      }
    })
}

/** The process exit code for how the command ended: 0 ok, 1 a failure, 2 a usage error, 130 interrupted. */
export const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.hasInterruptsOnly(exit.cause)) return 130
  const error = Cause.squash(exit.cause)
  return error instanceof CliInputError || CliError.isCliError(error) ? 2 : 1
}
