/**
 * Deprecated hooks (`Hook.deprecate`): the bus remembers each deprecation it meets (a registration or a dispatch
 * with a deprecated definition) by hook key, and logs one warning per hook and source for registrations and one per
 * hook for dispatches. A bus that never met a deprecated definition pays a property read and a field check.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { AnyHook, Deprecation } from "../../domain/Hook.ts"

/** The deprecations a bus has met, and the warnings it has given. */
export class Deprecations {
  /** Whether any deprecation is known: then every definition's key is looked up. */
  any = false
  private readonly known = new Map<string, Deprecation>()
  /** `key` and source (a registration's) or nothing (dispatches), of the warnings given. */
  private readonly warned = new Set<string>()

  /** The deprecation of `hook` (its own, or one met before for its key), remembering a new one. */
  private of(hook: AnyHook): Deprecation | undefined {
    const own = hook.deprecated
    if (own !== undefined) {
      if (!this.known.has(hook.key)) {
        this.known.set(hook.key, own)
        this.any = true
      }
      return own
    }
    return this.any ? this.known.get(hook.key) : undefined
  }

  /** Whether `hook` may be deprecated, read on the hot path before anything else. */
  watches(hook: AnyHook): boolean {
    return hook.deprecated !== undefined || this.any
  }

  /** `registration`, then the warning for its source if the hook is deprecated and it is the source's first. */
  registered<A extends { readonly source: string }, E, R>(
    hook: AnyHook,
    registration: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> {
    return Effect.tap(registration, (registered) =>
      Effect.suspend(() => {
        const deprecation = this.of(hook)
        const key = `${hook.key}\u0000${registered.source}`
        if (deprecation === undefined || this.warned.has(key)) return Effect.void
        this.warned.add(key)
        return Effect.logWarning(
          `handler "${registered.source}" registered on deprecated ${hook.kind} "${hook.name}" (since ${deprecation.since}): ${deprecation.message}`
        ).pipe(
          Effect.annotateLogs({ hook: hook.name, kind: hook.kind, source: registered.source, since: deprecation.since })
        )
      }))
  }

  /** The warning of the first dispatch of a deprecated hook, then `dispatch`. */
  dispatched<A, E>(hook: AnyHook, dispatch: Effect.Effect<A, E>): Effect.Effect<A, E> {
    const deprecation = this.of(hook)
    if (deprecation === undefined || this.warned.has(hook.key)) return dispatch
    return Effect.andThen(
      Effect.suspend(() => {
        if (this.warned.has(hook.key)) return Effect.void
        this.warned.add(hook.key)
        return Effect.logWarning(
          `deprecated ${hook.kind} "${hook.name}" dispatched (since ${deprecation.since}): ${deprecation.message}`
        ).pipe(Effect.annotateLogs({ hook: hook.name, kind: hook.kind, since: deprecation.since }))
      }),
      dispatch
    )
  }
}
