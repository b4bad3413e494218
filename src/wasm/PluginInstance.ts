/**
 * A WebAssembly plugin's running instances as a scoped resource: checks the module against ABI v1, instantiates a
 * pool of instances (inline or on worker threads) with the host imports and the sandbox (fuel, memory cap, timeout,
 * circuit breaker), and calls the plugin's hooks on them. Usable on its own, without a bus.
 *
 * (Formerly `WasmDispatcher`; that name is a deprecated alias for one release.)
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import { availableParallelism } from "node:os"
import { errorMessage } from "../domain/errorMessage.ts"
import * as HookMetrics from "../domain/HookMetrics.ts"
import { check, InvalidOptions } from "../domain/InvalidOptions.ts"
import {
  AbiVersionMismatch,
  InvalidModule,
  MemoryLimit,
  ModuleTooLarge,
  type PluginCallError,
  type PluginLoadError,
  PluginSuspended,
  UnencodableValue,
  WasiNotGranted
} from "../domain/PluginErrors.ts"
import * as Abi from "./Abi.ts"
import { type BreakerState, CircuitBreaker, defaults as breakerDefaults } from "./CircuitBreaker.ts"
import * as Executor from "./Executor.ts"
import * as Fuel from "./Fuel.ts"
import type { CallResult } from "./Guest.ts"
import * as HostFunction from "./HostFunction.ts"
import * as LogWindow from "./internal/LogWindow.ts"
import { PluginInstanceOptionsSchema } from "./internal/Options.ts"
import * as Wasi from "./internal/Wasi.ts"
import * as WasmBinary from "./WasmBinary.ts"
import * as WorkerExecutor from "./WorkerExecutor.ts"

/**
 * Per-plugin limits; the same fields as a manifest's `limits`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { PluginInstance } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const limits: PluginInstance.PluginLimits = { fuel: 10_000_000, memoryPages: 32, maxPayloadBytes: 65_536 }
 * const program = PluginInstance.make(bytes, { name: "seo", limits })
 */
export interface PluginLimits {
  /** Memory cap in 64 KiB pages (default 256 = 16 MiB). */
  readonly memoryPages?: number | undefined
  /** Fuel (instruction budget) per call (default 50 million units). */
  readonly fuel?: number | undefined
  /** Wall-clock limit per call in worker mode, in milliseconds (default 2000). */
  readonly timeoutMs?: number | undefined
  /** Cap on an encoded payload in bytes (default 1 MiB). */
  readonly maxPayloadBytes?: number | undefined
  /** Cap on a result body in bytes (default 1 MiB). */
  readonly maxResultBytes?: number | undefined
  /** Cap on the module's size in bytes (default 16 MiB), checked before anything reads it. */
  readonly maxModuleBytes?: number | undefined
  /** Cap on the number of functions the module defines (default 50,000). */
  readonly maxFunctions?: number | undefined
  /** Cap on the elements of the module's table, its maximum rewritten to it (default 65,536). */
  readonly maxTableElements?: number | undefined
  /** `gn_log` lines kept per call (default 1,000); the rest are counted, dropped and reported in one line. */
  readonly logLinesPerCall?: number | undefined
  /** `gn_log` bytes kept per call (default 256 KiB). */
  readonly logBytesPerCall?: number | undefined
  /** `gn_log` lines logged per plugin per second, over all its calls (default 2,000). */
  readonly logLinesPerSecond?: number | undefined
  /** `gn_log` characters logged per plugin per second (default 1,048,576). */
  readonly logCharsPerSecond?: number | undefined
}

/**
 * Circuit breaker settings.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { PluginInstance } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const breaker: PluginInstance.BreakerOptions = { maxFailures: 3, window: "30 seconds", coolDown: "1 minute" }
 * const program = PluginInstance.make(bytes, { name: "seo", breaker })
 */
