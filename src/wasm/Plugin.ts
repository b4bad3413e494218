/**
 * The bridge from WebAssembly plugins into the hook bus: load a plugin (from a folder or from bytes and a
 * manifest) and register each of its manifest hooks as a handler, for the life of a scope.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as FileSystem from "effect/FileSystem"
import type * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type { Registration } from "../domain/Handler.ts"
import * as Hook from "../domain/Hook.ts"
import type { RegistrationRejected, ShortCircuit } from "../domain/HookErrors.ts"
import * as Manifest from "../domain/Manifest.ts"
import {
  BadPayload,
  CapabilityDenied,
  IntegrityMismatch,
  ManifestInvalid,
  type PluginCallError,
  type PluginLoadError,
  PluginSuspended,
  UnencodableValue
} from "../domain/PluginErrors.ts"
import { HookBus } from "../services/HookBus.ts"
import { PluginPolicy } from "../services/PluginPolicy.ts"
import * as Inspect from "./Inspect.ts"
import * as Limits from "./Limits.ts"
import * as Files from "./PluginFiles.ts"
import * as WasmBinary from "./WasmBinary.ts"
import * as WasmDispatcher from "./WasmDispatcher.ts"

/** A loaded plugin. Its fields follow `Plugin.reload`: they always describe the version now serving. */
export interface PluginHandle {
  readonly name: string
  readonly version: string
  readonly manifest: Manifest.Manifest
  readonly dispatcher: WasmDispatcher.WasmDispatcher
  readonly registrations: ReadonlyArray<Registration>
}

/** Host-side settings for a plugin, over its manifest's. */
export interface PluginOptions {
  /**
   * The host's ceilings, field by field (absent: the defaults). A manifest may ask for less, never more: a request
   * over a ceiling fails the load with `LimitAboveCeiling`.
   */
  readonly limits?: WasmDispatcher.PluginLimits | undefined
  /**
   * The largest `plugin.json` read from a folder (default 1 MiB); the module is read up to `limits.maxModuleBytes`.
   */
  readonly files?: { readonly maxManifestBytes?: number | undefined } | undefined
  readonly execution?: "inline" | "worker" | undefined
  readonly pool?: { readonly size?: number | undefined } | undefined
  readonly breaker?: WasmDispatcher.BreakerOptions | false | undefined
  /** Meter calls with fuel (default true). */
  readonly fuel?: boolean | undefined
}

/** The error of a load: a plugin error, or a registration the bus refused (every other registration is undone). */
export type LoadError = PluginLoadError | RegistrationRejected

/** What `Plugin.status` reports. */
export interface PluginStatusReport extends WasmDispatcher.PluginStatus {
  readonly version: string
  readonly hooks: ReadonlyArray<string>
  /** How many times the plugin was reloaded. */
  readonly reloads: number
}

const sha256 = (bytes: Uint8Array): Effect.Effect<string> =>
  Effect.promise(async () => {
    const { createHash } = await import("node:crypto")
    return createHash("sha256").update(bytes).digest("hex")
  })

/** What a failed encode or decode says: the schema error's message. */
const schemaFailure = (cause: Cause.Cause<unknown>): string => {
  const reason = cause.reasons[0]
  const error = reason?._tag === "Fail" ? reason.error : reason
  return Schema.isSchemaError(error) ? error.message : String(error)
}

const encodeWith = (
  plugin: string,
  hook: string,
  schema: Hook.HookSchema | undefined,
  value: unknown
): unknown | UnencodableValue => {
  if (schema === undefined) return value
  const exit = Schema.encodeUnknownExit(schema)(value)
  if (Exit.isSuccess(exit)) return exit.value
  return new UnencodableValue({
    plugin,
    hook,
    detail: `does not encode with the hook's schema: ${schemaFailure(exit.cause)}`
  })
}

/** The hook definition the current dispatch was made with, when there is one. */
const dispatchedHook = HookBus.currentHook

