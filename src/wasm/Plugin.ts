/**
 * The bridge from WebAssembly plugins into the hook bus: load a plugin (from a folder or from bytes and a
 * manifest) and register each of its manifest hooks as a handler, for the life of a scope.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type { Registration } from "../domain/Handler.ts"
import * as Hook from "../domain/Hook.ts"
import type { RegistrationRejected, ShortCircuit } from "../domain/HookErrors.ts"
import * as Manifest from "../domain/Manifest.ts"
import {
  BadPayload,
  IntegrityMismatch,
  ManifestInvalid,
  type PluginCallError,
  type PluginLoadError,
  PluginNotFound,
  UnencodableValue
} from "../domain/PluginErrors.ts"
import * as HookStack from "../layers/internal/HookStack.ts"
import { HookBus } from "../services/HookBus.ts"
import * as WasmDispatcher from "./WasmDispatcher.ts"

/** A loaded plugin and its registrations. */
export interface PluginHandle {
  readonly name: string
  readonly version: string
  readonly manifest: Manifest.Manifest
  readonly dispatcher: WasmDispatcher.WasmDispatcher
  readonly registrations: ReadonlyArray<Registration>
}

/** Host-side settings for a plugin, over its manifest's. */
export interface PluginOptions {
  /** Overrides the manifest's limits field by field. */
  readonly limits?: WasmDispatcher.PluginLimits | undefined
}

/** The error of a load: a plugin error, or a registration the bus refused (every other registration is undone). */
export type LoadError = PluginLoadError | RegistrationRejected

const sha256 = (bytes: Uint8Array): Effect.Effect<string> =>
  Effect.promise(async () => {
    const { createHash } = await import("node:crypto")
    return createHash("sha256").update(bytes).digest("hex")
  })

const schemaMessage = (error: unknown): string => Schema.isSchemaError(error) ? error.message : String(error)

const encodeWith = (
  plugin: string,
  hook: string,
  schema: Hook.HookSchema | undefined,
  value: unknown
): unknown | UnencodableValue => {
  if (schema === undefined) return value
  const exit = Schema.encodeUnknownExit(schema)(value)
  if (Exit.isSuccess(exit)) return exit.value
  const reason = exit.cause.reasons[0]
  return new UnencodableValue({
    plugin,
    hook,
    detail: `does not encode with the hook's schema: ${schemaMessage(reason?._tag === "Fail" ? reason.error : reason)}`
  })
}

/** The hook definition the current dispatch was made with, when there is one. */
const dispatchedHook = Effect.withFiber((fiber) =>
  Effect.succeed(Context.get(fiber.context, HookStack.CurrentHookFrame)?.hook)
)

/**
 * A handler that calls the plugin. Values are encoded with the dispatching hook's schemas on the way in, and a
 * filter's result is decoded with them on the way out: what a plugin returns is untrusted input.
 */
const filterHandler = (dispatcher: WasmDispatcher.WasmDispatcher, hook: string) =>
(
  value: unknown,
  ...args: Array<unknown>
): Effect.Effect<unknown, PluginCallError | ShortCircuit<unknown>> =>
  Effect.flatMap(dispatchedHook, (definition) => {
    const plugin = dispatcher.plugin
    const schemas = definition?.kind === "filter" ? definition.schemas : {}
    const encoded = encodeWith(plugin, hook, schemas.value, value)
    if (encoded instanceof UnencodableValue) return Effect.fail(encoded)
    const encodedArgs = encodeArgs(plugin, hook, schemas.args, args)
    if (encodedArgs instanceof UnencodableValue) return Effect.fail(encodedArgs)
    return Effect.flatMap(dispatcher.invokeFilter(hook, encoded, encodedArgs), (outcome): Effect.Effect<
      unknown,
      PluginCallError | ShortCircuit<unknown>
    > => {
      // No body (or the value sent back as is): the caller's own value, already of the right type.
      let result = outcome.value === encoded ? value : outcome.value
      if (schemas.value !== undefined && outcome.value !== encoded) {
        const decoded = Schema.decodeUnknownExit(schemas.value)(outcome.value)
        if (Exit.isFailure(decoded)) {
          const reason = decoded.cause.reasons[0]
          return Effect.fail(
            new BadPayload({
              plugin,
              hook,
              detail: `the result does not decode with the hook's schema: ${
                schemaMessage(reason?._tag === "Fail" ? reason.error : reason)
              }`
            })
          )
        }
        result = decoded.value
      }
      return outcome.shortCircuit ? Hook.shortCircuit(result) : Effect.succeed(result)
    })
  })

const actionHandler = (dispatcher: WasmDispatcher.WasmDispatcher, hook: string) =>
(
  ...args: Array<unknown>
): Effect.Effect<void, PluginCallError> =>
  Effect.flatMap(dispatchedHook, (definition) => {
    const encodedArgs = encodeArgs(dispatcher.plugin, hook, definition?.schemas.args, args)
    if (encodedArgs instanceof UnencodableValue) return Effect.fail(encodedArgs)
    return dispatcher.invokeAction(hook, encodedArgs)
  })

