/**
 * The bus's own hooks: actions it fires when handlers join or leave a chain (WordPress `hookAdded`/`hookRemoved`,
 * emittery `listenerAdded`/`listenerRemoved`).
 *
 * @since 0.1.0
 */
import type { HandlerInfo } from "./Handler.ts"
import { action, type ActionHook, type HookKind } from "./Hook.ts"

/**
 * A handler that joined or left a chain: the hook it is on and what `handlers(hook)` shows of it.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { MetaHook } from "hookbus"
 *
 * const line = (e: MetaHook.HandlerEvent) => `${e.handler.source} on ${e.kind} ${e.hook}`
 */
export interface HandlerEvent {
  readonly hook: string
  readonly kind: HookKind
  readonly handler: HandlerInfo
}

/**
 * Fired after a handler is registered, on any hook but the meta hooks themselves. Its handlers run in the
 * registering fiber, after the registration took effect; their failures are logged, never returned to it.
 *
 * @since 0.1.0
 * @category hooks
 * @example
 * import { Effect } from "effect"
 * import { HookBus, MetaHook } from "hookbus"
 *
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.addAction(MetaHook.HandlerAdded, (e) => Effect.log(`${e.handler.source} joined ${e.hook}`))
 * })
 */
export const HandlerAdded: ActionHook<[event: HandlerEvent]> = action("hookbus.handlerAdded")

/**
 * Fired after handlers are removed (`remove`, the end of their scope, `removeSource`, `removeAll`), once per
 * handler, on any hook but the meta hooks. A `once` handler leaving after its run does not fire it: that happens
 * inside a dispatch, which does no meta work.
 *
 * @since 0.1.0
 * @category hooks
 * @example
 * import { Effect } from "effect"
 * import { HookBus, MetaHook } from "hookbus"
 *
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.addAction(MetaHook.HandlerRemoved, (e) => Effect.log(`${e.handler.source} left ${e.hook}`))
 * })
 */
export const HandlerRemoved: ActionHook<[event: HandlerEvent]> = action("hookbus.handlerRemoved")

/**
 * Whether a hook is one of the meta hooks (registrations on them fire no meta hook).
 *
 * @since 0.1.0
 * @category guards
 * @example
 * import { Hook, MetaHook } from "hookbus"
 *
 * MetaHook.isMetaHook(Hook.action("hookbus.handlerAdded")) // true
 */
export const isMetaHook = (hook: { readonly kind: HookKind; readonly key: string }): boolean =>
  hook.key === HandlerAdded.key || hook.key === HandlerRemoved.key