export interface BreakerOptions {
  /** Traps, timeouts or fuel exhaustions that open the breaker (default 5). */
  readonly maxFailures?: number | undefined
  /** The window they are counted in (default 1 minute). */
  readonly window?: Duration.Input | undefined
  /** How long the plugin stays suspended (default 30 seconds). */
  readonly coolDown?: Duration.Input | undefined
}

/**
 * Options of `PluginInstance.make`: the manifest's limits plus the host-side plugin options.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { PluginInstance } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const options: PluginInstance.PluginInstanceOptions = { name: "seo", execution: "worker", pool: { size: 2 } }
 * const program = PluginInstance.make(bytes, options)
 */
export interface PluginInstanceOptions {
  /** The plugin's name, used in errors and logs (default "anonymous"). */
  readonly name?: string | undefined
  readonly limits?: PluginLimits | undefined
  /** Meter calls with fuel (default true). */
  readonly fuel?: boolean | undefined
  /** "inline" (default): calls run on the calling thread; "worker": on worker threads, with a wall-clock timeout. */
  readonly execution?: "inline" | "worker" | undefined
  /** Instances per plugin: default 1 inline, the number of cores in worker mode. */
  readonly pool?: { readonly size?: number | undefined } | undefined
  /** The circuit breaker, or `false` for none. */
  readonly breaker?: BreakerOptions | false | undefined
  /**
   * WASI preview 1 granted to the module (absent: none, and a module importing any of it fails with
   * `WasiNotGranted`): stdout/stderr to the logger, empty arguments and environment, plus `clock` and `random`
   * when true.
   */
  readonly wasi?: {
    readonly clock?: boolean | undefined
    readonly random?: boolean | undefined
    /** A directory the guest may read, seen as `/<guest>`; `host` is the host's path (the caller vouches for it). */
    readonly preopen?: { readonly guest: string; readonly host: string } | undefined
  } | undefined
  /**
   * The settings `gn_config_get` reads, key by key (the manifest's `config` when loaded by `Plugin`): a JSON
   * object; a value with no JSON form fails with `InvalidOptions`.
   */
  readonly config?: Readonly<Record<string, unknown>> | undefined
  /**
   * Host functions the module may import from module `host` (ABI v1.1); a module importing one not listed fails
   * with `UnknownImport`. Inline and in worker mode (they run on the host's thread while the worker waits).
   */
  readonly hostFunctions?: ReadonlyArray<HostFunction.HostFunction> | undefined
}

/**
 * Default memory cap: 256 pages, 16 MiB.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { PluginInstance } from "hookbus/wasm"
 *
 * const mib = (PluginInstance.defaultMemoryPages * 65_536) / 1_048_576 // 16
 */
export const defaultMemoryPages = 256

/**
 * Default cap on a module's size: 16 MiB.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { PluginInstance } from "hookbus/wasm"
 *
 * const tooBig = (bytes: Uint8Array) => bytes.length > PluginInstance.defaultMaxModuleBytes
 */
export const defaultMaxModuleBytes = 16 * 1024 * 1024

/**
 * Default cap on the functions a module defines.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { PluginInstance } from "hookbus/wasm"
 *
 * const limits = { maxFunctions: PluginInstance.defaultMaxFunctions / 10 }
 */
export const defaultMaxFunctions = 50_000

/**
 * Default cap on the elements of a module's table: 65,536 (512 KiB of references per instance).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { PluginInstance } from "hookbus/wasm"
 *
 * const limits = { maxTableElements: PluginInstance.defaultMaxTableElements * 4 } // for a module with many closures
 */
export const defaultMaxTableElements = 65_536

/**
 * Default wall-clock limit per call in worker mode.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { PluginInstance } from "hookbus/wasm"
 *
 * const limits = { timeoutMs: PluginInstance.defaultTimeoutMs / 4 } // 500 ms per call in worker mode
 */
export const defaultTimeoutMs = 2000

