/**
 * A WebAssembly plugin as a scoped resource: checks the module against ABI v1, instantiates it with the host
 * imports, and invokes hooks on it. Usable on its own, without a bus.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import {
  AbiVersionMismatch,
  InvalidModule,
  MemoryLimit,
  type PluginCallError,
  type PluginLoadError,
  Trapped,
  UnencodableValue
} from "../domain/PluginErrors.ts"
import * as Abi from "./Abi.ts"
import { type CallResult, Guest } from "./Guest.ts"
import * as WasmBinary from "./WasmBinary.ts"

/** Per-plugin limits; the same fields as a manifest's `limits`. */
export interface PluginLimits {
  /** Memory cap in 64 KiB pages (default 256 = 16 MiB). */
  readonly memoryPages?: number | undefined
  /** Cap on an encoded payload in bytes (default 1 MiB). */
  readonly maxPayloadBytes?: number | undefined
  /** Cap on a result body in bytes (default 1 MiB). */
  readonly maxResultBytes?: number | undefined
}

/** Options of `WasmDispatcher.make`. */
export interface WasmDispatcherOptions {
  /** The plugin's name, used in errors and logs (default "anonymous"). */
  readonly name?: string | undefined
  readonly limits?: PluginLimits | undefined
}

/** Default memory cap: 256 pages, 16 MiB. */
export const defaultMemoryPages = 256

/** A loaded plugin module. */
export interface WasmDispatcher {
  readonly plugin: string
  /** Calls an action hook: `{"kind":"action","args":[...]}`. */
  readonly invokeAction: (hook: string, args?: ReadonlyArray<unknown>) => Effect.Effect<void, PluginCallError>
  /** Calls a filter hook: `{"kind":"filter","value":...,"args":[...]}`; returns the new value and short-circuit flag. */
  readonly invokeFilter: (
    hook: string,
    value: unknown,
    args?: ReadonlyArray<unknown>
  ) => Effect.Effect<Abi.FilterOutcome, PluginCallError>
  /** How many instances were created so far (one more after every trap). */
  readonly instances: Effect.Effect<number>
}

const logLevel = (level: number) =>
  level === 0 ? "Debug" as const : level === 2 ? "Warn" as const : level === 3 ? "Error" as const : "Info" as const

/**
 * Compiles and instantiates a plugin module, checking it against ABI v1. Closing the scope releases it.
 *
 * @example
 * const upper = yield* WasmDispatcher.make(bytes, { name: "uppercase" })
 * const { value } = yield* upper.invokeFilter("the_content", "hello") // "HELLO"
 */
export const make = (
  bytes: Uint8Array,
  options: WasmDispatcherOptions = {}
): Effect.Effect<WasmDispatcher, PluginLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const plugin = options.name ?? "anonymous"
    const limits = options.limits ?? {}
    const memoryPages = limits.memoryPages ?? defaultMemoryPages
    let info: WasmBinary.ModuleInfo
    try {
      info = WasmBinary.read(bytes)
    } catch (error) {
      return yield* new InvalidModule({ plugin, reason: error instanceof Error ? error.message : String(error) })
    }
    const problem = Abi.checkModule(plugin, info)
    if (problem !== undefined) return yield* problem
    const memory = info.memories[0]
    if (memory !== undefined && memory.memory64) {
      return yield* new InvalidModule({ plugin, reason: "64-bit memories are not supported by ABI v1" })
    }
    if (memory !== undefined && memory.min > memoryPages) {
      return yield* new MemoryLimit({ plugin, minimumPages: memory.min, limitPages: memoryPages })
    }
    const capped = WasmBinary.withMemoryMaximum(bytes, info, memoryPages) as Uint8Array<ArrayBuffer>
    const module = yield* Effect.tryPromise({
      try: () => WebAssembly.compile(capped),
      catch: (error) => new InvalidModule({ plugin, reason: error instanceof Error ? error.message : String(error) })
    })

    // Log lines and the clock are per call: the guest runs synchronously inside one fiber step.
    const logs: Array<readonly [number, string]> = []
    let clock: Clock.Clock = yield* Clock.Clock
    const guest = new Guest(
      plugin,
      module,
      {
        maxPayloadBytes: limits.maxPayloadBytes ?? Abi.defaultMaxPayloadBytes,
        maxResultBytes: limits.maxResultBytes ?? Abi.defaultMaxResultBytes,
        fuel: undefined
      },
      {
        log: (level, message) => logs.push([level, message]),
        nowMillis: () => clock.currentTimeMillisUnsafe()
      },
      undefined
    )
    const startTrap = guest.start()
    if (startTrap !== undefined) return yield* startTrap
    let version: number | undefined
    try {
      version = guest.abiVersion()
    } catch (error) {
      guest.drop()
      return yield* new Trapped({
        plugin,
        hook: "gn_abi_version",
        kind: "other",
        detail: error instanceof Error ? error.message : String(error)
      })
    }
    if (version !== undefined && version !== Abi.version) return yield* new AbiVersionMismatch({ plugin, version })
    let released = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        released = true
        guest.drop()
      })
    )

    const flushLogs = (hook: string): Effect.Effect<void> => {
      const lines = logs.splice(0)
      return Effect.forEach(
        lines,
        ([level, message]) => Effect.logWithLevel(logLevel(level))(message),
        { discard: true }
      ).pipe(Effect.annotateLogs({ plugin, hook }))
    }

    const call = (hook: string, payload: string | UnencodableValue): Effect.Effect<CallResult> =>
      Effect.withFiber((fiber) => {
        if (released) return Effect.die(new Error(`plugin "${plugin}" was called after its scope closed`))
        if (payload instanceof UnencodableValue) {
          return Effect.succeed({ _tag: "Err", error: payload, fuelUsed: undefined })
        }
        clock = Context.get(fiber.context, Clock.Clock)
        const result = guest.call(hook, payload)
        return logs.length === 0 ? Effect.succeed(result) : Effect.as(flushLogs(hook), result)
      })

    const dispatcher: WasmDispatcher = {
      plugin,
      invokeAction: (hook, args = []) =>
        Effect.flatMap(call(hook, Abi.actionPayload(plugin, hook, args)), (result) => {
          if (result._tag === "Err") return Effect.fail(result.error)
          const error = result.body === undefined ? undefined : Abi.bodyError(plugin, hook, result.body)
          return error === undefined ? Effect.void : Effect.fail(error)
        }),
      invokeFilter: (hook, value, args = []) =>
        Effect.flatMap(call(hook, Abi.filterPayload(plugin, hook, value, args)), (result) => {
          if (result._tag === "Err") return Effect.fail(result.error)
          const outcome = Abi.filterOutcome(plugin, hook, value, result.body)
          return outcome instanceof Error ? Effect.fail(outcome) : Effect.succeed(outcome)
        }),
      instances: Effect.sync(() => guest.instances)
    }
    return dispatcher
  })
