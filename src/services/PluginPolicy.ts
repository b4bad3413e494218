/**
 * The host's capability policy for plugins: which hooks each plugin (or every plugin) may subscribe to, and which
 * host imports it may use. Without a `PluginPolicy` in context, a plugin gets everything its manifest declares.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/** Per plugin name, or `"*"` for every plugin: the names allowed. */
export type Allowlist = Readonly<Record<string, ReadonlyArray<string>>>

/** The policy's settings. */
export interface PluginPolicyOptions {
  /** Hook names each plugin may subscribe to; a plugin is allowed its own entry plus `"*"`. */
  readonly allowHooks: Allowlist
  /** Host imports (`gn_log`, `gn_panic`, `gn_time_ms`) each plugin may use; absent: all three. */
  readonly allowImports?: Allowlist | undefined
}

/** What the policy says about one plugin. */
export interface PluginPolicyShape {
  readonly options: PluginPolicyOptions
  /** The hooks of `hooks` the plugin may not subscribe to. */
  readonly deniedHooks: (plugin: string, hooks: ReadonlyArray<string>) => ReadonlyArray<string>
  /** The imports of `imports` the plugin may not use. */
  readonly deniedImports: (plugin: string, imports: ReadonlyArray<string>) => ReadonlyArray<string>
}

const allowed = (list: Allowlist, plugin: string): ReadonlySet<string> =>
  new Set([...(list[plugin] ?? []), ...(list["*"] ?? [])])

/**
 * The capability policy.
 *
 * @example
 * const Policy = PluginPolicy.layer({ allowHooks: { seo: ["the_content"], "*": ["init"] }, allowImports: { "*": ["gn_log"] } })
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
      return [...new Set(imports)].filter((name) => !ok.has(name))
    }
  })

  /** A layer with the given policy. */
  static readonly layer = (options: PluginPolicyOptions): Layer.Layer<PluginPolicy> =>
    Layer.succeed(PluginPolicy, PluginPolicy.make(options))
}