/**
 * What `status` reports.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { PluginInstance } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const program = Effect.gen(function*() {
 *   const instance = yield* PluginInstance.make(bytes, { name: "seo" })
 *   const status: PluginInstance.PluginStatus = yield* instance.status
 *   return `${status.breaker}: ${status.calls} calls, ${status.rejected} refused`
 * })
 */
export interface PluginStatus {
  readonly plugin: string
  readonly execution: "inline" | "worker"
  readonly breaker: BreakerState | "disabled"
  /** When the breaker is open: the end of the cool-down (Unix ms). */
  readonly suspendedUntil: number | undefined
  /** Counted failures (traps, timeouts, fuel) in the current window. */
  readonly recentFailures: number
  /** How many times the breaker opened. */
  readonly suspensions: number
  /** Calls made, and calls refused while suspended. */
  readonly calls: number
  readonly rejected: number
  /** Instances or workers created so far. */
  readonly instances: number
  /** Fuel used by the last metered call. */
  readonly lastFuelUsed: number | undefined
  /** Fuel used per metered call on average (`undefined` before the first one). */
  readonly averageFuelUsed: number | undefined
  /** The memory cap, in 64 KiB pages. */
  readonly memoryPages: number
  /**
   * The guest memory in use, in 64 KiB pages: the largest instance's now (in worker mode, as of each worker's last
   * answer; 0 before the first).
   */
  readonly memoryPagesUsed: number
  /** The last call's failure (a refusal while suspended included), if any call failed. */
  readonly lastError: { readonly _tag: string; readonly message: string } | undefined
}

/**
 * A loaded plugin module: its pool of instances, behind the sandbox.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { PluginInstance } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const program = Effect.gen(function*() {
 *   const upper: PluginInstance.PluginInstance = yield* PluginInstance.make(bytes, { name: "uppercase" })
 *   const { value } = yield* upper.callFilter("the_content", "hello") // "HELLO"
 *   yield* upper.callAction("post.saved", ["42"])
 *   return value
 * })
 */
export interface PluginInstance {
  readonly plugin: string
  /** Calls the plugin for an action hook: `{"kind":"action","args":[...]}`. */
  readonly callAction: (hook: string, args?: ReadonlyArray<unknown>) => Effect.Effect<void, PluginCallError>
  /**
   * Calls the plugin for a filter hook: `{"kind":"filter","value":...,"args":[...]}`; returns the new value and the
   * short-circuit flag.
   */
  readonly callFilter: (
    hook: string,
    value: unknown,
    args?: ReadonlyArray<unknown>
  ) => Effect.Effect<Abi.FilterOutcome, PluginCallError>
  /** @deprecated Use `callAction` (the same function; removed in the next release). */
  readonly invokeAction: PluginInstance["callAction"]
  /** @deprecated Use `callFilter` (the same function; removed in the next release). */
  readonly invokeFilter: PluginInstance["callFilter"]
  /** How many instances were created so far (one more after every trap). */
  readonly instances: Effect.Effect<number>
  /** The breaker, pool and fuel figures. */
  readonly status: Effect.Effect<PluginStatus>
}

/** Why these host functions cannot be used (a bad or repeated name, a non-HostFunction), or `undefined`. */
const hostFunctionsProblem = (functions: ReadonlyArray<unknown>): string | undefined => {
  if (!Array.isArray(functions)) return "expected an array of HostFunction.make values"
  const seen = new Set<string>()
  for (let i = 0; i < functions.length; i++) {
    const f = functions[i]
    if (!HostFunction.isHostFunction(f)) return `hostFunctions[${i}] is not made by HostFunction.make`
    if (!HostFunction.namePattern.test(f.name)) {
      return `hostFunctions[${i}] is named ${JSON.stringify(f.name)}: expected ${HostFunction.namePattern.source}`
    }
    if (seen.has(f.name)) return `hostFunctions[${i}] repeats the name "${f.name}"`
    seen.add(f.name)
  }
  return undefined
}