const encodeArgs = (
  plugin: string,
  hook: string,
  schemas: ReadonlyArray<Hook.HookSchema> | undefined,
  args: ReadonlyArray<unknown>
): ReadonlyArray<unknown> | UnencodableValue => {
  if (schemas === undefined || schemas.length === 0) return args
  const out: Array<unknown> = []
  for (let i = 0; i < args.length; i++) {
    const encoded = encodeWith(plugin, hook, schemas[i], args[i])
    if (encoded instanceof UnencodableValue) return encoded
    out.push(encoded)
  }
  return out
}

/** The source a manifest hook registers under. */
export const sourceOf = (manifest: Manifest.Manifest, hook: Manifest.ManifestHook): string =>
  hook.source ?? `plugin:${manifest.name}`

/** Registers every manifest hook of a loaded plugin on the bus, in the current scope. */
const registerHooks = (manifest: Manifest.Manifest, dispatcher: WasmDispatcher.WasmDispatcher) =>
  Effect.gen(function*() {
    const bus = yield* HookBus
    const registrations: Array<Registration> = []
    for (const hook of manifest.hooks) {
      const options = {
        source: sourceOf(manifest, hook),
        priority: hook.priority,
        before: hook.before,
        after: hook.after
      }
      registrations.push(
        hook.kind === "filter"
          ? yield* bus.addFilter(Hook.filter(hook.name), filterHandler(dispatcher, hook.name), options)
          : yield* bus.addAction(Hook.action(hook.name), actionHandler(dispatcher, hook.name), {
            ...options,
            mode: hook.mode
          })
      )
    }
    return registrations
  })

/**
 * Loads a plugin from its bytes and a manifest (an object; its `wasm` field is not needed) and registers its hooks
 * on the bus. Closing the scope removes every registration, then releases the instance. Atomic: when any step
 * fails, nothing stays registered.
 *
 * @example
 * const handle = yield* Plugin.fromBytes(bytes, { abi: 1, name: "uppercase", version: "1.0.0",
 *   hooks: [{ name: "the_content", kind: "filter" }] })
 */
export const fromBytes = (
  bytes: Uint8Array,
  manifestInput: unknown,
  options: PluginOptions = {}
): Effect.Effect<PluginHandle, LoadError, HookBus | Scope.Scope> =>
  Effect.gen(function*() {
    const manifest = yield* Manifest.decode(manifestInput, "manifest")
    if (manifest.wasm?.sha256 !== undefined) {
      const actual = yield* sha256(bytes)
      if (actual !== manifest.wasm.sha256) {
        return yield* new IntegrityMismatch({ plugin: manifest.name, expected: manifest.wasm.sha256, actual })
      }
    }
    const parent = yield* Scope.Scope
    const scope = yield* Scope.fork(parent)
    return yield* Effect.gen(function*() {
      const dispatcher = yield* WasmDispatcher.make(bytes, {
        name: manifest.name,
        limits: { ...manifest.limits, ...options.limits }
      })
      const registrations = yield* registerHooks(manifest, dispatcher)
      return { name: manifest.name, version: manifest.version, manifest, dispatcher, registrations }
    }).pipe(
      Scope.provide(scope),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
  })

/**
 * Loads the plugin in `dir`: reads `dir/plugin.json`, then the module it names (which must stay inside `dir`).
 *
 * @example
 * const seo = yield* Plugin.load("plugins/seo")
 */
export const load = (
  dir: string,
  options: PluginOptions = {}
): Effect.Effect<PluginHandle, LoadError, HookBus | Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const { bytes, manifest } = yield* readPluginDir(dir)
    return yield* fromBytes(bytes, manifest, options)
  })

/** Reads a plugin folder: its decoded manifest and its module's bytes. */
export const readPluginDir = (
  dir: string
): Effect.Effect<
  { readonly manifest: Manifest.Manifest; readonly bytes: Uint8Array },
  ManifestInvalid | PluginNotFound,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const manifestPath = path.join(dir, "plugin.json")
    const text = yield* fs.readFileString(manifestPath).pipe(
      Effect.mapError((error) => new PluginNotFound({ path: manifestPath, reason: error.message }))
    )
    const manifest = yield* Manifest.parse(text, manifestPath)
    if (manifest.wasm === undefined) {
      return yield* new ManifestInvalid({
        source: manifestPath,
        problems: [{ path: "wasm", message: "required when loading from a folder" }]
      })
    }
    const root = path.resolve(dir)
    const wasmPath = path.resolve(root, manifest.wasm.path)
    if (path.relative(root, wasmPath).startsWith("..")) {
      return yield* new ManifestInvalid({
        source: manifestPath,
        problems: [{ path: "wasm.path", message: "must stay inside the plugin folder" }]
      })
    }
    const bytes = yield* fs.readFile(wasmPath).pipe(
      Effect.mapError((error) => new PluginNotFound({ path: wasmPath, reason: error.message }))
    )
    return { manifest, bytes }
  })