/**
 * A handler that calls the plugin. Values are encoded with the dispatching hook's schemas on the way in, and a
 * filter's result is decoded with them on the way out: what a plugin returns is untrusted input.
 */
const callFilter = (
  dispatcher: WasmDispatcher.WasmDispatcher,
  hook: string,
  value: unknown,
  args: ReadonlyArray<unknown>
): Effect.Effect<unknown, PluginCallError | ShortCircuit<unknown>> =>
  Effect.flatMap(dispatchedHook, (definition) => {
    const plugin = dispatcher.plugin
    const schemas = definition?.kind === "filter" ? definition.schemas : {}
    const encoded = encodeWith(plugin, hook, schemas.value, value)
    if (encoded instanceof UnencodableValue) return Effect.fail(encoded)
    const encodedArgs = encodeArgs(plugin, hook, schemas.args, args)
    if (encodedArgs instanceof UnencodableValue) return Effect.fail(encodedArgs)
    return Effect.flatMap(
      skipWhenSuspended(dispatcher.invokeFilter(hook, encoded, encodedArgs)),
      (outcome): Effect.Effect<
        unknown,
        PluginCallError | ShortCircuit<unknown>
      > => {
        // Suspended, no body, or the value sent back as is: the caller's own value, already of the right type.
        if (outcome === skipped) return Effect.succeed(value)
        let result = outcome.value === encoded ? value : outcome.value
        if (schemas.value !== undefined && outcome.value !== encoded) {
          const decoded = Schema.decodeUnknownExit(schemas.value)(outcome.value)
          if (Exit.isFailure(decoded)) {
            return Effect.fail(
              new BadPayload({
                plugin,
                hook,
                detail: `the result does not decode with the hook's schema: ${schemaFailure(decoded.cause)}`
              })
            )
          }
          result = decoded.value
        }
        return outcome.shortCircuit ? Hook.shortCircuit(result) : Effect.succeed(result)
      }
    )
  })

const callAction = (
  dispatcher: WasmDispatcher.WasmDispatcher,
  hook: string,
  args: ReadonlyArray<unknown>
): Effect.Effect<void, PluginCallError> =>
  Effect.flatMap(dispatchedHook, (definition) => {
    const encodedArgs = encodeArgs(dispatcher.plugin, hook, definition?.schemas.args, args)
    if (encodedArgs instanceof UnencodableValue) return Effect.fail(encodedArgs)
    return Effect.asVoid(skipWhenSuspended(dispatcher.invokeAction(hook, encodedArgs)))
  })

/** What a skipped call answers. */
const skipped: unique symbol = Symbol.for("hookbus/Plugin/skipped")

/**
 * A suspended plugin's handlers are skipped: the call answers `skipped` (a filter passes its value through) instead
 * of failing the dispatch. The dispatcher counts the refusal (`Plugin.status(...).rejected`); it is logged at debug
 * level, the breaker's opening at warning level.
 */
const skipWhenSuspended = <A>(
  call: Effect.Effect<A, PluginCallError>
): Effect.Effect<A | typeof skipped, PluginCallError> =>
  Effect.catchIf(call, (error): error is PluginSuspended => error instanceof PluginSuspended, (error) =>
    Effect.as(
      Effect.logDebug("plugin suspended: handler skipped").pipe(
        Effect.annotateLogs({ plugin: error.plugin, hook: error.hook, until: new Date(error.until).toISOString() })
      ),
      skipped
    ))

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

/** The source a plugin's hooks register under: always `plugin:<name>`, chosen by the host, never by the manifest. */
export const sourceOf = (manifest: Manifest.Manifest): string => `plugin:${manifest.name}`

/** Two manifest hooks register identically when everything the bus sees about them is equal. */
const bindingKey = (hook: Manifest.ManifestHook): string =>
  JSON.stringify([
    hook.kind,
    hook.name,
    hook.priority ?? 10,
    hook.before ?? [],
    hook.after ?? [],
    hook.mode ?? "sync"
  ])