/** Each config key's value as JSON text (for gn_config_get), or the reason it cannot be. */
const configTexts = (
  config: Readonly<Record<string, unknown>> | undefined
): Readonly<Record<string, string>> | undefined | string => {
  if (config === undefined) return undefined
  if (typeof config !== "object" || config === null || Array.isArray(config)) return "expected a JSON object"
  const texts: Record<string, string> = Object.create(null)
  for (const [key, value] of Object.entries(config)) {
    const text = Abi.toJson(value)
    if (typeof text !== "string") return `config.${key}: ${text.error}`
    texts[key] = text
  }
  return texts
}

/** The host functions by name, each run in the loading fiber's context. */
const bindHostFunctions = (functions: ReadonlyArray<HostFunction.HostFunction>) =>
  Effect.map(
    Effect.context<never>(),
    (context) =>
      new Map(functions.map((f): [string, (input: string) => string] => [f.name, (input) => f.call(context, input)]))
  )

/** Failures the breaker counts: the plugin misbehaved, rather than reporting an error. */
const countedByBreaker = (error: PluginCallError): boolean =>
  error._tag === "Trapped" || error._tag === "Timeout" || error._tag === "OutOfFuel"

/**
 * Compiles and instantiates a plugin module, checking it against ABI v1, with its sandbox: fuel, a memory cap, and
 * in worker mode a wall-clock timeout. Closing the scope releases every instance or worker.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Effect } from "effect"
 * import { PluginInstance } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const program = Effect.gen(function*() {
 *   const upper = yield* PluginInstance.make(bytes, { name: "uppercase", limits: { memoryPages: 16 } })
 *   const { value } = yield* upper.callFilter("the_content", "hello") // "HELLO"
 *   return value
 * }).pipe(Effect.scoped)
 */
