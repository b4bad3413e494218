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
  /** When the dispatch started, in Unix milliseconds (the bus's `Clock`). */
  readonly startedAt: number
  /** How long the dispatch took, in milliseconds. */
  readonly durationMillis: number
  /**
   * Each handler that ran (async ones: that were started), in order, with its time in the dispatch; `undefined`
   * when the dispatch was not timed. The bus times a dispatch unless another of the same hook was already timed in
   * the same millisecond: every dispatch made at a person's pace is timed, a hot loop only one per millisecond.
   */
  readonly timings: ReadonlyArray<HandlerTiming> | undefined
}

/**
 * One handler's time in a dispatch, measured with the clock reads its span uses: from the dispatch's start.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { HandlerTiming } from "hookbus"
 *
 * const bar = (t: HandlerTiming) => `${t.source} at +${t.startMillis} ms for ${t.durationMillis ?? "(async)"} ms`
 */
export interface HandlerTiming {
  readonly source: string
  /** When the handler started, in milliseconds from the dispatch's start. */
  readonly startMillis: number
  /** How long it ran, in milliseconds; `undefined` for an async handler (it runs after the dispatch). */
  readonly durationMillis: number | undefined
  /** "ok", "failed" (a failure or a short-circuit: see the record), or "async" (started, not awaited). */
  readonly outcome: "ok" | "failed" | "async"
}