/**
 * A registration's route to a plugin version. Reload points every binding at the new version in one synchronous
 * step; a binding with no version passes the value through untouched, as if it were not registered.
 */
interface Binding {
  readonly key: string
  readonly hook: Manifest.ManifestHook
  version: Version | undefined
  registration: Registration | undefined
}

/** One loaded version of a plugin: its dispatcher, the scope that owns it, and its calls in flight. */
interface Version {
  readonly manifest: Manifest.Manifest
  readonly dispatcher: WasmDispatcher.WasmDispatcher
  readonly scope: Scope.Closeable
  inFlight: number
  retired: boolean
  released: boolean
}

/**
 * The mutable state behind a `PluginHandle`. Registrations live in `registrations`, a scope of the plugin's own
 * that outlives every version (reload keeps a registration that did not change, so it must not belong to the
 * version it was made for); versions live in scopes of their own. When the caller's scope closes, registrations
 * are removed first, then every version still open is released.
 */
class LoadedPlugin implements PluginHandle {
  current: Version
  bindings: Array<Binding> = []
  reloads = 0
  readonly options: PluginOptions
  readonly registrationScope: Scope.Closeable
  readonly versions = new Set<Version>()
  constructor(current: Version, options: PluginOptions, registrationScope: Scope.Closeable) {
    this.current = current
    this.options = options
    this.registrationScope = registrationScope
    this.versions.add(current)
  }
  get name(): string {
    return this.current.manifest.name
  }
  get version(): string {
    return this.current.manifest.version
  }
  get manifest(): Manifest.Manifest {
    return this.current.manifest
  }
  get dispatcher(): WasmDispatcher.WasmDispatcher {
    return this.current.dispatcher
  }
  get registrations(): ReadonlyArray<Registration> {
    return this.bindings.flatMap((b) => b.version !== undefined && b.registration !== undefined ? [b.registration] : [])
  }
}

/** Runs a call on the binding's version, counting it in flight so a retired version is released only after it. */
const onVersion = <A, E>(
  binding: Binding,
  call: (dispatcher: WasmDispatcher.WasmDispatcher) => Effect.Effect<A, E>,
  passThrough: Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    const version = binding.version
    if (version === undefined) return passThrough
    version.inFlight++
    return Effect.ensuring(
      call(version.dispatcher),
      Effect.suspend(() => {
        version.inFlight--
        return version.retired && version.inFlight === 0 ? release(version) : Effect.void
      })
    )
  })

/** Releases a version's instances (once). */
const release = (version: Version): Effect.Effect<void> =>
  Effect.suspend(() => {
    version.released = true
    return Scope.close(version.scope, Exit.void)
  })

const register = (binding: Binding, manifest: Manifest.Manifest) =>
  Effect.gen(function*() {
    const bus = yield* HookBus
    const hook = binding.hook
    const options = {
      source: sourceOf(manifest),
      priority: hook.priority,
      before: hook.before,
      after: hook.after
    }
    binding.registration = hook.kind === "filter"
      ? yield* bus.addFilter(
        Hook.filter(hook.name),
        (value, ...args) =>
          onVersion(
            binding,
            (d) => callFilter(d, hook.name, value, args),
            Effect.succeed(value) as Effect.Effect<unknown, never>
          ),
        options
      )
      : yield* bus.addAction(
        Hook.action(hook.name),
        (...args) => onVersion(binding, (d) => callAction(d, hook.name, args), Effect.void),
        { ...options, mode: hook.mode }
      )
  })

/**
 * Checks the module's imports against the manifest's `capabilities` (when declared), then the manifest and module
 * against the host's `PluginPolicy` (when one is provided).
 */
