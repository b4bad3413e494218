/**
 * A record of every dispatch, for users' tests: provided by `HookBus.layerTest`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { DispatchRecord } from "../domain/DispatchRecord.ts"
import type { HookKind } from "../domain/Hook.ts"

export type { DispatchOutcome, DispatchRecord, HandlerTiming } from "../domain/DispatchRecord.ts"

/**
 * The operations of the recorder.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { HookRecorder, type HookRecorderShape } from "hookbus"
 *
 * const count = (recorder: HookRecorderShape) => Effect.map(recorder.records, (all) => all.length)
 * const program = HookRecorder.use(count)
 */
export interface HookRecorderShape {
  /** Every dispatch so far, oldest first. */
  readonly records: Effect.Effect<ReadonlyArray<DispatchRecord>>
  /** The dispatches of one hook (by name, and kind when given). */
  readonly recordsOf: (name: string, kind?: HookKind) => Effect.Effect<ReadonlyArray<DispatchRecord>>
  /** Forgets every record. */
  readonly clear: Effect.Effect<void>
}

/**
 * Records every dispatch of the bus it was built with (see `HookBus.layerTest`).
 *
 * @since 0.1.0
 * @category services
 * @example
 * import { Effect } from "effect"
 * import { Hook, HookBus, HookRecorder } from "hookbus"
 *
 * const PostSaved = Hook.action<[postId: string]>("post.saved")
 * const test = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.doAction(PostSaved, "42")
 *   const saved = yield* HookRecorder.use((r) => r.recordsOf("post.saved"))
 *   return saved.map((r) => r.args) // [["42"]]
 * }).pipe(Effect.provide(HookBus.layerTest))
 */
export class HookRecorder extends Context.Service<HookRecorder, HookRecorderShape>()("hookbus/HookRecorder") {}
