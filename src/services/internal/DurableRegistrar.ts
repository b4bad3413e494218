/**
 * Where the bus finds durable execution: `hookbus/durable`'s layer provides a registrar in the context handlers are
 * registered from, and `addAction(..., { mode: "durable" })` hands the handler to it, getting back the function the
 * dispatch calls in its place (the one that persists a job). The bus itself loads nothing of cluster or SQL: without
 * the layer the reference is `undefined` and durable registration is refused.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ActionHook } from "../../domain/Hook.ts"
import type { RegistrationRejected } from "../../domain/HookErrors.ts"

/** A handler as the bus stores it. */
type Fn = (...args: Array<any>) => Effect.Effect<any, any, any>

/** The registration options a durable registrar reads (already checked by the bus). */
export interface DurableOptions {
  readonly source: string
  readonly timeout: unknown
  readonly retry: unknown
}

/** Turns a durable handler into the function the dispatch calls: one that persists a job and returns its id. */
export interface DurableRegistrar {
  readonly register: (
    hook: ActionHook<any>,
    handler: Fn,
    options: DurableOptions
  ) => Effect.Effect<Fn, RegistrationRejected, Scope.Scope>
}

/** The registrar of the current context, if a `hookbus/durable` layer provides one. */
export const CurrentDurableRegistrar = Context.Reference<DurableRegistrar | undefined>(
  "hookbus/CurrentDurableRegistrar",
  { defaultValue: () => undefined }
)