const checkPolicy = (manifest: Manifest.Manifest, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const used = yield* Effect.try(() => WasmBinary.read(bytes).imports).pipe(
      Effect.map((all) => all.filter((i) => i.module === "env").map((i) => i.name)),
      // Not a readable module: WasmDispatcher.make reports that precisely.
      Effect.orElseSucceed((): ReadonlyArray<string> => [])
    )
    const declared = manifest.capabilities
    if (declared !== undefined) {
      const undeclared = [...new Set(used)].filter((name) => !(declared as ReadonlyArray<string>).includes(name))
      if (undeclared.length > 0) {
        return yield* new ManifestInvalid({
          source: manifest.name,
          problems: [{
            path: "capabilities",
            message: `the module imports ${undeclared.join(", ")}, not declared in capabilities`
          }]
        })
      }
    }
    const policy = yield* Effect.serviceOption(PluginPolicy)
    if (policy._tag === "None") return
    const hooks = policy.value.deniedHooks(manifest.name, manifest.hooks.map((h) => h.name))
    const imports = policy.value.deniedImports(manifest.name, used)
    const registrations = policy.value.deniedRegistrations?.(manifest.name, manifest.hooks) ?? []
    if (hooks.length > 0 || imports.length > 0 || registrations.length > 0) {
      return yield* new CapabilityDenied({
        plugin: manifest.name,
        hooks,
        imports,
        ...(registrations.length > 0 ? { registrations } : {})
      })
    }
  })

