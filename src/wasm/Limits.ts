/**
 * A plugin's effective limits: the host's limits are ceilings, and a manifest may ask for less, never more. Used by
 * `Plugin.load`/`fromBytes`, `hookbus run`/`list`/`demo`, `hookbus inspect` and `hookbus conformance`, so every path
 * applies the same ceilings.
 *
 * @since 0.1.0
 */
import type { ManifestLimits } from "../domain/Manifest.ts"
import { LimitAboveCeiling, type LimitRequest } from "../domain/PluginErrors.ts"
import * as Abi from "./Abi.ts"
import * as Fuel from "./Fuel.ts"
import { defaultMemoryPages, defaultTimeoutMs, type PluginLimits } from "./PluginInstance.ts"

/**
 * What a plugin gets when neither the manifest nor the host sets a limit.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Limits } from "hookbus/wasm"
 *
 * Limits.defaults.fuel // 50_000_000
 */
export const defaults = {
  memoryPages: defaultMemoryPages,
  fuel: Fuel.defaultBudget,
  timeoutMs: defaultTimeoutMs,
  maxPayloadBytes: Abi.defaultMaxPayloadBytes
} as const

/**
 * The most a manifest may ask for when the host sets no limit: the defaults, except fuel, where a manifest may ask
 * for up to 10 times the default budget (500 million units, about 1.75 s of CPU per call) for heavy text work.
 * A host that sets `limits.fuel` makes that its ceiling.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Limits } from "hookbus/wasm"
 *
 * Limits.defaultCeilings.fuel // 500_000_000: without a host value, a manifest may ask up to this
 */
export const defaultCeilings = { ...defaults, fuel: 10 * Fuel.defaultBudget } as const

const fields = ["memoryPages", "fuel", "timeoutMs", "maxPayloadBytes"] as const

/**
 * Limits with every manifest-settable field decided.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Limits } from "hookbus/wasm"
 *
 * const resolved = Limits.resolve("seo", { fuel: 1_000_000 }, {})
 * if (!(resolved instanceof Error)) console.log(resolved.fuel, resolved.memoryPages) // 1000000 256
 */
export interface ResolvedLimits extends PluginLimits {
  readonly memoryPages: number
  readonly fuel: number
  readonly timeoutMs: number
  readonly maxPayloadBytes: number
}

/**
 * The limits a plugin runs under: for each field, the manifest's request when it is at or under the host's ceiling
 * (`host`, else `defaultCeilings`), the host's value (else the default) when the manifest is silent. A request over a ceiling fails with
 * `LimitAboveCeiling` listing each one; nothing is clamped silently. `maxResultBytes` is the host's alone.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Limits } from "hookbus/wasm"
 *
 * Limits.resolve("seo", { fuel: 1_000_000 }, {}) // { fuel: 1_000_000, memoryPages: 256, ... }
 * Limits.resolve("seo", { fuel: 9007199254740991 }, {}) // LimitAboveCeiling: limits.fuel ... over the ceiling
 */
export const resolve = (
  plugin: string,
  manifest: ManifestLimits | undefined,
  host: PluginLimits | undefined
): ResolvedLimits | LimitAboveCeiling => {
  const over: Array<LimitRequest> = []
  const out: Record<(typeof fields)[number], number> = { ...defaults }
  for (const field of fields) {
    const ceiling = host?.[field] ?? defaultCeilings[field]
    const requested = manifest?.[field]
    if (requested !== undefined && requested > ceiling) over.push({ limit: field, requested, ceiling })
    out[field] = requested ?? host?.[field] ?? defaults[field]
  }
  if (over.length > 0) return new LimitAboveCeiling({ plugin, limits: over })
  return { ...host, ...out }
}
