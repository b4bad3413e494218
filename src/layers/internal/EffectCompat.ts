/**
 * The only place the bus relies on how Effect builds its values rather than on what its API promises. Each use is
 * here because the public alternative costs on the dispatch path or is not exact (measured in bench/run.ts), and
 * test/EffectCompat.test.ts fails when an Effect upgrade changes what these rely on; `effect` is pinned to an exact
 * version in package.json so an upgrade is always a deliberate step that runs that test.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

// Every Exit Effect makes inherits from one of two prototypes (its Success and its Failure). `Exit.isExit` only tests
// for the `~effect/Exit` key, so a plain object carrying that key passes it, and a forged `Failure` without a real
// `Cause` would then break the dispatch. Testing the prototype recognises the Exits the runtime made; measured
// (bench/run.ts and a micro-benchmark), `isPrototypeOf` costs what the old two property loads did (~2-3 ns), while
// `Exit.isExit` + `Exit.isSuccess` cost ~20-35 ns per handler call and `Object.getPrototypeOf` ~18 ns.
const SuccessProto: object = Object.getPrototypeOf(Exit.succeed(undefined))
const FailureProto: object = Object.getPrototypeOf(Exit.fail(undefined))

/** The Exit a handler returned (an Effect that has already completed), or `undefined` for anything else. */
export const completedExit = (returned: unknown): Exit.Exit<unknown, unknown> | undefined =>
  SuccessProto.isPrototypeOf(returned as object) || FailureProto.isPrototypeOf(returned as object)
    ? returned as Exit.Exit<unknown, unknown>
    : undefined

/** Whether a handler returned an already-successful Effect (`Effect.succeed`, `Effect.void`, an `Exit.succeed`). */
export const isSuccessExit = (returned: unknown): returned is Exit.Success<unknown> =>
  SuccessProto.isPrototypeOf(returned as object)

// `Effect.isEffect` only tests for the `~effect/Effect` key too, and a plain object carrying it as its own property
// (`{ "~effect/Effect": 1 }`) would reach the fiber's run loop, which dies with "Not a valid effect" and takes the
// whole dispatch with it. Every Effect the library builds (primitives, `Effect.gen`, service keys, yieldable
// errors) carries the key on its prototype, never as an own property: an own key marks a forgery.
const EffectKey = "~effect/Effect"

/** Whether a handler returned a real Effect: `Effect.isEffect`, and not a plain object carrying the key itself. */
export const isGenuineEffect = (returned: unknown): returned is Effect.Effect<unknown, unknown> =>
  Effect.isEffect(returned) && !Object.hasOwn(returned, EffectKey)

// An `Effect.sync(thunk)` is a primitive whose evaluation calls `thunk` (with no receiver and no argument) and
// continues with its value; a throw is a defect. Recognising one by its prototype and reading the thunk back lets
// the dispatch call it in place, as it takes an `Effect.succeed` in place: one call instead of a runtime step and an
// `Effect.exit` (measured: ~25 ns instead of ~390 ns per handler). Both are found on a sample at load, so a
// different layout in another Effect version turns the shortcut off instead of misreading a value.
const sampleThunk = (): undefined => undefined
const sample = Effect.sync(sampleThunk) as unknown as Record<string, unknown>
const SyncProto: object = Object.getPrototypeOf(sample)
const thunkKey: string | undefined = SyncProto === SuccessProto || SyncProto === FailureProto
  ? undefined
  : Object.keys(sample).find((key) => sample[key] === sampleThunk)

/** The thunk of an `Effect.sync` a handler returned, or `undefined` for anything else. */
export const syncThunk = (returned: unknown): (() => unknown) | undefined =>
  thunkKey !== undefined && SyncProto.isPrototypeOf(returned as object)
    ? (returned as Record<string, () => unknown>)[thunkKey]
    : undefined

/** Whether `syncThunk` can recognise `Effect.sync` in the installed Effect (false would only cost speed). */
export const syncShortcut: boolean = thunkKey !== undefined

/**
 * Whether `caller` already holds every service of `services` (the same instance under the same key). The public
 * `Context` API looks services up by key object only, and a context does not keep its keys' objects, so the check
 * reads the string-keyed `mapUnsafe` view both contexts expose. It runs once per registration and dispatching
 * context, and saves switching the context of every suspending handler call.
 */
export const holdsAll = (caller: Context.Context<never>, services: Context.Context<never>): boolean => {
  const callerMap = caller.mapUnsafe
  for (const [key, value] of services.mapUnsafe) {
    if (callerMap.get(key) !== value) return false
  }
  return true
}

/** How many services a context holds. */
export const size = (context: Context.Context<never>): number => context.mapUnsafe.size
