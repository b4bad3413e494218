/**
 * What the `hookbus` commands share: the bundled plugins, the `--plugins` and `--json` flags, reading a filter's
 * value, naming a hook's kind, one-line errors, and a fresh bus per command.
 *
 * @since 0.1.0
 */
import { Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stdio from "effect/Stdio"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"
import { errorMessage } from "../domain/errorMessage.ts"
import type { HookKind } from "../domain/Hook.ts"
import { HookBus } from "../services/HookBus.ts"
import { CliFailure, CliInputError, type PluginSet } from "./PluginSet.ts"
import * as Printable from "./Printable.ts"

/**
 * The plugins bundled with hookbus.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Effect } from "effect"
 * import { HookBus } from "hookbus"
 * import { bundledPlugins, loadAll } from "hookbus/cli"
 *
 * const program = loadAll(bundledPlugins).pipe(Effect.provide(HookBus.layer))
 */
export const bundledPlugins = fileURLToPath(new URL("../../examples/plugins", import.meta.url))

/** What every `--help` ends its description with. */
export const exitCodes = "Exit codes: 0 ok, 1 a hook or plugin failed, 2 usage error."

export const pluginsFlag = Flag.String("plugins").pipe(
  Flag.withDescription("A directory of plugin folders, or one plugin folder (default: the bundled examples/plugins)"),
  Flag.withDefault(bundledPlugins)
)

export const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDescription("Print the result as one JSON document on stdout"),
  Flag.withDefault(false)
)

export const parseJson = (flag: string, text: string): Effect.Effect<unknown, CliInputError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) =>
      new CliInputError({
        message: `invalid JSON for --${flag}: ${errorMessage(error)}`
      })
  })

/** A filter's value from `--value TEXT`, `--value -` (stdin) or `--value-file PATH` (for values past argv limits). */
export const readValue = (
  value: Option.Option<string>,
  file: Option.Option<string>
): Effect.Effect<unknown, CliInputError, FileSystem.FileSystem | Stdio.Stdio> =>
  Effect.gen(function*() {
    if (Option.isSome(value) && Option.isSome(file)) {
      return yield* new CliInputError({ message: "pass --value or --value-file, not both" })
    }
    if (Option.isSome(file)) {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(file.value).pipe(
        Effect.mapError((error) =>
          new CliInputError({ message: `cannot read --value-file ${file.value}: ${error.message}` })
        )
      )
      return yield* parseJson("value-file", text)
    }
    if (Option.isNone(value)) return null
    if (value.value !== "-") return yield* parseJson("value", value.value)
    const stdio = yield* Stdio.Stdio
    const text = yield* stdio.stdin.pipe(Stream.decodeText, Stream.mkString).pipe(
      Effect.mapError((error) => new CliInputError({ message: `cannot read --value - from stdin: ${error.message}` }))
    )
    return yield* parseJson("value", text)
  })

export const reportFailures = (set: PluginSet): Effect.Effect<void> =>
  Effect.forEach(set.failures, (f) => Console.error(`hookbus: plugin failed to load: ${f.message}`), { discard: true })

/** Which kind a hook name is, from the loaded manifests (or `--kind`). */
export const kindOf = (
  set: PluginSet,
  name: string,
  kind: Option.Option<HookKind>
): Effect.Effect<HookKind, CliInputError> => {
  const declared = new Set(
    set.handles.flatMap((h) => h.manifest.hooks.filter((hook) => hook.name === name).map((hook) => hook.kind))
  )
  if (Option.isSome(kind)) {
    return declared.has(kind.value)
      ? Effect.succeed(kind.value)
      : Effect.fail(new CliInputError({ message: `unknown hook: no loaded plugin handles ${kind.value} "${name}"` }))
  }
  if (declared.size === 1) return Effect.succeed([...declared][0])
  if (declared.size === 2) {
    return Effect.fail(new CliInputError({ message: `hook "${name}" is both an action and a filter: pass --kind` }))
  }
  const known = [...new Set(set.handles.flatMap((h) => h.manifest.hooks.map((hook) => hook.name)))].sort()
  return Effect.fail(
    new CliInputError({
      message: `unknown hook: no loaded plugin handles "${name}" (known hooks: ${known.join(", ") || "none"})`
    })
  )
}

/** Prints the one line of a usage error or a failure the command names (the exit code is set by `exitCode`). */
export const oneLine = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Printable.console(Effect.tapError(
    effect,
    (error) =>
      error instanceof CliInputError || error instanceof CliFailure
        ? Console.error(`hookbus: ${error.message}`)
        : Effect.void
  ))

export const withBus = <A, E, R>(effect: Effect.Effect<A, E, R>, tracing: "off" | "handlers") =>
  Effect.scoped(effect).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing }))))
