/**
 * The host's capability policy for plugins: which hooks each plugin (or every plugin) may subscribe to, which host
 * imports it may use, which priorities it may register at, and which sources its ordering constraints may name.
 * Without a `PluginPolicy` in context, a plugin gets everything its manifest declares.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/**
 * Per plugin name, or `"*"` for every plugin: the names allowed.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Allowlist } from "hookbus/wasm"
 *
 * const hooks: Allowlist = { seo: ["the_content", "the_title"], "*": ["init"] }
 */
export type Allowlist = Readonly<Record<string, ReadonlyArray<string>>>

/**
 * Which sources a plugin's `before`/`after` constraints may name.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { PluginPolicy, type OrderingRule } from "hookbus/wasm"
 *
 * const ordering: OrderingRule = "none"
 * const Policy = PluginPolicy.layer({ allowHooks: { "*": ["the_content"] }, ordering })
 */
export type OrderingRule =
  /** Only other plugins' sources (`plugin:*`): a plugin cannot place itself around the host's handlers. */
  | "plugins"
  /** No ordering constraints at all. */
  | "none"
  /** Any source, the host's included. */
  | "any"

/**
 * The policy's settings.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { PluginPolicy, type PluginPolicyOptions } from "hookbus/wasm"
 *
 * const options: PluginPolicyOptions = {
 *   allowHooks: { seo: ["the_content"] },
 *   allowImports: { "*": ["gn_log"] },
 *   priority: { min: 0, max: 100 },
 *   ordering: "plugins"
 * }
 * const Policy = PluginPolicy.layer(options)
 */
export interface PluginPolicyOptions {
  /** Hook names each plugin may subscribe to; a plugin is allowed its own entry plus `"*"`. */
  readonly allowHooks: Allowlist
  /**
   * Host imports (`gn_log`, `gn_time_ms`, `gn_config_get`) each plugin may use; absent: all of them. `gn_panic` is always allowed:
   * a guest may always fail, and refusing it would only turn a clear panic into an `unreachable` trap.
   */
  readonly allowImports?: Allowlist | undefined
  /** The priorities a plugin's hooks may register at, inclusive (absent: any finite priority). */
  readonly priority?: { readonly min?: number | undefined; readonly max?: number | undefined } | undefined
  /** Which sources `before`/`after` may name (default `"plugins"`). */
  readonly ordering?: OrderingRule | undefined
  /**
   * WASI grants (`clock`, `random`) each plugin may have; absent: whatever its manifest asks. stdout/stderr come
   * with any `wasi` field and need no entry.
   */
  readonly allowWasi?: Allowlist | undefined
  /**
   * Host functions (`Plugin.load(dir, { hostFunctions })`) each plugin may import; absent: none. A host function
   * is the host's own service, so under a policy each plugin is granted it by name.
   */
  readonly allowHostFunctions?: Allowlist | undefined
}

/**
 * What the policy sees of one manifest hook.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { PluginPolicy, type HookRequest } from "hookbus/wasm"
 *
 * const request: HookRequest = { name: "the_content", priority: 500 }
 * PluginPolicy.make({ allowHooks: {}, priority: { max: 100 } }).deniedRegistrations?.("seo", [request])
 * // ['hooks[0] ("the_content") priority 500 outside -Infinity..100']
 */
export interface HookRequest {
  readonly name: string
  readonly priority?: number | undefined
  readonly before?: ReadonlyArray<string> | undefined
  readonly after?: ReadonlyArray<string> | undefined
}

/**
 * What the policy says about one plugin.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { PluginPolicy, type PluginPolicyShape } from "hookbus/wasm"
 *
 * const policy: PluginPolicyShape = PluginPolicy.make({ allowHooks: { seo: ["the_content"] } })
 * policy.deniedHooks("seo", ["the_content", "init"]) // ["init"]
 */
