/**
 * The only place the bus relies on how Effect builds its values rather than on what its API promises. Each use is
 * here because the public alternative costs on the dispatch path or is not exact (measured in bench/run.ts), and
 * test/EffectCompat.test.ts fails when an Effect upgrade changes what these rely on; `effect` is pinned to an exact
 * version in package.json so an upgrade is always a deliberate step that runs that test.
 *
 * @internal
 */
import type * as Context from "effect/Context"
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