export const make = (
  bytes: Uint8Array,
  options: PluginInstanceOptions = {}
): Effect.Effect<PluginInstance, PluginLoadError | InvalidOptions, Scope.Scope> =>
  Effect.gen(function*() {
    yield* check("PluginInstance", PluginInstanceOptionsSchema, options)
    const plugin = options.name ?? "anonymous"
    const limits = options.limits ?? {}
    const execution = options.execution ?? "inline"
    const memoryPages = limits.memoryPages ?? defaultMemoryPages
    const budget = options.fuel === false ? undefined : limits.fuel ?? Fuel.defaultBudget
    const timeoutMs = limits.timeoutMs ?? defaultTimeoutMs
    const poolSize = options.pool?.size ??
      (execution === "worker" ? availableParallelism() : 1)
    const maxModuleBytes = limits.maxModuleBytes ?? defaultMaxModuleBytes
    if (bytes.length > maxModuleBytes) {
      return yield* new ModuleTooLarge({
        plugin,
        limit: "maxModuleBytes",
        actual: bytes.length,
        maximum: maxModuleBytes
      })
    }
    const info = yield* Effect.try({
      try: () => WasmBinary.read(bytes),
      catch: (error) => new InvalidModule({ plugin, reason: errorMessage(error) })
    })
    const maxFunctions = limits.maxFunctions ?? defaultMaxFunctions
    if (info.functions > maxFunctions) {
      return yield* new ModuleTooLarge({ plugin, limit: "maxFunctions", actual: info.functions, maximum: maxFunctions })
    }
    const hostFunctions = options.hostFunctions ?? []
    const functionProblem = hostFunctionsProblem(hostFunctions)
    if (functionProblem !== undefined) {
      return yield* new InvalidOptions({ of: "PluginInstance", option: "hostFunctions", detail: functionProblem })
    }
    const config = configTexts(options.config)
    if (typeof config === "string") {
      return yield* new InvalidOptions({ of: "PluginInstance", option: "config", detail: config })
    }
    const wasi = Wasi.grantOf(options.wasi)
    const ungranted = Wasi.ungranted(info.imports, wasi)
    if (ungranted.length > 0) return yield* new WasiNotGranted({ plugin, imports: ungranted })
    const problem = Abi.checkModule(plugin, info, hostFunctions.map((f) => f.name))
    if (problem !== undefined) return yield* problem
    // One memory, capped below. A second one would escape the cap (and ABI v1 speaks of one).
    if (info.memories.length > 1) {
      return yield* new InvalidModule({
        plugin,
        reason: `the module defines ${info.memories.length} memories; ABI v1 allows one`
      })
    }
    const memory = info.memories[0]
    if (memory !== undefined && memory.memory64) {
      return yield* new InvalidModule({ plugin, reason: "64-bit memories are not supported by ABI v1" })
    }
    if (memory !== undefined && memory.min > memoryPages) {
      return yield* new MemoryLimit({ plugin, minimumPages: memory.min, limitPages: memoryPages })
    }
    // One table, capped below like the memory: a table of 10 million references is 80 MiB per instance.
    const tableProblem = WasmBinary.tableFormProblem(info)
    if (tableProblem !== undefined) return yield* new InvalidModule({ plugin, reason: tableProblem })
    const maxTableElements = limits.maxTableElements ?? defaultMaxTableElements
    const table = info.tables[0]
    if (table !== undefined && table.min > maxTableElements) {
      return yield* new ModuleTooLarge({
        plugin,
        limit: "maxTableElements",
        actual: table.min,
        maximum: maxTableElements
      })
    }
    // The engine is the judge of validity, before the fuel instrumentation reads the module.
    if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
      return yield* Effect.tryPromise({
        try: () => WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>),
        catch: (error) => new InvalidModule({ plugin, reason: errorMessage(error) })
      }).pipe(Effect.flatMap(() => new InvalidModule({ plugin, reason: "the engine rejects the module" })))
    }
    let prepared: Uint8Array = bytes
    if (budget !== undefined) {
      prepared = yield* Effect.tryPromise({
        try: () => Fuel.instrument(bytes),
        catch: (error) => new InvalidModule({ plugin, reason: `cannot instrument for fuel: ${errorMessage(error)}` })
      })
    }
    const preparedInfo = prepared === bytes ? info : WasmBinary.read(prepared)
    // The memory section comes after the table section, so rewriting it first leaves the table's offsets valid.
    const capped = WasmBinary.withTableMaximum(
      WasmBinary.withMemoryMaximum(prepared, preparedInfo, memoryPages),
      preparedInfo,
      maxTableElements
    ) as Uint8Array<ArrayBuffer>
    const module = yield* Effect.tryPromise({
      try: () => WebAssembly.compile(capped),
      catch: (error) => new InvalidModule({ plugin, reason: errorMessage(error) })
    })
    const spec = {
      plugin,
      module,
      limits: {
        maxPayloadBytes: limits.maxPayloadBytes ?? Abi.defaultMaxPayloadBytes,
        maxResultBytes: limits.maxResultBytes ?? Abi.defaultMaxResultBytes,
        logLinesPerCall: limits.logLinesPerCall ?? Abi.defaultLogLinesPerCall,
        logBytesPerCall: limits.logBytesPerCall ?? Abi.defaultLogBytesPerCall,
        fuel: budget,
        // Only modules that import WASI get it: the others keep the import object they always had.
        wasi: Wasi.usesWasi(info.imports) ? wasi : undefined,
        config
      },
      functions: hostFunctions.length === 0 ? undefined : yield* bindHostFunctions(hostFunctions)
    }
    const executor = execution === "worker"
      ? yield* WorkerExecutor.workers(spec, poolSize, timeoutMs)
      : yield* Executor.inline(spec, poolSize)
    if (executor.version !== undefined && executor.version !== Abi.version) {
      yield* executor.close
      return yield* new AbiVersionMismatch({ plugin, version: executor.version })
    }
    let released = false
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        released = true
        return executor.close
      })
    )

    const breaker = options.breaker === false ? undefined : new CircuitBreaker({
      maxFailures: options.breaker?.maxFailures ?? breakerDefaults.maxFailures,
      windowMs: Duration.toMillis(options.breaker?.window ?? breakerDefaults.windowMs),
      coolDownMs: Duration.toMillis(options.breaker?.coolDown ?? breakerDefaults.coolDownMs)
    })
    let calls = 0
    let rejected = 0
    let lastFuelUsed: number | undefined
    let fuelUsedTotal = 0
    let meteredCalls = 0
    let lastError: PluginStatus["lastError"]

    // The per-second gn_log cap: a window per wall-clock second, over every call and instance of this plugin.
    const flushLogs = LogWindow.make(
      plugin,
      limits.logLinesPerSecond ?? Abi.defaultLogLinesPerSecond,
      limits.logCharsPerSecond ?? Abi.defaultLogCharsPerSecond
    )

    /**
     * One call from `fiber`: the result itself when it is known on the spot (an inline call with nothing to log
     * or meter, a rejection), otherwise the Effect that completes it. Sparing the Effect steps matters: they cost
     * as much as the guest's own work on a small value.
     */
    const callNow = (
      fiber: Fiber.Fiber<unknown, unknown>,
      hook: string,
      payload: string | UnencodableValue
    ): CallResult | Effect.Effect<CallResult> => {
      if (released) return Effect.die(new Error(`plugin "${plugin}" was called after its scope closed`))
      if (payload instanceof UnencodableValue) {
        lastError = { _tag: payload._tag, message: payload.message }
        return { _tag: "Err", error: payload, fuelUsed: undefined }
      }
      calls++
      const callSync = executor.callSync
      const clock = breaker === undefined && callSync === undefined
        ? undefined
        : Context.get(fiber.context, Clock.Clock)
      const admission = breaker === undefined ? undefined : breaker.admit(clock!.currentTimeMillisUnsafe())
      if (admission !== undefined && admission._tag === "Reject") {
        rejected++
        lastError = { _tag: "PluginSuspended", message: `plugin "${plugin}" is suspended by its circuit breaker` }
        return {
          _tag: "Err",
          error: new PluginSuspended({ plugin, hook, until: admission.until }),
          fuelUsed: undefined
        }
      }
      const settle = (answer: Executor.Answer): CallResult | Effect.Effect<CallResult> => {
        if (breaker === undefined || admission === undefined) return recordAnswer(hook, answer)
        const result = answer.result
        const counted = result._tag === "Err" && countedByBreaker(result.error)
        const opened = breaker.record(clock!.currentTimeMillisUnsafe(), admission, counted)
        const recorded = recordAnswer(hook, answer)
        if (!opened) return recorded
        return Effect.andThen(
          Effect.logWarning(
            `plugin suspended for ${
              Duration.format(Duration.millis(breaker.openUntil - clock!.currentTimeMillisUnsafe()))
            }: circuit breaker opened`
          ).pipe(Effect.annotateLogs({ plugin, hook, source: `plugin:${plugin}` })),
          Effect.isEffect(recorded) ? recorded : Effect.succeed(recorded)
        )
      }
      // Inline: synchronous, so nothing can interrupt it half way.
      if (callSync !== undefined) return settle(callSync(hook, payload, clock!))
      const answered = Effect.flatMap(executor.call(hook, payload), (answer) => {
        const settled = settle(answer)
        return Effect.isEffect(settled) ? settled : Effect.succeed(settled)
      })
      return admission === undefined
        ? answered
        : Effect.onInterrupt(answered, () => Effect.sync(() => breaker!.abandon(admission)))
    }

    /** `callNow`, then `then` on its result, with no Effect step between them when the result came on the spot. */
    const callThen = <A, E>(
      hook: string,
      payload: string | UnencodableValue,
      then: (result: CallResult) => Effect.Effect<A, E>
    ): Effect.Effect<A, E> =>
      Effect.withFiber((fiber) => {
        const now = callNow(fiber, hook, payload)
        return Effect.isEffect(now) ? Effect.flatMap(now, then) : then(now)
      })

    const recordAnswer = (hook: string, answer: Executor.Answer): CallResult | Effect.Effect<CallResult> => {
      const fuelUsed = answer.result.fuelUsed
      if (answer.result._tag === "Err") {
        lastError = { _tag: answer.result.error._tag, message: answer.result.error.message }
      }
      if (fuelUsed !== undefined) {
        fuelUsedTotal += fuelUsed
        meteredCalls++
      }
      if (fuelUsed === undefined && answer.logs.length === 0) return answer.result
      const logged = answer.logs.length === 0 ? Effect.void : flushLogs(hook, answer.logs)
      if (fuelUsed === undefined) return Effect.as(logged, answer.result)
      lastFuelUsed = fuelUsed
      return Effect.andThen(logged, Metric.update(fuelSeries, fuelUsed)).pipe(
        Effect.andThen(Effect.annotateCurrentSpan("plugin.fuel_used", fuelUsed)),
        Effect.as(answer.result)
      )
    }

    const fuelSeries = HookMetrics.pluginFuelUsedOf(plugin)
    // Logs the call's gn_log lines and records its fuel; the answer itself goes back unchanged.
    const callAction: PluginInstance["callAction"] = (hook, args = []) =>
      callThen(hook, Abi.actionPayload(plugin, hook, args), (result) => {
        if (result._tag === "Err") return Effect.fail(result.error)
        const error = result.body === undefined ? undefined : Abi.bodyError(plugin, hook, result.body)
        return error === undefined ? Effect.void : Effect.fail(error)
      })
    const callFilter: PluginInstance["callFilter"] = (hook, value, args = []) =>
      callThen(hook, Abi.filterPayload(plugin, hook, value, args), (result) => {
        if (result._tag === "Err") return Effect.fail(result.error)
        const outcome = Abi.filterOutcome(plugin, hook, value, result.body)
        return outcome instanceof Error ? Effect.fail(outcome) : Effect.succeed(outcome)
      })
    const instance: PluginInstance = {
      plugin,
      callAction,
      callFilter,
      invokeAction: callAction,
      invokeFilter: callFilter,
      instances: Effect.sync(() => executor.instances()),
      status: Effect.withFiber((fiber) => {
        const now = Context.get(fiber.context, Clock.Clock).currentTimeMillisUnsafe()
        const state = breaker === undefined ? "disabled" as const : breaker.stateAt(now)
        return Effect.succeed({
          plugin,
          execution,
          breaker: state,
          suspendedUntil: breaker !== undefined && breaker.state === "open" ? breaker.openUntil : undefined,
          recentFailures: breaker?.recentFailures(now) ?? 0,
          suspensions: breaker?.opened ?? 0,
          calls,
          rejected,
          instances: executor.instances(),
          lastFuelUsed,
          averageFuelUsed: meteredCalls === 0 ? undefined : fuelUsedTotal / meteredCalls,
          memoryPages,
          memoryPagesUsed: Math.ceil(executor.memoryBytes() / 65_536),
          lastError
        })
      })
    }
    return instance
  })

/**
 * The former name of `PluginInstance`.
 *
 * @deprecated Use `PluginInstance` (removed in the next release).
 * @since 0.1.0
 * @category models
 * @example
 * import type { PluginInstance } from "hookbus/wasm"
 *
 * type Old = PluginInstance.WasmDispatcher // the same type as PluginInstance.PluginInstance
 */
export type WasmDispatcher = PluginInstance

/**
 * The former name of `PluginInstanceOptions`.
 *
 * @deprecated Use `PluginInstanceOptions` (removed in the next release).
 * @since 0.1.0
 * @category models
 * @example
 * import type { PluginInstance } from "hookbus/wasm"
 *
 * const options: PluginInstance.WasmDispatcherOptions = { name: "seo" } // PluginInstance.PluginInstanceOptions
 */
export type WasmDispatcherOptions = PluginInstanceOptions