export interface PluginPolicyShape {
  readonly options: PluginPolicyOptions
  /** The hooks of `hooks` the plugin may not subscribe to. */
  readonly deniedHooks: (plugin: string, hooks: ReadonlyArray<string>) => ReadonlyArray<string>
  /** The imports of `imports` the plugin may not use. */
  readonly deniedImports: (plugin: string, imports: ReadonlyArray<string>) => ReadonlyArray<string>
  /** Each registration outside the policy (a priority out of range, a constraint on a forbidden source), described. */
  readonly deniedRegistrations?:
    | ((plugin: string, hooks: ReadonlyArray<HookRequest>) => ReadonlyArray<string>)
    | undefined
  /** The WASI grants of `requested` (`clock`, `random`) the plugin may not have. */
  readonly deniedWasi?: ((plugin: string, requested: ReadonlyArray<string>) => ReadonlyArray<string>) | undefined
  /** The host functions of `imported` the plugin may not call (absent: none may be). */
  readonly deniedHostFunctions?:
    | ((plugin: string, imported: ReadonlyArray<string>) => ReadonlyArray<string>)
    | undefined
}

/**
 * The host import every plugin may use, whatever the policy says.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { alwaysAllowedImports, PluginPolicy } from "hookbus/wasm"
 *
 * PluginPolicy.make({ allowHooks: {}, allowImports: {} }).deniedImports("seo", alwaysAllowedImports) // []
 */
export const alwaysAllowedImports: ReadonlyArray<string> = ["gn_panic"]

// Own keys only: a plugin named "constructor" must not find Object.prototype's.
const entry = (list: Allowlist, key: string): ReadonlyArray<string> => Object.hasOwn(list, key) ? list[key] : []

const allowed = (list: Allowlist, plugin: string): ReadonlySet<string> =>
  new Set([...entry(list, plugin), ...entry(list, "*")])

const deniedRegistrations = (options: PluginPolicyOptions) => {
  const min = options.priority?.min ?? -Infinity
  const max = options.priority?.max ?? Infinity
  const ordering = options.ordering ?? "plugins"
  return (_plugin: string, hooks: ReadonlyArray<HookRequest>): ReadonlyArray<string> =>
    hooks.flatMap((hook, i) => {
      const out: Array<string> = []
      const priority = hook.priority ?? 10
      if (!(priority >= min && priority <= max)) {
        out.push(`hooks[${i}] ("${hook.name}") priority ${priority} outside ${min}..${max}`)
      }
      for (const [field, sources] of [["before", hook.before], ["after", hook.after]] as const) {
        for (const source of sources ?? []) {
          if (ordering === "none" || (ordering === "plugins" && !source.startsWith("plugin:"))) {
            out.push(
              `hooks[${i}] ("${hook.name}") ${field} "${source}": ${
                ordering === "none" ? "no ordering constraints allowed" : "only plugin:* sources may be named"
              }`
            )
          }
        }
      }
      return out
    })
}

/**
 * The capability policy.
 *
 * @since 0.1.0
 * @category services
 * @example
 * import { Effect } from "effect"
 * import { HookBus } from "hookbus"
 * import { Plugin, PluginPolicy } from "hookbus/wasm"
 *
 * const Policy = PluginPolicy.layer({
 *   allowHooks: { seo: ["the_content"], "*": ["init"] },
 *   allowImports: { "*": ["gn_log"] },
 *   priority: { min: 0, max: 100 }
 * })
 * const program = Plugin.load("plugins/seo").pipe(Effect.provide(Policy), Effect.provide(HookBus.layer))
 */
export class PluginPolicy extends Context.Service<PluginPolicy, PluginPolicyShape>()("hookbus/PluginPolicy") {
  static readonly make = (options: PluginPolicyOptions): PluginPolicyShape => ({
    options,
    deniedHooks: (plugin, hooks) => {
      const ok = allowed(options.allowHooks, plugin)
      return [...new Set(hooks)].filter((hook) => !ok.has(hook))
    },
    deniedImports: (plugin, imports) => {
      if (options.allowImports === undefined) return []
      const ok = allowed(options.allowImports, plugin)
      return [...new Set(imports)].filter((name) => !ok.has(name) && !alwaysAllowedImports.includes(name))
    },
    deniedRegistrations: deniedRegistrations(options),
    deniedWasi: (plugin, requested) => {
      if (options.allowWasi === undefined) return []
      const ok = allowed(options.allowWasi, plugin)
      return [...new Set(requested)].filter((grant) => !ok.has(grant))
    },
    deniedHostFunctions: (plugin, imported) => {
      const ok = allowed(options.allowHostFunctions ?? {}, plugin)
      return [...new Set(imported)].filter((name) => !ok.has(name))
    }
  })

  /** A layer with the given policy. */
  static readonly layer = (options: PluginPolicyOptions): Layer.Layer<PluginPolicy> =>
    Layer.succeed(PluginPolicy, PluginPolicy.make(options))
}