/** Decodes and checks a manifest, checks integrity, limits and policy, and loads the module in a scope of its own. */
const loadVersion = (bytes: Uint8Array, manifestInput: unknown, options: PluginOptions) =>
  Effect.gen(function*() {
    const manifest = yield* Manifest.decode(manifestInput, "manifest")
    const limits = Limits.resolve(manifest.name, manifest.limits, options.limits)
    if (limits instanceof Error) return yield* limits
    if (manifest.wasm?.sha256 !== undefined) {
      const actual = yield* sha256(bytes)
      if (actual !== manifest.wasm.sha256) {
        return yield* new IntegrityMismatch({ plugin: manifest.name, expected: manifest.wasm.sha256, actual })
      }
    }
    yield* checkPolicy(manifest, bytes)
    const scope = yield* Scope.make()
    const dispatcher = yield* WasmDispatcher.make(bytes, {
      name: manifest.name,
      limits,
      execution: options.execution,
      pool: options.pool,
      breaker: options.breaker,
      fuel: options.fuel
    }).pipe(
      Scope.provide(scope),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
    const version: Version = { manifest, dispatcher, scope, inFlight: 0, retired: false, released: false }
    return version
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
    const parent = yield* Scope.Scope
    const version = yield* loadVersion(bytes, manifestInput, options)
    const registrationScope = yield* Scope.make()
    const plugin = new LoadedPlugin(version, options, registrationScope)
    // Registrations go first, then every version still open (a retired one may still finish calls in flight).
    const closeAll = (exit: Exit.Exit<unknown, unknown>) =>
      Effect.andThen(
        Scope.close(registrationScope, exit),
        Effect.suspend(() => Effect.forEach(plugin.versions, release, { discard: true }))
      )
    yield* Scope.addFinalizerExit(parent, closeAll)
    yield* Effect.forEach(version.manifest.hooks, (hook) => {
      const binding: Binding = { key: bindingKey(hook), hook, version, registration: undefined }
      plugin.bindings.push(binding)
      return register(binding, version.manifest)
    }, { discard: true }).pipe(
      Scope.provide(registrationScope),
      Effect.onError((cause) => closeAll(Exit.failCause(cause)))
    )
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
 * @example
 * const seo = yield* Plugin.load("plugins/seo")
 */
export const load = (
  dir: string,
  options: PluginOptions = {}
): Effect.Effect<PluginHandle, LoadError, HookBus | Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const { bytes, manifest } = yield* readPluginDir(dir, fileLimits(options))
    return yield* fromBytes(bytes, manifest, options)
  })

/**
 * Replaces a loaded plugin with a new version, from a folder or from `{ bytes, manifest }`. The new version is
 * loaded beside the old one, then every registration switches in one step: each dispatch sees either the old
 * handlers or the new ones, never both or neither. Calls in flight finish on the old version, which is released
 * after them. If the new version fails to load, the old one keeps running and the error is returned.
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
    const plugin = handle as LoadedPlugin
    const { bytes, manifest } = typeof source === "string"
      ? yield* readPluginDir(source, fileLimits(plugin.options))
      : source
    const next = yield* loadVersion(bytes, manifest, plugin.options)
    const old = plugin.current
    if (next.manifest.name !== old.manifest.name) {
      yield* release(next)
      return yield* new ManifestInvalid({
        source: "reload",
        problems: [{ path: "name", message: `reload of "${old.manifest.name}" got plugin "${next.manifest.name}"` }]
      })
    }
    // Hooks the new version registers differently get new, dormant bindings (they pass values through until the
    // switch); hooks it registers identically keep their registration and only change target.
    const kept = new Map(plugin.bindings.map((b) => [b.key, b]))
    const fresh: Array<Binding> = []
    const nextBindings: Array<Binding> = []
    for (const hook of next.manifest.hooks) {
      const key = bindingKey(hook)
      const existing = kept.get(key)
      if (existing !== undefined) {
        kept.delete(key)
        nextBindings.push(existing)
      } else {
        const binding: Binding = { key, hook, version: undefined, registration: undefined }
        fresh.push(binding)
        nextBindings.push(binding)
      }
    }
    // Registered dormant: `version` is only set at the switch.
    yield* Effect.forEach(fresh, (binding) => register(binding, next.manifest), { discard: true }).pipe(
      Scope.provide(plugin.registrationScope),
      Effect.onError((cause) =>
        Effect.andThen(
          Effect.forEach(fresh, (b) => b.registration?.remove ?? Effect.void, { discard: true }),
          Scope.close(next.scope, Exit.failCause(cause))
        )
      )
    )
    // The switch: one synchronous step.
    yield* Effect.sync(() => {
      for (const binding of nextBindings) binding.version = next
      for (const binding of kept.values()) binding.version = undefined
      plugin.bindings = nextBindings
      plugin.current = next
      for (const version of plugin.versions) if (version.released) plugin.versions.delete(version)
      plugin.versions.add(next)
      plugin.reloads++
    })
    yield* Effect.forEach(kept.values(), (binding) => binding.registration?.remove ?? Effect.void, { discard: true })
    old.retired = true
    if (old.inFlight === 0) yield* release(old)
    yield* Effect.annotateCurrentSpan({ "plugin.name": plugin.name, "plugin.version": plugin.version })
    return plugin as PluginHandle
  }).pipe(Effect.withSpan("hookbus.plugin.reload", undefined, { captureStackTrace: false }))
}

/** The plugin's breaker, pool and fuel figures, and its version. */
export const status = (handle: PluginHandle): Effect.Effect<PluginStatusReport> =>
  Effect.map(handle.dispatcher.status, (s) => ({
    ...s,
    version: handle.version,
    hooks: handle.manifest.hooks.map((h) => h.name),
    reloads: (handle as LoadedPlugin).reloads
  }))

/** A plugin folder's decoded manifest and module bytes. */
export type PluginFiles = Files.PluginFiles

/** Why a plugin folder could not be read. */
export type ReadError = Files.ReadError

/**
 * Reads a plugin folder: its decoded manifest and its module's bytes. Every file must resolve inside the folder,
 * be a regular file and stay under its size cap (see `PluginFiles`).
 *
 * @example
 * const { manifest, bytes } = yield* Plugin.readPluginDir("plugins/seo")
 */
export const readPluginDir = Files.readPluginDir

/**
 * Checks a plugin folder or a `.wasm` file against the ABI and its manifest (see `Inspect`). Never fails: problems
 * are failed checks in the report.
 */
export const inspect = Inspect.inspect
