/**
 * Loading one version of a plugin: decode the manifest, resolve its limits under the host's ceilings, check the
 * module's integrity, its declared capabilities and the host's `PluginPolicy`, then start its instances in a scope
 * of its own.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { InvalidOptions } from "../../domain/InvalidOptions.ts"
import * as Manifest from "../../domain/Manifest.ts"
import {
  CapabilityDenied,
  IntegrityMismatch,
  ManifestInvalid,
  PluginFileRejected,
  type PluginLoadError
} from "../../domain/PluginErrors.ts"
import { PluginPolicy } from "../../services/PluginPolicy.ts"
import * as Abi from "../Abi.ts"
import * as Limits from "../Limits.ts"
import type { PluginOptions } from "../Plugin.ts"
import * as PluginInstance from "../PluginInstance.ts"
import * as WasmBinary from "../WasmBinary.ts"

/** One loaded version of a plugin: its instance, the scope that owns it, and its calls in flight. */
export interface Version {
  readonly manifest: Manifest.Manifest
  /** The module's SHA-256, hex. */
  readonly sha256: string
  readonly instance: PluginInstance.PluginInstance
  readonly scope: Scope.Closeable
  inFlight: number
  retired: boolean
  released: boolean
}

const sha256 = (bytes: Uint8Array): Effect.Effect<string> =>
  Effect.promise(async () => {
    const { createHash } = await import("node:crypto")
    return createHash("sha256").update(bytes).digest("hex")
  })

/**
 * Checks the module's imports against the manifest's `capabilities` (when declared), then the manifest and module
 * against the host's `PluginPolicy` (when one is provided).
 */
const checkPolicy = (manifest: Manifest.Manifest, bytes: Uint8Array, options: PluginOptions) =>
  Effect.gen(function*() {
    const imports = yield* Effect.try(() => WasmBinary.read(bytes).imports).pipe(
      // Not a readable module: PluginInstance.make reports that precisely.
      Effect.orElseSucceed((): ReadonlyArray<WasmBinary.Import> => [])
    )
    const used = imports.filter((i) => i.module === "env").map((i) => i.name)
    // Host functions the module imports and the host provides (one it does not provide is an UnknownImport later).
    const provided = new Set((options.hostFunctions ?? []).map((f) => f.name))
    const functions = imports.filter((i) => i.module === Abi.hostFunctionModule && provided.has(i.name))
      .map((i) => i.name)
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
    if (policy._tag === "None") {
      // A preopened directory needs a policy that allows it; without one, nothing may be preopened.
      if (manifest.wasi?.preopen !== undefined) {
        return yield* new CapabilityDenied({ plugin: manifest.name, hooks: [], imports: [], wasi: ["preopen"] })
      }
      return
    }
    const hooks = policy.value.deniedHooks(manifest.name, manifest.hooks.map((h) => h.name))
    const deniedImports = policy.value.deniedImports(manifest.name, used)
    const hostFunctions = policy.value.deniedHostFunctions?.(manifest.name, functions) ?? functions
    const registrations = policy.value.deniedRegistrations?.(manifest.name, manifest.hooks) ?? []
    const requested = [
      ...(["clock", "random"] as const).filter((grant) => manifest.wasi?.[grant] === true),
      ...(manifest.wasi?.preopen === undefined ? [] : ["preopen" as const])
    ]
    const wasi = [
      ...(policy.value.deniedWasi?.(manifest.name, requested) ?? []),
      // A directory is never granted by default: the policy must list "preopen" for the plugin.
      ...(requested.includes("preopen") && policy.value.options.allowWasi === undefined ? ["preopen"] : [])
    ]
    if (
      hooks.length > 0 || deniedImports.length > 0 || registrations.length > 0 || wasi.length > 0 ||
      hostFunctions.length > 0
    ) {
      return yield* new CapabilityDenied({
        plugin: manifest.name,
        hooks,
        imports: deniedImports,
        ...(registrations.length > 0 ? { registrations } : {}),
        ...(wasi.length > 0 ? { wasi } : {}),
        ...(hostFunctions.length > 0 ? { hostFunctions } : {})
      })
    }
  })

/**
 * The manifest's `wasi.preopen` resolved inside the plugin folder: an existing directory whose real path (every
 * symlink resolved) stays inside the folder's. Loading from bytes has no folder, so nothing can be preopened.
 */
const preopenOf = (plugin: string, relative: string, folder: string | undefined) =>
  Effect.gen(function*() {
    const invalid = (message: string) =>
      new ManifestInvalid({ source: plugin, problems: [{ path: "wasi.preopen", message }] })
    if (folder === undefined) return yield* invalid("a preopened directory needs Plugin.load (a plugin folder)")
    const { realpathSync, statSync } = yield* Effect.promise(() => import("node:fs"))
    const { join, sep } = yield* Effect.promise(() => import("node:path"))
    const resolved = yield* Effect.try({
      try: () => ({ root: realpathSync(folder), host: realpathSync(join(folder, relative)) }),
      catch: () => invalid(`no directory "${relative}" in the plugin folder`)
    })
    if (resolved.host !== resolved.root && !resolved.host.startsWith(resolved.root + sep)) {
      return yield* new PluginFileRejected({
        path: join(folder, relative),
        rule: "outside_folder",
        detail: `resolves to ${resolved.host}, outside the plugin folder`
      })
    }
    if (!statSync(resolved.host).isDirectory()) return yield* invalid(`"${relative}" is not a directory`)
    return { guest: relative.replace(/[/\\]+$/, ""), host: resolved.host }
  })

/** Decodes and checks a manifest, checks integrity, limits and policy, and loads the module in a scope of its own. */
export const loadVersion = (
  bytes: Uint8Array,
  manifestInput: unknown,
  options: PluginOptions,
  folder?: string | undefined
): Effect.Effect<Version, PluginLoadError | InvalidOptions> =>
  Effect.gen(function*() {
    const manifest = yield* Manifest.decode(manifestInput, "manifest")
    const limits = Limits.resolve(manifest.name, manifest.limits, options.limits)
    if (limits instanceof Error) return yield* limits
    // Always hashed: `Plugin.status` reports it (the integrity an inspector shows), and the manifest may pin it.
    const actual = yield* sha256(bytes)
    if (manifest.wasm?.sha256 !== undefined) {
      if (actual !== manifest.wasm.sha256) {
        return yield* new IntegrityMismatch({ plugin: manifest.name, expected: manifest.wasm.sha256, actual })
      }
    }
    yield* checkPolicy(manifest, bytes, options)
    const preopen = manifest.wasi?.preopen === undefined
      ? undefined
      : yield* preopenOf(manifest.name, manifest.wasi.preopen, folder)
    const scope = yield* Scope.make()
    const instance = yield* PluginInstance.make(bytes, {
      name: manifest.name,
      limits,
      execution: options.execution,
      pool: options.pool,
      breaker: options.breaker,
      fuel: options.fuel,
      wasi: manifest.wasi === undefined ? undefined : { ...manifest.wasi, preopen },
      config: manifest.config,
      hostFunctions: options.hostFunctions
    }).pipe(
      Scope.provide(scope),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
    const version: Version = { manifest, sha256: actual, instance, scope, inFlight: 0, retired: false, released: false }
    return version
  })

/** Releases a version's instances (once). */
export const release = (version: Version): Effect.Effect<void> =>
  Effect.suspend(() => {
    version.released = true
    return Scope.close(version.scope, Exit.void)
  })
