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
  type PluginLoadError
} from "../../domain/PluginErrors.ts"
import { PluginPolicy } from "../../services/PluginPolicy.ts"
import * as Limits from "../Limits.ts"
import type { PluginOptions } from "../Plugin.ts"
import * as PluginInstance from "../PluginInstance.ts"
import * as WasmBinary from "../WasmBinary.ts"

/** One loaded version of a plugin: its instance, the scope that owns it, and its calls in flight. */
export interface Version {
  readonly manifest: Manifest.Manifest
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
const checkPolicy = (manifest: Manifest.Manifest, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const used = yield* Effect.try(() => WasmBinary.read(bytes).imports).pipe(
      Effect.map((all) => all.filter((i) => i.module === "env").map((i) => i.name)),
      // Not a readable module: PluginInstance.make reports that precisely.
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
    const requested = (["clock", "random"] as const).filter((grant) => manifest.wasi?.[grant] === true)
    const wasi = policy.value.deniedWasi?.(manifest.name, requested) ?? []
    if (hooks.length > 0 || imports.length > 0 || registrations.length > 0 || wasi.length > 0) {
      return yield* new CapabilityDenied({
        plugin: manifest.name,
        hooks,
        imports,
        ...(registrations.length > 0 ? { registrations } : {}),
        ...(wasi.length > 0 ? { wasi } : {})
      })
    }
  })

/** Decodes and checks a manifest, checks integrity, limits and policy, and loads the module in a scope of its own. */
export const loadVersion = (
  bytes: Uint8Array,
  manifestInput: unknown,
  options: PluginOptions
): Effect.Effect<Version, PluginLoadError | InvalidOptions> =>
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
    const instance = yield* PluginInstance.make(bytes, {
      name: manifest.name,
      limits,
      execution: options.execution,
      pool: options.pool,
      breaker: options.breaker,
      fuel: options.fuel,
      wasi: manifest.wasi
    }).pipe(
      Scope.provide(scope),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
    const version: Version = { manifest, instance, scope, inFlight: 0, retired: false, released: false }
    return version
  })

/** Releases a version's instances (once). */
export const release = (version: Version): Effect.Effect<void> =>
  Effect.suspend(() => {
    version.released = true
    return Scope.close(version.scope, Exit.void)
  })
