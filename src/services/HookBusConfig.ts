/**
 * The bus's options read from `Config` (environment variables by default), for `HookBus.layerConfig`.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { HookBusOptions } from "./HookBusOptions.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const positive = (name: string) => Config.option(Config.schema(PositiveInt, name))

/**
 * The environment variables `HookBus.layerConfig` reads, by option. Each is optional: an unset one keeps the
 * option's default. `filterErrors` is set in code only (hook names are not variable names).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { HookBusConfig } from "hookbus"
 *
 * console.log(HookBusConfig.variables.maxDepth) // "HOOKBUS_MAX_DEPTH"
 */
export const variables = {
  maxDepth: "HOOKBUS_MAX_DEPTH",
  asyncShutdownGrace: "HOOKBUS_ASYNC_SHUTDOWN_GRACE",
  asyncConcurrency: "HOOKBUS_ASYNC_CONCURRENCY",
  asyncOverflow: "HOOKBUS_ASYNC_OVERFLOW",
  parallelConcurrency: "HOOKBUS_PARALLEL_CONCURRENCY",
  tracing: "HOOKBUS_TRACING",
  metrics: "HOOKBUS_METRICS",
  maxHookLabels: "HOOKBUS_METRICS_MAX_HOOK_LABELS"
} as const

/**
 * The bus's options as a `Config`: each variable of `variables` checked as its option is (a positive integer, a
 * duration such as `5 seconds`, one of the literals, a boolean), a bad one a `ConfigError` naming the variable.
 *
 * @since 0.1.0
 * @category config
 * @example
 * import { ConfigProvider, Effect } from "effect"
 * import { HookBusConfig } from "hookbus"
 *
 * const options = HookBusConfig.config.parse(ConfigProvider.fromEnv({ env: { HOOKBUS_MAX_DEPTH: "8" } }))
 * // Effect of { maxDepth: 8 }
 */
export const config: Config.Config<HookBusOptions> = Config.all({
  maxDepth: positive(variables.maxDepth),
  asyncShutdownGrace: Config.option(Config.Duration(variables.asyncShutdownGrace)),
  asyncConcurrency: positive(variables.asyncConcurrency),
  asyncOverflow: Config.option(Config.Literals(["wait", "drop"], variables.asyncOverflow)),
  parallelConcurrency: positive(variables.parallelConcurrency),
  tracing: Config.option(Config.Literals(["off", "dispatch", "handlers"], variables.tracing)),
  metrics: Config.option(Config.Boolean(variables.metrics)),
  maxHookLabels: positive(variables.maxHookLabels)
}).pipe(Config.map((read): HookBusOptions => {
  const options: { -readonly [K in keyof HookBusOptions]: HookBusOptions[K] } = {}
  if (Option.isSome(read.maxDepth)) options.maxDepth = read.maxDepth.value
  if (Option.isSome(read.asyncShutdownGrace)) options.asyncShutdownGrace = read.asyncShutdownGrace.value
  if (Option.isSome(read.asyncConcurrency) || Option.isSome(read.asyncOverflow)) {
    options.async = {
      ...(Option.isSome(read.asyncConcurrency) ? { concurrency: read.asyncConcurrency.value } : {}),
      ...(Option.isSome(read.asyncOverflow) ? { overflow: read.asyncOverflow.value } : {})
    }
  }
  if (Option.isSome(read.parallelConcurrency)) options.parallel = { concurrency: read.parallelConcurrency.value }
  if (Option.isSome(read.tracing)) options.tracing = read.tracing.value
  const metrics = Option.getOrElse(read.metrics, () => true)
  if (!metrics) options.metrics = false
  else if (Option.isSome(read.maxHookLabels)) options.metrics = { maxHookLabels: read.maxHookLabels.value }
  else if (Option.isSome(read.metrics)) options.metrics = true
  return options
}))
