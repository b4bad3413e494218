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

/** The services a registering fiber can lend its handler, or `undefined` when it has none. */
export const capture = (context: Context.Context<never>): Context.Context<never> | undefined => {
  const services = new Map<string, unknown>()
  context.mapUnsafe.forEach((value, key) => {
    if (!fiberLocalKeys.has(key)) services.set(key, value)
  })
  return services.size === 0 ? undefined : Context.makeUnsafe(services)
}

/** Remembers the last merge, so a handler dispatched again from the same context costs no allocation. */
export interface MergeCache {
  base: Context.Context<never> | undefined
  merged: Context.Context<never> | undefined
}

/** `caller` with `services` laid over it (registration wins for services, the caller for everything fiber-local). */
export const merge = (
  cache: MergeCache,
  caller: Context.Context<never>,
  services: Context.Context<never>
): Context.Context<never> => {
  if (cache.base === caller) return cache.merged!
  const merged = Context.merge(caller, services)
  cache.base = caller
  cache.merged = merged
  return merged
}
