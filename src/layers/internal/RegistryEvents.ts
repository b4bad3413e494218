/**
 * What the bus does when handlers join or leave a chain: it fires the meta hooks (`hookbus.handlerAdded`,
 * `hookbus.handlerRemoved`) when they have handlers, and runs the `register` interceptors (on every registration,
 * the meta hooks' included). Registration only pays for a check of those two chains and one field.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { ActionHook } from "../../domain/Hook.ts"
import * as MetaHook from "../../domain/MetaHook.ts"
import type { Dispatch } from "./Dispatch.ts"
import type { Interceptors } from "./Intercept.ts"
import { type Entry, infoOf, type Registry, type RegistryEvents, type Slot } from "./Registry.ts"

const eventOf = (entry: Entry, registry: Registry): MetaHook.HandlerEvent => ({
  hook: entry.slot.name,
  kind: entry.slot.kind,
  handler: infoOf(entry, registry.asyncBound)
})

/** The events of a bus: meta hooks fired through its own dispatch. */
export const makeRegistryEvents = (
  registry: Registry,
  dispatch: Dispatch,
  interceptors: Interceptors
): RegistryEvents => {
  const addedSlot = registry.slotFor("action", MetaHook.HandlerAdded.name, MetaHook.HandlerAdded.key)
  const removedSlot = registry.slotFor("action", MetaHook.HandlerRemoved.name, MetaHook.HandlerRemoved.key)
  const isMeta = (slot: Slot) => slot === addedSlot || slot === removedSlot

  // A meta handler's failure belongs to it, not to the registration that fired it: logged, never returned.
  const fire = (hook: ActionHook<[MetaHook.HandlerEvent]>, entries: ReadonlyArray<Entry>) =>
    Effect.forEach(entries, (entry) =>
      dispatch(hook, undefined, [eventOf(entry, registry)], false).pipe(
        Effect.catch((error) =>
          Effect.logError(`${hook.name} handler failed`, error.message).pipe(
            Effect.annotateLogs({ hook: entry.slot.name, kind: entry.slot.kind, source: entry.source })
          )
        )
      ), { discard: true })

  return {
    added: (entry) => {
      const meta = isMeta(entry.slot) || addedSlot.entries.length === 0
        ? Effect.void
        : fire(MetaHook.HandlerAdded, [entry])
      return interceptors.registering ? Effect.andThen(meta, interceptors.registered(eventOf(entry, registry))) : meta
    },
    removed: (entries) => {
      if (removedSlot.entries.length === 0) return Effect.void
      const reported = entries.filter((entry) => !isMeta(entry.slot))
      return reported.length === 0 ? Effect.void : fire(MetaHook.HandlerRemoved, reported)
    }
  }
}
