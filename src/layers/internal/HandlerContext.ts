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
import { CurrentHookFrame } from "./HookStack.ts"

// Keys that describe where a fiber is rather than what it was given: always taken from the dispatching fiber.
const fiberLocalKeys: ReadonlySet<string> = new Set([
  Tracer.ParentSpanKey,
  Tracer.TracerKey,
  Tracer.DisablePropagation.key,
  Tracer.CurrentTraceLevel.key,
  Tracer.MinimumTraceLevel.key,
  References.CurrentLogAnnotations.key,
  References.CurrentLogLevel.key,
  References.CurrentLogSpans.key,
  References.CurrentStackFrame.key,
  References.MinimumLogLevel.key,
  References.TracerEnabled.key,
  References.TracerSpanAnnotations.key,
  References.TracerSpanLinks.key,
  References.TracerTimingEnabled.key,
  References.UnhandledLogLevel.key,
  References.CurrentLoggers.key,
  References.LogToStderr.key,
  Scheduler.Scheduler.key,
  Scheduler.MaxOpsBeforeYield.key,
  Scheduler.PreventSchedulerYield.key,
  Clock.Clock.key,
  Random.Random.key,
  Console.Console.key,
  CurrentHookFrame.key
])

/**
 * What a registration lends its handler: the registering fiber's services, but not its fiber-local References and
 * not its Scope. A handler's scoped work belongs to the dispatch that runs it (or to an `Effect.scoped` inside the
 * handler); lending it the registration's scope would keep its resources until unregistration.
 */
export interface Lent {
  readonly services: Context.Context<never> | undefined
}

/** The services a registering fiber lends its handler. */
export const capture = (context: Context.Context<never>): Lent => {
  const services = new Map<string, unknown>()
  context.mapUnsafe.forEach((value, key) => {
    if (key !== Scope.Scope.key && !fiberLocalKeys.has(key)) services.set(key, value)
  })
  return { services: services.size === 0 ? undefined : Context.makeUnsafe(services) }
}

// Context lookups take a key object; only its `key` string is read.
const keyOf = (key: string): Context.Key<never, unknown> => ({ key }) as unknown as Context.Key<never, unknown>

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
  let merged: Context.Context<never> | undefined
  const services = lent.services
  if (services !== undefined) {
    let differs = false
    services.mapUnsafe.forEach((value, key) => {
      if (!differs && Context.getOrUndefined(caller, keyOf(key)) !== value) differs = true
    })
    if (differs) merged = Context.merge(caller, services)
  }
  cache.base = caller
  cache.merged = merged
  return merged
}
