/**
 * Where the bus finds durable execution: `hookbus/durable`'s layer provides a registrar in the context handlers are
 * registered from, and `addAction(..., { mode: "durable" })` hands the handler to it, getting back the function the
 * dispatch calls in its place (the one that persists a job), and the job operations `bus.durable` forwards to. The bus
 * itself loads nothing of cluster or SQL: without the layer the reference is `undefined`, durable registration is
 * refused and `bus.durable` fails with `DurableUnavailable`.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { DurableJobs } from "../../domain/DurableJob.ts"
import type { ActionHook } from "../../domain/Hook.ts"
import type { RegistrationRejected } from "../../domain/HookErrors.ts"

/** A handler as the bus stores it. */
type Fn = (...args: Array<any>) => Effect.Effect<any, any, any>

/** The registration options a durable registrar reads (already checked by the bus). */
export interface DurableOptions {
  readonly source: string
  readonly timeout: unknown
  readonly retry: unknown
  readonly transactional: boolean
}

/** Turns a durable handler into the function the dispatch calls: one that persists a job and returns its id. */
export interface DurableRegistrar {
  readonly register: (
    hook: ActionHook<any>,
    handler: Fn,
    options: DurableOptions
  ) => Effect.Effect<Fn, RegistrationRejected, Scope.Scope>
  /** The runner's jobs, for `bus.durable`. */
  readonly jobs: DurableJobs
}

/** The registrar of the current context, if a `hookbus/durable` layer provides one. */
export const CurrentDurableRegistrar = Context.Reference<DurableRegistrar | undefined>(
  "hookbus/CurrentDurableRegistrar",
  { defaultValue: () => undefined }
)

/**
 * The dispatch a durable job belongs to: its id (the job ids derive from it) and the ids of the jobs stored so far,
 * which `doAction` returns. The bus sets one around each dispatch of a hook with durable handlers.
 */
export interface DurableDispatch {
  readonly id: string
  readonly hook: string
  readonly jobs: Array<string>
}

/**
 * A dispatch id asked for (`Durable.doActionWithId`): the next dispatch of `hook` under it takes the id, once; the
 * dispatches it makes in turn get ids of their own, so a nested job never collides with one of the outer dispatch.
 */
export interface RequestedDispatch {
  readonly id: string
  readonly hook: string
  claimed: boolean
}

/** What an action dispatch that stored no durable job returns: no job ids (one shared, frozen array). */
export const succeedNoJobs: Effect.Effect<ReadonlyArray<string>> = Effect.succeed(Object.freeze([]))

/** The current durable dispatch, read by a durable handler's enqueue (`undefined` outside one). */
export const CurrentDurableDispatch = Context.Reference<DurableDispatch | undefined>(
  "hookbus/CurrentDurableDispatch",
  { defaultValue: () => undefined }
)

/** The dispatch id `Durable.doActionWithId` asks for, if any. */
export const RequestedDurableDispatch = Context.Reference<RequestedDispatch | undefined>(
  "hookbus/RequestedDurableDispatch",
  { defaultValue: () => undefined }
)
