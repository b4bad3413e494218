/**
 * Interceptors: Effects the bus runs around every dispatch and on every registration, installed with
 * `bus.intercept` for the life of a scope (tapable's `hook.intercept({ call, register })`, hookable's
 * `beforeEach`/`afterEach`).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { DispatchRecord } from "./DispatchRecord.ts"
import type { HookKind } from "./Hook.ts"
import type { HandlerEvent } from "./MetaHook.ts"

/**
 * A dispatch about to run, as `beforeEach` sees it.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { DispatchStart } from "hookbus"
 *
 * const line = (d: DispatchStart) => `${d.kind} ${d.hook} with ${d.args.length} argument(s)`
 */
export interface DispatchStart {
  readonly hook: string
  readonly kind: HookKind
  /** The filter's input value (`undefined` for actions). */
  readonly value: unknown
  readonly args: ReadonlyArray<unknown>
}

/**
 * What an interceptor does; every field is optional. `beforeEach` runs in the dispatching fiber before each
 * dispatch's first handler, `afterEach` after the dispatch ended (whatever its outcome, interruption included) with
 * its `DispatchRecord`, `register` in the registering fiber after each registration took effect. They observe: they
 * cannot change arguments, values or results. A defect in one is logged at ERROR and never reaches the dispatch or
 * the registration. Dispatches and registrations an interceptor makes itself are not intercepted.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import type { Interceptor } from "hookbus"
 *
 * const logging: Interceptor = {
 *   beforeEach: (d) => Effect.logDebug(`dispatching ${d.kind} ${d.hook}`),
 *   afterEach: (r) => Effect.logDebug(`${r.kind} ${r.hook}: ${r.outcome} (${r.handlers.join(", ")})`),
 *   register: (e) => Effect.logDebug(`${e.handler.source} registered on ${e.hook}`)
 * }
 */
export interface Interceptor<R = never> {
  readonly beforeEach?: ((dispatch: DispatchStart) => Effect.Effect<void, never, R>) | undefined
  readonly afterEach?: ((record: DispatchRecord) => Effect.Effect<void, never, R>) | undefined
  readonly register?: ((event: HandlerEvent) => Effect.Effect<void, never, R>) | undefined
}
