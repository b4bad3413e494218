/**
 * One metric series updated on every dispatch, resolved once. `Metric.updateUnsafe` finds the series on each call
 * (two context lookups and a registry lookup, about a fifth of a metered dispatch); this keeps the series'
 * `Metric.Metadata` found in the registry (a public `Map`, filled when a metric is first updated) and
 * updates its hooks directly. Each update checks that the registry still holds that entry, so a series removed
 * or replaced (`Metric` removal, a cleared registry) is looked up again, the way `updateUnsafe` would.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Metric from "effect/Metric"

/** Whether `metadata` is the series of `metric`: same name and type, and every attribute of the metric. */
const isSeriesOf = (metadata: Metric.Metric.Metadata<any, any>, metric: Metric.Metric<number, unknown>): boolean => {
  if (metadata.id !== metric.id || metadata.type !== metric.type) return false
  const own = metric.attributes
  if (own === undefined) return true
  const found = metadata.attributes
  if (found === undefined) return false
  for (const key in own) if (found[key] !== own[key]) return false
  return true
}

export class MetricSeries {
  private readonly metric: Metric.Metric<number, unknown>
  private readonly context: Context.Context<never>
  private readonly registry: Metric.MetricRegistry
  private key: string | undefined = undefined
  private metadata: Metric.Metric.Metadata<number, unknown> | undefined = undefined
  /** Set when the registry holds the metric more than once: then every update goes through `updateUnsafe`. */
  private ambiguous = false

  constructor(metric: Metric.Metric<number, unknown>, context: Context.Context<never>) {
    this.metric = metric
    this.context = context
    this.registry = Context.get(context, Metric.MetricRegistry)
  }

  update(value: number): void {
    const metadata = this.metadata
    if (metadata !== undefined && this.registry.get(this.key!) === metadata) {
      metadata.hooks.update(value, this.context)
      return
    }
    this.metric.updateUnsafe(value, this.context)
    if (!this.ambiguous) this.resolve()
  }

  /**
   * Finds the series the update just went to. Only a single match is kept: two (the same metric under different
   * context attributes in one registry) leave every update to `updateUnsafe`.
   */
  private resolve(): void {
    this.key = undefined
    this.metadata = undefined
    let matches = 0
    for (const [key, metadata] of this.registry) {
      if (!isSeriesOf(metadata, this.metric)) continue
      if (++matches > 1) {
        this.key = undefined
        this.metadata = undefined
        this.ambiguous = true
        return
      }
      this.key = key
      this.metadata = metadata
    }
  }
}
