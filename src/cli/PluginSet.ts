/**
 * Loads every plugin folder under a directory onto the bus: a plugin that fails to load is reported, the others
 * still load.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import type * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type { HookBus } from "../services/HookBus.ts"
import * as Plugin from "../wasm/Plugin.ts"

/**
 * Input the command line cannot act on; its message is the one line the user sees.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { HookBus } from "hookbus"
 * import { loadAll } from "hookbus/cli"
 *
 * const program = loadAll("no/such/dir").pipe(
 *   Effect.catchTag("CliInputError", (e) => Effect.logError(e.message)), // "plugin directory not found: no/such/dir"
 *   Effect.provide(HookBus.layer)
 * )
 */
export class CliInputError extends Data.TaggedError("CliInputError")<{ readonly message: string }> {}

/** A hook, a handler or a plugin failed in a way the command names in one line (exit code 1). */
export class CliFailure extends Data.TaggedError("CliFailure")<{ readonly message: string }> {}

/**
 * The command already said what went wrong; it only needs a non-zero exit code.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { SilentExit } from "hookbus/cli"
 *
 * const failQuietly = Effect.fail(new SilentExit()) // exit code 1, nothing more printed
 */
export class SilentExit extends Data.TaggedError("SilentExit") {}

/** What to do when a plugin's module has not been built. */
export const buildAdvice =
  "run `npm run build:plugins` to build them (in the hookbus repository), or `hookbus build <folder>` for each"

/**
 * A plugin folder that did not load.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { LoadFailure } from "hookbus/cli"
 *
 * const line = (f: LoadFailure) => `${f.dir}: ${f.message}`
 */
export interface LoadFailure {
  readonly dir: string
  readonly message: string
}

/**
 * The plugins that loaded and the folders that failed.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { PluginSet } from "hookbus/cli"
 *
 * const summary = (set: PluginSet) => `${set.handles.length} loaded, ${set.failures.length} failed`
 */
export interface PluginSet {
  readonly handles: ReadonlyArray<Plugin.PluginHandle>
  readonly failures: ReadonlyArray<LoadFailure>
}

/**
 * Loads `dir` when it is a plugin folder, else every folder with a `plugin.json` under it, in name order.
 *
 * @since 0.1.0
 * @category loading
 * @example
 * import { Effect } from "effect"
 * import { HookBus } from "hookbus"
 * import { loadAll } from "hookbus/cli"
 *
 * const program = Effect.gen(function*() {
 *   const { handles, failures } = yield* loadAll("plugins", { execution: "worker" })
 *   for (const f of failures) yield* Effect.logWarning(`${f.dir}: ${f.message}`)
 *   return handles.map((h) => h.name)
 * }).pipe(Effect.scoped, Effect.provide(HookBus.layer))
 */
export const loadAll = (
  dir: string,
  options: Plugin.PluginOptions = {}
): Effect.Effect<PluginSet, CliInputError, HookBus | Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const stat = yield* Effect.result(fs.stat(dir))
    if (stat._tag === "Failure" || stat.success.type !== "Directory") {
      return yield* new CliInputError({ message: `plugin directory not found: ${dir}` })
    }
    const hasManifest = (folder: string) =>
      fs.exists(path.join(folder, "plugin.json")).pipe(Effect.orElseSucceed(() => false))
    // A plugin folder itself is a set of one, so `--plugins my-plugin` works as well as `--plugins .`.
    const candidates = (yield* hasManifest(dir)) ? [dir] : (yield* fs.readDirectory(dir).pipe(
      Effect.mapError(() => new CliInputError({ message: `cannot read plugin directory: ${dir}` }))
    )).sort().map((entry) => path.join(dir, entry))
    const handles: Array<Plugin.PluginHandle> = []
    const failures: Array<LoadFailure> = []
    const folders: Array<
      { readonly folder: string; readonly read: Result.Result<Plugin.PluginFiles, Plugin.ReadError> }
    > = []
    for (const folder of candidates) {
      if (yield* hasManifest(folder)) folders.push({ folder, read: yield* Effect.result(Plugin.readPluginDir(folder)) })
    }
    if (folders.length === 0) {
      return yield* new CliInputError({
        message: `no plugins in ${dir}: pass a plugin folder (with a plugin.json) or a directory of plugin folders`
      })
    }
    for (const { folder, read } of orderByConstraints(folders)) {
      const loaded = read._tag === "Success"
        ? yield* Effect.result(Plugin.fromBytes(read.success.bytes, read.success.manifest, options))
        : read
      if (loaded._tag === "Success") handles.push(loaded.success)
      else failures.push({ dir: folder, message: withAdvice(loaded.failure, folder) })
    }
    return { handles, failures }
  })

/**
 * A module that cannot be read is usually one not built yet: say how to build it, with the command any user has
 * (`hookbus build`) and the one for the bundled examples in the hookbus repository.
 */
const withAdvice = (error: Plugin.ReadError | Plugin.LoadError, folder: string): string =>
  error._tag === "PluginNotFound" && error.path.endsWith(".wasm") ?
    `${error.message} (not built yet? run \`hookbus build ${folder}\`, or \`npm run build:plugins\` for the bundled examples)`
    : error.message

/**
 * Plugins whose hooks run after (or before) another plugin's source load after it, so their constraints resolve at
 * once rather than waiting with a warning. Otherwise name order.
 */
const orderByConstraints = <A extends { readonly read: Result.Result<Plugin.PluginFiles, unknown> }>(
  folders: ReadonlyArray<A>
): ReadonlyArray<A> => {
  const manifestOf = (a: A) => a.read._tag === "Success" ? a.read.success.manifest : undefined
  const sourcesOf = (a: A): ReadonlyArray<string> => {
    const m = manifestOf(a)
    return m === undefined ? [] : [Plugin.sourceOf(m)]
  }
  const needsOf = (a: A): ReadonlyArray<string> =>
    manifestOf(a)?.hooks.flatMap((h) => [...(h.after ?? []), ...(h.before ?? [])]) ?? []
  const out: Array<A> = []
  const pending = [...folders]
  while (pending.length > 0) {
    const provided = new Set(pending.flatMap(sourcesOf))
    const next = pending.findIndex((a) => needsOf(a).every((s) => !provided.has(s) || sourcesOf(a).includes(s)))
    out.push(...pending.splice(next === -1 ? 0 : next, 1))
  }
  return out
}
