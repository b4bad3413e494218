/**
 * What the bus knows about a registered handler, and the options a registration takes.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { HookKind } from "./Hook.ts"

/**
 * Sync handlers run inside the dispatch; async ones run in a fiber owned by the bus (actions only); durable ones are
 * persisted by the dispatch and run by a `hookbus/durable` runner, surviving restarts (actions on typed hooks only).
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { HandlerMode } from "hookbus"
 *
 * const mode: HandlerMode = "async"
 */
export type HandlerMode = "sync" | "async" | "durable"

/**
 * What happens when a filter handler fails: stop the chain ("abort") or pass over it ("skip").
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { HookBus, type FilterErrorPolicy } from "hookbus"
 *
 * const policy: FilterErrorPolicy = "skip"
 * const layer = HookBus.layerWith({ filterErrors: { the_content: policy } })
 */
export type FilterErrorPolicy = "abort" | "skip"

/**
 * Options shared by `addAction` and `addFilter`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { HandlerOptions } from "hookbus"
 *
 * const options: HandlerOptions = { source: "seo", priority: 5, after: ["markdown"], timeout: "1 second" }
 */
export interface HandlerOptions {
  /** Lower runs first; ties keep registration order. Default 10; must be finite. */
  readonly priority?: number | undefined
  /** A name for the handler, used in errors, logs, metrics and ordering constraints. Default `handler-<id>`. */
  readonly source?: string | undefined
  /** Sources this handler must run before. */
  readonly before?: ReadonlyArray<string> | undefined
  /** Sources this handler must run after. */
  readonly after?: ReadonlyArray<string> | undefined
  /** Remove the handler after its first run (exactly one run, also under concurrent dispatch). */
  readonly once?: boolean | undefined
  /** Interrupt the handler when it runs longer than this; it then counts as `HandlerFailed` with reason "Timeout". */
  readonly timeout?: Duration.Input | undefined
}

/**
 * How a durable handler is retried: up to `maxAttempts` runs, waiting `initialDelay * factor^(n-1)` (at most
 * `maxDelay`) after the n-th failed run.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { DurableRetry } from "hookbus"
 *
 * const retry: DurableRetry = { maxAttempts: 5, initialDelay: "1 second", factor: 2, maxDelay: "1 minute" }
 */
export interface DurableRetry {
  /** Runs in all, the first included. Default 3. */
  readonly maxAttempts?: number | undefined
  /** The wait after the first failed run. Default 1 second. */
  readonly initialDelay?: Duration.Input | undefined
  /** How much each wait grows. Default 2. */
  readonly factor?: number | undefined
  /** The longest wait. Default 10 minutes. */
  readonly maxDelay?: Duration.Input | undefined
}

/**
 * Options of `addAction`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { ActionOptions } from "hookbus"
 *
 * const options: ActionOptions<[postId: string]> = { mode: "async", orderBy: (postId) => postId }
 */
export interface ActionOptions<Args extends ReadonlyArray<unknown> = ReadonlyArray<unknown>> extends HandlerOptions {
  /**
   * "sync" (default) runs inside `doAction`; "async" runs in a bus-owned fiber and `doAction` does not wait;
   * "durable" persists a job (`doAction` returns once it is stored) that a `hookbus/durable` runner executes.
   */
  readonly mode?: HandlerMode | undefined
  /** Durable handlers only: attempts and backoff. */
  readonly retry?: DurableRetry | undefined
  /**
   * Durable handlers only: each attempt runs in a transaction of the job store (the handler reaches the store's
   * `SqlClient` through `JobSql` from `hookbus/durable`), and the job is marked done in that same transaction. The handler's writes to that
   * database then happen exactly once per job, whatever crash comes; a failed attempt's writes roll back. Default
   * false (the handler holds the transaction open while it runs: keep it short; on SQLite it holds the store).
   */
  readonly transactional?: boolean | undefined
  /**
   * Async handlers only: events with the same key run one at a time in dispatch order; different keys run in
   * parallel.
   */
  readonly orderBy?: ((...args: Args) => string) | undefined
}

/**
 * Options of `addFilter`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { FilterOptions } from "hookbus"
 *
 * const options: FilterOptions = { source: "typography", onError: "skip" }
 */
export interface FilterOptions extends HandlerOptions {
  /** Overrides the bus's `filterErrors` policy for this handler. */
  readonly onError?: FilterErrorPolicy | undefined
}

/**
 * One handler as `handlers(hook)` shows it, in resolved order.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { Hook, HookBus, type HandlerInfo } from "hookbus"
 *
 * const describe = (h: HandlerInfo) => `${h.source} (priority ${h.priority}, ${h.mode})`
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   return (yield* bus.handlers(Hook.filter("the_content"))).map(describe)
 * })
 */
export interface HandlerInfo {
  readonly id: number
  readonly source: string
  readonly priority: number
  readonly mode: HandlerMode
  readonly before: ReadonlyArray<string>
  readonly after: ReadonlyArray<string>
  readonly once: boolean
  /** Async action handlers with `orderBy`: runs with the same key are ordered. */
  readonly ordered: boolean
  /** The handler's `timeout` in milliseconds, if it has one. */
  readonly timeoutMillis: number | undefined
  /** Filters: what a failure of this handler does ("abort" or "skip"); `undefined` for actions. */
  readonly onError: FilterErrorPolicy | undefined
  /**
   * Async action handlers: the bus's bound on async runs in flight and what a dispatch does when it is reached
   * (`HookBusOptions.async`); `undefined` for other handlers.
   */
  readonly bound: { readonly concurrency: number; readonly overflow: "wait" | "drop" } | undefined
}

/**
 * One hook as `bus.hooks` shows it: its kind, its handlers in resolved run order, and how often it was dispatched.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { HookBus, type HookInfo } from "hookbus"
 *
 * const line = (h: HookInfo) => `${h.kind} ${h.name}: ${h.handlers.length} handlers, ${h.dispatches} dispatches`
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   return (yield* bus.hooks).map(line)
 * })
 */
export interface HookInfo {
  readonly name: string
  readonly kind: HookKind
  readonly handlers: ReadonlyArray<HandlerInfo>
  readonly dispatches: number
}

/**
 * A live registration. Closing the scope it was made in removes it; so does `remove`, earlier and idempotently.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { Hook, HookBus } from "hookbus"
 *
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   const registration = yield* bus.addAction(Hook.action("init"), () => Effect.log("init"), { source: "boot" })
 *   yield* registration.remove // earlier than the scope's end
 * })
 */
export interface Registration {
  readonly id: number
  readonly hook: string
  readonly source: string
  readonly remove: Effect.Effect<void>
}
