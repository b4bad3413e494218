/**
 * A loaded plugin's lifecycle: its registrations on the bus (bindings), the versions they route to, and reload,
 * which loads a new version beside the old one and switches every binding in one synchronous step.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { Registration } from "../../domain/Handler.ts"
import * as Hook from "../../domain/Hook.ts"
import type { RegistrationRejected } from "../../domain/HookErrors.ts"
import type { InvalidOptions } from "../../domain/InvalidOptions.ts"
import type * as Manifest from "../../domain/Manifest.ts"
import { ManifestInvalid, type PluginLoadError } from "../../domain/PluginErrors.ts"
import { HookBus } from "../../services/HookBus.ts"
import type { PluginHandle, PluginOptions } from "../Plugin.ts"
import type * as PluginInstance from "../PluginInstance.ts"
import * as Codec from "./Codec.ts"
import { loadVersion, release, type Version } from "./Loader.ts"

/** The key a `PluginHandle` carries. */
export const TypeId = "~hookbus/PluginHandle" as const

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

/**
 * The mutable state behind a `PluginHandle`. Registrations live in `registrationScope`, a scope of the plugin's own
 * that outlives every version (reload keeps a registration that did not change, so it must not belong to the
 * version it was made for); versions live in scopes of their own. When the caller's scope closes, registrations
 * are removed first, then every version still open is released.
 */
export class LoadedPlugin implements PluginHandle {
  readonly [TypeId] = TypeId
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
  get instance(): PluginInstance.PluginInstance {
    return this.current.instance
  }
  get dispatcher(): PluginInstance.PluginInstance {
    return this.current.instance
  }
  get registrations(): ReadonlyArray<Registration> {
    return this.bindings.flatMap((b) => b.version !== undefined && b.registration !== undefined ? [b.registration] : [])
  }
}

/** The state behind a handle; a handle this module did not make is a defect (it cannot be reloaded). */
export const stateOf = (handle: PluginHandle): Effect.Effect<LoadedPlugin> =>
  handle instanceof LoadedPlugin
    ? Effect.succeed(handle)
    : Effect.die(new TypeError("not a PluginHandle returned by Plugin.load or Plugin.fromBytes"))

/** Runs a call on the binding's version, counting it in flight so a retired version is released only after it. */
const onVersion = <A, E>(
  binding: Binding,
  call: (instance: PluginInstance.PluginInstance) => Effect.Effect<A, E>,
  passThrough: Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    const version = binding.version
    if (version === undefined) return passThrough
    version.inFlight++
    return Effect.ensuring(
      call(version.instance),
      Effect.suspend(() => {
        version.inFlight--
        return version.retired && version.inFlight === 0 ? release(version) : Effect.void
      })
    )
  })

/** Adds the binding's handler to the bus, under the plugin's source and the manifest hook's options. */
const registerBinding = (binding: Binding, manifest: Manifest.Manifest) =>
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
            (instance) => Codec.filterHandler(instance, hook.name, value, args),
            Effect.succeed(value) as Effect.Effect<unknown, never>
          ),
        options
      )
      : yield* bus.addAction(
        Hook.action(hook.name),
        (...args) => onVersion(binding, (instance) => Codec.actionHandler(instance, hook.name, args), Effect.void),
        { ...options, mode: hook.mode }
      )
  })

/**
 * Loads the first version and registers its hooks in the caller's scope. Atomic: when any step fails, nothing
 * stays registered.
 */
export const attach = (
  bytes: Uint8Array,
  manifestInput: unknown,
  options: PluginOptions,
  folder?: string | undefined
): Effect.Effect<LoadedPlugin, PluginLoadError | RegistrationRejected | InvalidOptions, HookBus | Scope.Scope> =>
  Effect.gen(function*() {
    const parent = yield* Scope.Scope
    const version = yield* loadVersion(bytes, manifestInput, options, folder)
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
      return registerBinding(binding, version.manifest)
    }, { discard: true }).pipe(
      Scope.provide(registrationScope),
      Effect.onError((cause) => closeAll(Exit.failCause(cause)))
    )
    return plugin
  })

/**
 * Loads a new version beside the serving one and switches every binding to it in one synchronous step. Calls in
 * flight finish on the old version, which is released after them. If the new version fails to load, the old one
 * keeps serving.
 */
export const replace = (
  plugin: LoadedPlugin,
  bytes: Uint8Array,
  manifestInput: unknown,
  folder?: string | undefined
): Effect.Effect<void, PluginLoadError | RegistrationRejected | InvalidOptions, HookBus> =>
  Effect.gen(function*() {
    const next = yield* loadVersion(bytes, manifestInput, plugin.options, folder)
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
    yield* Effect.forEach(fresh, (binding) => registerBinding(binding, next.manifest), { discard: true }).pipe(
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
  })
