/**
 * The bridge from WebAssembly plugins into the hook bus: load a plugin (from a folder or from bytes and a
 * manifest) and register each of its manifest hooks as a handler, for the life of a scope.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import type * as Path from "effect/Path"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type { Registration } from "../domain/Handler.ts"
import type { RegistrationRejected } from "../domain/HookErrors.ts"
import { check, type InvalidOptions } from "../domain/InvalidOptions.ts"
import type * as Manifest from "../domain/Manifest.ts"
import type { PluginLoadError } from "../domain/PluginErrors.ts"
import type { HookBus } from "../services/HookBus.ts"
import type * as HostFunction from "./HostFunction.ts"
import * as Inspect from "./Inspect.ts"
import { PluginOptionsSchema } from "./internal/Options.ts"
import * as Reload from "./internal/Reload.ts"
import * as Files from "./PluginFiles.ts"
import type * as PluginInstance from "./PluginInstance.ts"

/**
 * The key that marks a `PluginHandle`.
 *
 * @since 0.1.0
 * @category type ids
 * @example
 * import { Plugin } from "hookbus/wasm"
 *
 * declare const value: object
 * const marked = Plugin.TypeId in value
 */
export const TypeId: TypeId = Reload.TypeId

/**
 * The type of `Plugin.TypeId`.
 *
 * @since 0.1.0
 * @category type ids
 * @example
 * import { Plugin } from "hookbus/wasm"
 *
 * const key: Plugin.TypeId = Plugin.TypeId
 */
export type TypeId = typeof Reload.TypeId

/**
 * A loaded plugin, opaque: only `Plugin.load`, `Plugin.fromBytes` and `Plugin.reload` make one. Its fields follow
 * `Plugin.reload`: they always describe the version now serving.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { Plugin } from "hookbus/wasm"
 *
 * const hooksOf = (handle: Plugin.PluginHandle) => handle.manifest.hooks.map((h) => h.name)
 * const program = Effect.map(Plugin.load("plugins/seo"), hooksOf)
 */
export interface PluginHandle {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly version: string
  readonly manifest: Manifest.Manifest
  /** The serving version's instances (call the plugin without the bus). */
  readonly instance: PluginInstance.PluginInstance
  /** @deprecated Use `instance` (the same value; removed in the next release). */
  readonly dispatcher: PluginInstance.PluginInstance
  readonly registrations: ReadonlyArray<Registration>
}

/**
 * Whether a value is a `PluginHandle`.
 *
 * @since 0.1.0
 * @category guards
 * @example
 * import { Plugin } from "hookbus/wasm"
 *
 * console.log(Plugin.isPluginHandle({ name: "seo" })) // false
 */
export const isPluginHandle = (u: unknown): u is PluginHandle => Predicate.hasProperty(u, TypeId)

/**
 * Host-side settings for a plugin, over its manifest's.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Plugin } from "hookbus/wasm"
 *
 * const options: Plugin.PluginOptions = { execution: "worker", limits: { timeoutMs: 500 }, pool: { size: 2 } }
 * const program = Plugin.load("plugins/seo", options)
 */
export interface PluginOptions {
  /**
   * The host's ceilings, field by field (absent: the defaults). A manifest may ask for less, never more: a request
   * over a ceiling fails the load with `LimitAboveCeiling`.
   */
  readonly limits?: PluginInstance.PluginLimits | undefined
  /**
   * The largest `plugin.json` read from a folder (default 1 MiB); the module is read up to `limits.maxModuleBytes`.
   */
  readonly files?: { readonly maxManifestBytes?: number | undefined } | undefined
  readonly execution?: "inline" | "worker" | undefined
  readonly pool?: { readonly size?: number | undefined } | undefined
  readonly breaker?: PluginInstance.BreakerOptions | false | undefined
  /** Meter calls with fuel (default true). */
  readonly fuel?: boolean | undefined
  /**
   * Host services the plugin may call (ABI v1.1 host functions, made by `HostFunction.make`); under a
   * `PluginPolicy`, each one the module imports must be granted by `allowHostFunctions`. Inline and in worker mode.
   */
  readonly hostFunctions?: ReadonlyArray<HostFunction.HostFunction> | undefined
}

