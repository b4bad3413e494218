/**
 * What the bus reports of each dispatch: to the test recorder (`HookRecorder`) and to subscribers of
 * `bus.dispatches`.
 *
 * @since 0.1.0
 */
import type { HookKind } from "./Hook.ts"
import type { HandlerFailed } from "./HookErrors.ts"

/**
 * How a dispatch ended.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { DispatchOutcome, DispatchRecord } from "hookbus"
 *
 * const failed = (records: ReadonlyArray<DispatchRecord>) =>
 *   records.filter((r) => r.outcome === ("failed" satisfies DispatchOutcome))
 */
export type DispatchOutcome = "ok" | "failed" | "short_circuit" | "interrupted"

/**
 * One dispatch, as `HookRecorder` and `bus.dispatches` see it.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { DispatchRecord } from "hookbus"
 *
 * const line = (r: DispatchRecord) => `${r.kind} ${r.hook}: ${r.outcome}, handlers ${r.handlers.join(", ")}`
 */
export interface DispatchRecord {
  readonly hook: string
  readonly kind: HookKind
  /** The filter's input value (`undefined` for actions). */
  readonly value: unknown
  readonly args: ReadonlyArray<unknown>
  readonly outcome: DispatchOutcome
  /** The sources of the handlers that ran (async ones: that were started), in order. */
  readonly handlers: ReadonlyArray<string>
  /** The filter's result (the last accepted value when it failed); `undefined` for actions. */
  readonly result: unknown
  readonly failures: ReadonlyArray<HandlerFailed>
  readonly shortCircuitedBy: string | undefined
}
