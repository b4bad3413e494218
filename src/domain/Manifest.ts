/**
 * `plugin.json`: what a plugin is, which hooks it handles, and the limits it runs under. Decoded with
 * `effect/Schema`; a bad manifest fails with `ManifestInvalid` listing every problem with its JSON path.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { errorMessage } from "./errorMessage.ts"
import * as HookName from "./HookName.ts"
import { ManifestInvalid, type ManifestProblem } from "./PluginErrors.ts"

const withMessage = <T>(predicate: (t: T) => string | undefined) => Schema.makeFilter<T>((t) => predicate(t) ?? true)

/**
 * A plugin name: lowercase letters, digits and dashes, starting with a letter, 2 to 64 characters.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import { Schema } from "effect"
 * import { Manifest } from "hookbus/wasm"
 *
 * Schema.is(Manifest.PluginName)("seo-tools") // true
 * Schema.is(Manifest.PluginName)("SEO") // false
 */
export const PluginName = Schema.String.check(
  withMessage((s) =>
    /^[a-z][a-z0-9-]{1,63}$/.test(s) ? undefined : `expected a plugin name matching ^[a-z][a-z0-9-]{1,63}$`
  )
)

const semver =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/

/**
 * A semantic version such as `1.2.3` or `1.0.0-beta.1`.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import { Schema } from "effect"
 * import { Manifest } from "hookbus/wasm"
 *
 * Schema.is(Manifest.SemVer)("1.0.0-beta.1") // true
 */
export const SemVer = Schema.String.check(
  withMessage((s) => semver.test(s) ? undefined : `expected a semantic version (MAJOR.MINOR.PATCH), got "${s}"`)
)

/**
 * A hook name (non-empty, at most 256 UTF-8 bytes).
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import { Schema } from "effect"
 * import { Manifest } from "hookbus/wasm"
 *
 * Schema.is(Manifest.HookNameSchema)("the_content") // true
 */
export const HookNameSchema = Schema.String.check(withMessage((s) => HookName.problem(s)))

/**
 * A path relative to the plugin folder that stays inside it.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import { Schema } from "effect"
 * import { Manifest } from "hookbus/wasm"
 *
 * Schema.is(Manifest.RelativePath)("build/plugin.wasm") // true
 * Schema.is(Manifest.RelativePath)("../elsewhere.wasm") // false
 */
export const RelativePath = Schema.String.check(
  withMessage((s) => {
    if (s.length === 0) return "expected a non-empty path"
    if (s.startsWith("/") || s.startsWith("\\") || /^[A-Za-z]:/.test(s)) return "must be relative to the plugin folder"
    if (s.split(/[/\\]/).includes("..")) return "must stay inside the plugin folder (no ..)"
    return undefined
  })
)

const Sha256 = Schema.String.check(
  withMessage((s) => /^[0-9a-f]{64}$/.test(s) ? undefined : "expected 64 lowercase hex digits")
)

const Source = Schema.NonEmptyString

const positiveInt = (max: number) =>
  Schema.Number.check(
    withMessage((n) => Number.isInteger(n) && n >= 1 && n <= max ? undefined : `expected an integer from 1 to ${max}`)
  )

/**
 * The source is the host's to choose: a plugin's hooks always register as `plugin:<name>`, so a manifest cannot
 * claim a host source (`core`) or another plugin's, and `removeSource("plugin:<name>")` removes exactly the plugin.
 */
const HostChosenSource = Schema.Never.annotate({
  message: "a plugin's source is chosen by the host (always \"plugin:<name>\"); remove this field"
})

/**
 * One hook a plugin handles.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import type { Manifest } from "hookbus/wasm"
 *
 * const hook: Manifest.ManifestHook = { name: "post.saved", kind: "action", mode: "async", priority: 20 }
 */
export const ManifestHook = Schema.Struct({
  name: HookNameSchema,
  kind: Schema.Literals(["action", "filter"]),
  priority: Schema.optionalKey(Schema.Finite),
  source: Schema.optionalKey(HostChosenSource),
  before: Schema.optionalKey(Schema.Array(Source)),
  after: Schema.optionalKey(Schema.Array(Source)),
  mode: Schema.optionalKey(Schema.Literals(["sync", "async"]))
}).check(
  withMessage((h) => h.kind === "filter" && h.mode === "async" ? "mode \"async\" is for actions only" : undefined)
)
export type ManifestHook = typeof ManifestHook.Type

/**
 * Resource limits (enforced by the sandbox).
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import type { Manifest } from "hookbus/wasm"
 *
 * const limits: Manifest.ManifestLimits = { fuel: 5_000_000, memoryPages: 32 }
 */
export const ManifestLimits = Schema.Struct({
  /** Memory cap in 64 KiB pages. */
  memoryPages: Schema.optionalKey(positiveInt(65_536)),
  /** Instruction budget per call. */
  fuel: Schema.optionalKey(positiveInt(Number.MAX_SAFE_INTEGER)),
  /** Wall-clock limit per call in worker mode. */
  timeoutMs: Schema.optionalKey(positiveInt(3_600_000)),
  /** Cap on an encoded payload. */
  maxPayloadBytes: Schema.optionalKey(positiveInt(1_073_741_824))
})
export type ManifestLimits = typeof ManifestLimits.Type

/**
 * The host imports a manifest may declare in `capabilities`.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import type { Manifest } from "hookbus/wasm"
 *
 * const capabilities: ReadonlyArray<Manifest.Capability> = ["gn_log", "gn_time_ms", "gn_config_get"]
 */