/**
 * The error of a load: a plugin error, a registration the bus refused (every other registration is undone), or
 * host options that cannot be used (`InvalidOptions`, naming the option).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { Plugin } from "hookbus/wasm"
 *
 * const reported = Plugin.load("plugins/seo").pipe(
 *   Effect.catch((error: Plugin.LoadError) => Effect.logWarning(`not loaded: ${error._tag}`))
 * )
 */
export type LoadError = PluginLoadError | RegistrationRejected | InvalidOptions

/**
 * What `Plugin.status` reports: the instance's figures, the version and hooks, and the reloads.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Plugin } from "hookbus/wasm"
 *
 * const line = (s: Plugin.PluginStatusReport) => `${s.plugin}@${s.version}: ${s.calls} calls, ${s.reloads} reloads`
 */
export interface PluginStatusReport extends PluginInstance.PluginStatus {
  readonly version: string
  /** The serving module's SHA-256 (hex), whether or not the manifest pins it in `wasm.sha256`. */
  readonly sha256: string
  readonly hooks: ReadonlyArray<string>
  /** How many times the plugin was reloaded. */
  readonly reloads: number
}

/**
 * The source a plugin's hooks register under: always `plugin:<name>`, chosen by the host, never by the manifest.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Plugin } from "hookbus/wasm"
 *
 * declare const handle: Plugin.PluginHandle
 * const source = Plugin.sourceOf(handle.manifest) // "plugin:seo"
 */
export const sourceOf: (manifest: Manifest.Manifest) => string = Reload.sourceOf

/**
 * Loads a plugin from its bytes and a manifest (an object; its `wasm` field is not needed) and registers its hooks
 * on the bus. Closing the scope removes every registration, then releases the instance. Atomic: when any step
 * fails, nothing stays registered.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Effect } from "effect"
 * import { Plugin } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const program = Effect.gen(function*() {
 *   const handle = yield* Plugin.fromBytes(bytes, {
 *     abi: 1,
 *     name: "uppercase",
 *     version: "1.0.0",
 *     hooks: [{ name: "the_content", kind: "filter" }]
 *   })
 *   return handle.registrations.length
 * })
 */
export const fromBytes = (
  bytes: Uint8Array,
  manifestInput: unknown,
  options: PluginOptions = {}
): Effect.Effect<PluginHandle, LoadError, HookBus | Scope.Scope> => attachFrom(bytes, manifestInput, options, undefined)

/** `fromBytes`, with the plugin folder when there is one (a manifest's `wasi.preopen` is inside it). */
const attachFrom = (
  bytes: Uint8Array,
  manifestInput: unknown,
  options: PluginOptions,
  folder: string | undefined
): Effect.Effect<PluginHandle, LoadError, HookBus | Scope.Scope> =>
  Effect.gen(function*() {
    yield* check("Plugin", PluginOptionsSchema, options)
    const plugin: PluginHandle = yield* Reload.attach(bytes, manifestInput, options, folder)
    yield* Effect.annotateCurrentSpan({ "plugin.name": plugin.name, "plugin.version": plugin.version })
    return plugin
  }).pipe(Effect.withSpan("hookbus.plugin.load", undefined, { captureStackTrace: false }))

const fileLimits = (options: PluginOptions): Files.FileLimits => ({
  maxManifestBytes: options.files?.maxManifestBytes,
  maxModuleBytes: options.limits?.maxModuleBytes
})

/**
 * Loads the plugin in `dir`: reads `dir/plugin.json`, then the module it names (which must stay inside `dir`).
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Effect } from "effect"
 * import { Plugin } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const seo = yield* Plugin.load("plugins/seo")
 *   yield* Effect.log(`loaded ${seo.name} ${seo.version}`)
 * })
 */
export const load = (
  dir: string,
  options: PluginOptions = {}
): Effect.Effect<PluginHandle, LoadError, HookBus | Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    yield* check("Plugin", PluginOptionsSchema, options)
    const { bytes, manifest } = yield* readPluginDir(dir, fileLimits(options))
    return yield* attachFrom(bytes, manifest, options, dir)
  })

/**
 * Loads the plugin in `dir` (as `load` does) for the life of a Layer: its hooks are registered while the layer is
 * built, and removed, then the instance released, when it closes. The layer fails with the load's error.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * import { NodeFileSystem, NodePath } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { HookBus } from "hookbus"
 * import { Plugin } from "hookbus/wasm"
 *
 * const Seo = Plugin.layer("plugins/seo", { execution: "worker" })
 * const App = Seo.pipe(
 *   Layer.provideMerge(HookBus.layer),
 *   Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
 * )
 */
