/**
 * Where guest calls run: inline on the calling thread, or on worker threads. Both run the same `Guest` code and
 * answer with a `CallResult` (never a failure), plus the `gn_log` lines the call wrote.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { PluginLoadError } from "../domain/PluginErrors.ts"
import { type CallResult, Guest, type GuestLimits } from "./Guest.ts"

/** A call's outcome and the log lines it wrote. */
export interface Answer {
  readonly result: CallResult
  readonly logs: ReadonlyArray<readonly [level: number, message: string]>
}

const noLogs: ReadonlyArray<readonly [number, string]> = []

/** Runs guest calls. */
export interface Executor {
  readonly call: (hook: string, payload: string) => Effect.Effect<Answer>
  /** The same call answered on the spot, with the caller's clock: inline executors have it, workers do not. */
  readonly callSync?: ((hook: string, payload: string, clock: Clock.Clock) => Answer) | undefined
  /** Instances (inline) or workers made so far: one more after every trap or timeout. */
  readonly instances: () => number
  /** The guest memory in use, in bytes: the largest instance's (a worker's as of its last answer). */
  readonly memoryBytes: () => number
  /** Releases every instance or worker. */
  readonly close: Effect.Effect<void>
  /** What `gn_abi_version` returned, when the module exports it. */
  readonly version: number | undefined
}

/** What an executor starts from. */
export interface ExecutorSpec {
  readonly plugin: string
  readonly module: WebAssembly.Module
  readonly limits: GuestLimits
  /** Host functions by name; workers get only the names and forward each call to this thread. */
  readonly functions?: ReadonlyMap<string, (input: string) => string> | undefined
}

/**
 * Inline: calls run synchronously on the calling fiber's thread, so they never overlap; `size` instances are used
 * in turn (they share nothing, so a trap in one leaves the others as they were).
 */
export const inline = (spec: ExecutorSpec, size: number): Effect.Effect<Executor, PluginLoadError> =>
  Effect.gen(function*() {
    let clock: Clock.Clock = yield* Clock.Clock
    let logs: Array<readonly [number, string]> | undefined
    const host = {
      log: (level: number, message: string) => (logs ??= []).push([level, message]),
      nowMillis: () => clock.currentTimeMillisUnsafe(),
      functions: spec.functions
    }
    const guests: Array<Guest> = []
    for (let i = 0; i < size; i++) {
      const guest = new Guest(spec.plugin, spec.module, spec.limits, host)
      const trap = guest.start()
      if (trap !== undefined) return yield* trap
      guests.push(guest)
    }
    const version = guests[0].abiVersion()
    if (typeof version === "object") return yield* version
    let next = 0
    const callSync = (hook: string, payload: string, callerClock: Clock.Clock): Answer => {
      clock = callerClock
      const guest = guests[next]
      next = (next + 1) % guests.length
      const result = guest.call(hook, payload)
      const written = logs ?? noLogs
      logs = undefined
      return { result, logs: written }
    }
    return {
      version,
      call: (hook, payload) =>
        Effect.withFiber((fiber) => Effect.succeed(callSync(hook, payload, Context.get(fiber.context, Clock.Clock)))),
      callSync,
      instances: () => guests.reduce((n, g) => n + g.instances, 0),
      memoryBytes: () => guests.reduce((n, g) => Math.max(n, g.memoryBytes()), 0),
      close: Effect.sync(() => {
        for (const guest of guests) guest.drop()
      })
    } satisfies Executor
  })