export const Capability = Schema.Literals(["gn_log", "gn_panic", "gn_time_ms", "gn_config_get"])
export type Capability = typeof Capability.Type

/** The hooks, each name and kind at most once: a hook listed twice would register (and run) twice. */
const ManifestHooks = Schema.Array(ManifestHook).check(
  withMessage((hooks) => {
    const seen = new Map<string, number>()
    for (let i = 0; i < hooks.length; i++) {
      const key = `${hooks[i].kind} ${hooks[i].name}`
      const first = seen.get(key)
      if (first !== undefined) {
        return `hooks[${i}] repeats hooks[${first}] (${hooks[i].kind} "${hooks[i].name}"): list each hook once`
      }
      seen.set(key, i)
    }
    return undefined
  })
)

/**
 * The manifest.
 *
 * @since 0.1.0
 * @category schemas
 * @example
 * import type { Manifest } from "hookbus/wasm"
 *
 * const manifest: Manifest.Manifest = {
 *   abi: 1,
 *   name: "seo",
 *   version: "1.0.0",
 *   wasm: { path: "build/seo.wasm" },
 *   hooks: [{ name: "the_content", kind: "filter" }]
 * }
 */
export const Manifest = Schema.Struct({
  abi: Schema.Literal(1),
  name: PluginName,
  version: SemVer,
  /** The module; required when loading from a folder, not with `Plugin.fromBytes`. */
  wasm: Schema.optionalKey(Schema.Struct({ path: RelativePath, sha256: Schema.optionalKey(Sha256) })),
  hooks: ManifestHooks,
  limits: Schema.optionalKey(ManifestLimits),
  /**
   * Host imports the plugin uses (`gn_log`, `gn_panic`, `gn_time_ms`, `gn_config_get`). When present, the module
   * may import only these from `env` (checked at load: an import not listed is `ManifestInvalid`); the host's
   * `PluginPolicy` then decides which it may have. Host functions (module `host`) are granted by the policy alone.
   */
  capabilities: Schema.optionalKey(Schema.Array(Capability)),
  /**
   * WASI preview 1, for modules built for `wasm32-wasi`: absent, a module may import none of it; present, stdout and
   * stderr (to the logger) and empty arguments and environment; `clock` and `random` on request. The host's
   * `PluginPolicy` may refuse them (`allowWasi`).
   */
  wasi: Schema.optionalKey(Schema.Struct({
    clock: Schema.optionalKey(Schema.Boolean),
    random: Schema.optionalKey(Schema.Boolean),
    /** A directory inside the plugin folder the guest may read, as `/<preopen>`; the policy must allow it. */
    preopen: Schema.optionalKey(RelativePath)
  })),
  /**
   * Settings for the plugin: a JSON object the guest reads key by key with `gn_config_get` (ABI v1.1). The host
   * never interprets it.
   */
  config: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type Manifest = typeof Manifest.Type

/**
 * `hooks[0].kind` from `["hooks", 0, "kind"]`.
 *
 * @since 0.1.0
 * @category formatting
 * @example
 * import { Manifest } from "hookbus/wasm"
 *
 * Manifest.formatPath(["hooks", 0, "kind"]) // "hooks[0].kind"
 */
export const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string => {
  if (path.length === 0) return "(root)"
  return path.map((segment, i) => {
    const p = typeof segment === "object" ? segment.key : segment
    return typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`
  }).join("")
}

const toProblems = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Decodes a manifest, reporting every problem (excess keys included).
 *
 * @since 0.1.0
 * @category decoding
 * @example
 * import { Effect } from "effect"
 * import { Manifest } from "hookbus/wasm"
 *
 * const program = Manifest.decode({ abi: 1, name: "seo", version: "1.0", hooks: [] }, "plugins/seo/plugin.json").pipe(
 *   Effect.catchTag("ManifestInvalid", (e) => Effect.logError(e.message)) // ... version: expected a semantic version
 * )
 */
export const decode = (input: unknown, source = "manifest"): Effect.Effect<Manifest, ManifestInvalid> => {
  const exit = Schema.decodeUnknownExit(Manifest)(input, { errors: "all", onExcessProperty: "error" })
  if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
  const problems: Array<ManifestProblem> = []
  for (const reason of exit.cause.reasons) {
    if (reason._tag === "Fail" && Schema.isSchemaError(reason.error)) {
      for (const issue of toProblems(reason.error.issue).issues) {
        problems.push({ path: formatPath(issue.path ?? []), message: issue.message })
      }
    }
  }
  return Effect.fail(new ManifestInvalid({ source, problems }))
}

/**
 * Parses and decodes a manifest file's text.
 *
 * @since 0.1.0
 * @category decoding
 * @example
 * import { Manifest } from "hookbus/wasm"
 *
 * const program = Manifest.parse(`{"abi":1,"name":"seo","version":"1.0.0","hooks":[]}`, "plugin.json")
 */
export const parse = (text: string, source: string): Effect.Effect<Manifest, ManifestInvalid> =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) =>
      new ManifestInvalid({
        source,
        problems: [{
          path: "(root)",
          // V8 quotes the offending text, newlines and all: escape them so the problem stays on one line.
          message: `not valid JSON: ${errorMessage(error).replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1))}`
        }]
      })
  }).pipe(Effect.flatMap((json) => decode(json, source)))