export const layer = (
  dir: string,
  options: PluginOptions = {}
): Layer.Layer<never, LoadError, HookBus | FileSystem.FileSystem | Path.Path> => Layer.effectDiscard(load(dir, options))

/**
 * Replaces a loaded plugin with a new version, from a folder or from `{ bytes, manifest }`. The new version is
 * loaded beside the old one, then every registration switches in one step: each dispatch sees either the old
 * handlers or the new ones, never both or neither. Calls in flight finish on the old version, which is released
 * after them. If the new version fails to load, the old one keeps running and the error is returned.
 *
 * @since 0.1.0
 * @category lifecycle
 * @example
 * import { Effect } from "effect"
 * import { Plugin } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const seo = yield* Plugin.load("plugins/seo")
 *   yield* Plugin.reload(seo, "plugins/seo-2.0")
 *   return seo.version // the new version's
 * })
 */
export function reload(
  handle: PluginHandle,
  source: { readonly bytes: Uint8Array; readonly manifest: unknown }
): Effect.Effect<PluginHandle, LoadError, HookBus>
export function reload(
  handle: PluginHandle,
  source: string
): Effect.Effect<PluginHandle, LoadError, HookBus | FileSystem.FileSystem | Path.Path>
export function reload(
  handle: PluginHandle,
  source: string | { readonly bytes: Uint8Array; readonly manifest: unknown }
): Effect.Effect<PluginHandle, LoadError, HookBus | FileSystem.FileSystem | Path.Path> {
  return Effect.gen(function*() {
    const plugin = yield* Reload.stateOf(handle)
    const { bytes, manifest } = typeof source === "string"
      ? yield* readPluginDir(source, fileLimits(plugin.options))
      : source
    yield* Reload.replace(plugin, bytes, manifest, typeof source === "string" ? source : undefined)
    yield* Effect.annotateCurrentSpan({ "plugin.name": plugin.name, "plugin.version": plugin.version })
    return handle
  }).pipe(Effect.withSpan("hookbus.plugin.reload", undefined, { captureStackTrace: false }))
}

/**
 * The plugin's breaker, pool and fuel figures, and its version.
 *
 * @since 0.1.0
 * @category getters
 * @example
 * import { Effect } from "effect"
 * import { Plugin } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const seo = yield* Plugin.load("plugins/seo")
 *   const { breaker, calls } = yield* Plugin.status(seo)
 *   yield* Effect.log(`${breaker}, ${calls} calls`)
 * })
 */
export const status = (handle: PluginHandle): Effect.Effect<PluginStatusReport> =>
  Effect.flatMap(Reload.stateOf(handle), (plugin) =>
    Effect.map(plugin.instance.status, (s) => ({
      ...s,
      version: plugin.version,
      sha256: plugin.current.sha256,
      hooks: plugin.manifest.hooks.map((h) => h.name),
      reloads: plugin.reloads
    })))

/**
 * A plugin folder's decoded manifest and module bytes.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Plugin } from "hookbus/wasm"
 *
 * const size = (files: Plugin.PluginFiles) => files.bytes.length
 */
export type PluginFiles = Files.PluginFiles

/**
 * Why a plugin folder could not be read.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { Plugin } from "hookbus/wasm"
 *
 * const why = (error: Plugin.ReadError) => error._tag
 */
export type ReadError = Files.ReadError

/**
 * Reads a plugin folder: its decoded manifest and its module's bytes. Every file must resolve inside the folder,
 * be a regular file and stay under its size cap (see `PluginFiles`).
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Effect } from "effect"
 * import { Plugin } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const { manifest, bytes } = yield* Plugin.readPluginDir("plugins/seo")
 *   yield* Effect.log(`${manifest.name}: ${bytes.length} bytes`)
 * })
 */
export const readPluginDir = Files.readPluginDir

/**
 * Checks a plugin folder or a `.wasm` file against the ABI and its manifest (see `Inspect`). Never fails: problems
 * are failed checks in the report.
 *
 * @since 0.1.0
 * @category inspection
 * @example
 * import { Effect } from "effect"
 * import { Plugin } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const report = yield* Plugin.inspect("plugins/seo")
 *   yield* Effect.log(report.ok ? "ok" : "problems")
 * })
 */
export const inspect = Inspect.inspect
