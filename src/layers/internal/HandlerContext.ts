/**
 * The context a handler runs in: the dispatching fiber's (its span, log annotations, References), plus the
 * services the handler required where it was registered.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Random from "effect/Random"
import * as References from "effect/References"
import * as Scheduler from "effect/Scheduler"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { CurrentDurableDispatch, RequestedDurableDispatch } from "../../services/internal/DurableRegistrar.ts"
import { CurrentHookFrame } from "../../services/internal/HookStack.ts"
import * as EffectCompat from "./EffectCompat.ts"

/** The References an Effect module exports (found by `Context.isReference`, so an upgrade's new ones are included). */
const referencesOf = (module: Record<string, unknown>): ReadonlyArray<Context.Key<any, unknown>> =>
  Object.values(module).filter((value): value is Context.Reference<unknown> =>
    Context.isKey(value) && Context.isReference(value)
  )

/**
 * Keys that describe where a fiber is rather than what it was given: Effect's own References (tracer, log level and
 * annotations, scheduler, clock, random, console), the parent span, the hook stack, the durable dispatch and the Scope. They are always
 * taken from the dispatching fiber, never lent by the registration. A handler's scoped work belongs to the dispatch
 * that runs it (or to an `Effect.scoped` inside the handler); lending it the registration's scope would keep its
 * resources until unregistration.
 */
export const notLent: ReadonlyArray<Context.Key<any, unknown>> = [
  ...new Set([
    ...[Clock, Console, Random, References, Scheduler, Tracer].flatMap((module) =>
      referencesOf(module as unknown as Record<string, unknown>)
    ),
    Tracer.ParentSpan,
    CurrentHookFrame,
    CurrentDurableDispatch,
    RequestedDurableDispatch,
    Scope.Scope
  ])
]
const omitNotLent = Context.omit(...notLent)

/** What a registration lends its handler: the registering fiber's services, without the keys above. */
export interface Lent {
  readonly services: Context.Context<never> | undefined
}

/** The services a registering fiber lends its handler. */
export const capture = (context: Context.Context<never>): Lent => {
  const services = omitNotLent(context)
  return { services: EffectCompat.size(services) === 0 ? undefined : services }
}

/** Remembers, per registration, what the last dispatching context needed. */
export interface MergeCache {
  base: Context.Context<never> | undefined
  /** `undefined`: the dispatching context already has everything; otherwise the context to run in. */
  merged: Context.Context<never> | undefined
}

/**
 * The context a handler runs in, given the dispatching fiber's: `undefined` when that context already holds every
 * service the registration lends (the common case, checked once per dispatching context), otherwise the caller's
 * context with the registration's services laid over it.
 */
export const prepare = (
  cache: MergeCache,
  lent: Lent,
  caller: Context.Context<never>
): Context.Context<never> | undefined => {
  if (cache.base === caller) return cache.merged
  const services = lent.services
  const merged = services === undefined || EffectCompat.holdsAll(caller, services)
    ? undefined
    : Context.merge(caller, services)
  cache.base = caller
  cache.merged = merged
  return merged
}
