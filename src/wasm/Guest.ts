/**
 * One plugin instance and the synchronous protocol of a call: allocate and write the name and payload, call
 * `gn_handle_hook`, decode the packed result, copy the body out, free all three blocks. No Effects here, so the
 * same code runs inline and inside a worker thread. Every JavaScript exception is turned into a tagged error:
 * a guest can fail a call, never throw into the host.
 *
 * @since 0.1.0
 */
import { errorMessage } from "../domain/errorMessage.ts"
import {
  BadResult,
  GuestOutOfMemory,
  OutOfFuel,
  PayloadTooLarge,
  type PluginCallError,
  type TrapKind,
  Trapped
} from "../domain/PluginErrors.ts"
import * as Abi from "./Abi.ts"
import * as Fuel from "./Fuel.ts"
import * as Wasi from "./internal/Wasi.ts"

/** What the host provides to the guest's imports. */
export interface GuestHost {
  /** A `gn_log` line (level 0 debug, 1 info, 2 warn, 3 error). */
  readonly log: (level: number, message: string) => void
  /** Wall clock in Unix milliseconds, for `gn_time_ms`. */
  readonly nowMillis: () => number
  /**
   * The host functions (module `host`) by name: JSON arguments in, a JSON result body out (`{"value":...}` or
   * `{"error":{...}}`). Synchronous: they run inside the guest's call (in a worker, stand-ins that wait for the
   * host thread's answer: `worker/hostChannel.ts`).
   */
  readonly functions?: ReadonlyMap<string, (input: string) => string> | undefined
}

/** Limits a guest call runs under. */
export interface GuestLimits {
  readonly maxPayloadBytes: number
  readonly maxResultBytes: number
  /** Caps on `gn_log` per call (default `Abi.defaultLogLinesPerCall` and `Abi.defaultLogBytesPerCall`). */
  readonly logLinesPerCall?: number | undefined
  readonly logBytesPerCall?: number | undefined
  /**
   * Fuel per call (and for instantiation, which runs the start function) when the module is instrumented by
   * `Fuel.instrument`; `undefined` when it is not.
   */
  readonly fuel: number | undefined
  /** WASI preview 1 as granted (absent: none). Plain data: it travels to worker threads with the limits. */
  readonly wasi?: Wasi.WasiGrant | undefined
  /**
   * The manifest's `config`, each key's value as JSON text, for `gn_config_get`. Plain data, like `wasi`.
   */
  readonly config?: Readonly<Record<string, string>> | undefined
}

/** A call's outcome: the parsed body (or none), or the error. */
export type CallResult =
  | { readonly _tag: "Ok"; readonly body: Record<string, unknown> | undefined; readonly fuelUsed: number | undefined }
  | { readonly _tag: "Err"; readonly error: PluginCallError; readonly fuelUsed: number | undefined }

/** Thrown by `gn_panic` to unwind the guest. */
class PanicSignal {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

interface Exports {
  readonly memory: WebAssembly.Memory
  readonly gn_alloc: (size: number) => number
  readonly gn_free: (ptr: number, size: number) => void
  readonly gn_handle_hook: (namePtr: number, nameLen: number, payloadPtr: number, payloadLen: number) => bigint
  readonly gn_abi_version?: () => number
}

const encoder = new TextEncoder()
/** The largest in-place payload block (3 bytes per UTF-16 unit): 21,845 units or fewer. */
const inPlaceCapacity = 65_536
/** Hook names cached per guest; past this (a host dispatching made-up names) names are encoded per call. */
const maxCachedNames = 256
const lossyDecoder = new TextDecoder("utf-8")

/** Classifies a thrown value from guest code. */
const trapOf = (error: unknown): { readonly kind: TrapKind; readonly detail: string } => {
  if (error instanceof PanicSignal) return { kind: "panic", detail: error.message }
  const message = errorMessage(error)
  if (error instanceof RangeError && /call stack/i.test(message)) return { kind: "stack_overflow", detail: message }
  if (error instanceof WebAssembly.RuntimeError) {
    if (/unreachable/i.test(message)) return { kind: "unreachable", detail: message }
    if (/out of bounds/i.test(message)) return { kind: "out_of_bounds", detail: message }
    if (/divi(de|sion) by zero|remainder by zero/i.test(message)) return { kind: "divide_by_zero", detail: message }
    if (/call stack/i.test(message)) return { kind: "stack_overflow", detail: message }
  }
  return { kind: "other", detail: message }
}

// The i64 result is split without BigInt arithmetic: little endian, index 1 is ptr (unsigned), index 0 is len.
const packed = new BigInt64Array(1)
const halves = new Int32Array(packed.buffer)
// The same for the results of gn_config_get and host functions (they run inside a call, while `packed` waits).
const answerPacked = new BigInt64Array(1)
const answerHalves = new Int32Array(answerPacked.buffer)
const packAnswer = (ptr: number, len: number): bigint => {
  answerHalves[1] = ptr
  answerHalves[0] = len
  return answerPacked[0]
}
const strictDecoder = new TextDecoder("utf-8", { fatal: true })
/** The longest `gn_config_get` key read (a hook name's bound). */
const maxConfigKeyBytes = 256

/** A compiled plugin with (at most) one live instance, re-created after a trap. */
export class Guest {
  readonly plugin: string
  private readonly module: WebAssembly.Module
  private readonly limits: GuestLimits
  private readonly host: GuestHost
  private readonly fuel: Fuel.Meter | undefined
  private exports: Exports | undefined = undefined
  /** How many instances were made: a new one after every trap. */
  instances = 0
  // gn_log accounting of the current call.
  private logLines = 0
  private logBytes = 0
  private droppedLines = 0
  private droppedBytes = 0
  /** Each hook name's UTF-8 bytes, encoded once (a plugin handles a handful of hooks). */
  private readonly names = new Map<string, Uint8Array>()

  constructor(
    plugin: string,
    module: WebAssembly.Module,
    limits: GuestLimits,
    host: GuestHost
  ) {
    this.plugin = plugin
    this.module = module
    this.limits = limits
    this.host = host
    this.fuel = limits.fuel === undefined ? undefined : new Fuel.Meter()
  }

  /** Instantiates now (running the start function, on the call budget); returns the error if it traps. */
  start(hook = "(start)"): Trapped | OutOfFuel | undefined {
    try {
      this.ensure()
      return undefined
    } catch (error) {
      this.drop()
      return this.failure(hook, error)
    }
  }

  /** The value of `gn_abi_version` (on the call budget), when exported, or how calling it failed. */
  abiVersion(): number | undefined | Trapped | OutOfFuel {
    const hook = Abi.versionExport.name
    try {
      const exports = this.ensure()
      if (exports.gn_abi_version === undefined) return undefined
      if (this.fuel !== undefined) this.fuel.reset(this.limits.fuel!)
      return exports.gn_abi_version()
    } catch (error) {
      this.drop()
      return this.failure(hook, error)
    }
  }

  /** Throws the instance away; the next call instantiates a fresh one. */
  drop(): void {
    this.exports = undefined
  }

  /** The live instance's memory, instantiating if needed (for probes and tests that prepare guest memory). */
  memory(): WebAssembly.Memory {
    return this.ensure().memory
  }

  /** The guest memory's size in bytes (0 before the first instance). */
  memoryBytes(): number {
    return this.exports?.memory.buffer.byteLength ?? 0
  }

  private ensure(): Exports {
    if (this.exports !== undefined) return this.exports
    const memoryRef: { memory: WebAssembly.Memory | undefined } = { memory: undefined }
    const readText = (ptr: number, len: number, max: number): string => {
      const memory = memoryRef.memory
      if (memory === undefined) return ""
      const buffer = memory.buffer
      const start = ptr >>> 0
      const length = Math.min(len >>> 0, max, Math.max(0, buffer.byteLength - start))
      if (start >= buffer.byteLength || length === 0) return ""
      return lossyDecoder.decode(new Uint8Array(buffer, start, length))
    }
    const exportsRef: { exports: Exports | undefined } = { exports: undefined }
    /**
     * Hands the guest `text` in a block of its own (`gn_alloc`; the guest frees it): the packed (ptr, len), (0, 0)
     * for no text, (0, -2) when the guest has no block to give, (0, -1) inside the start function (no allocator to call yet).
     */
    const answer = (text: string | undefined): bigint => {
      if (text === undefined) return packAnswer(0, 0)
      const exports = exportsRef.exports
      if (exports === undefined) return packAnswer(0, Abi.Status.error)
      const bytes = encoder.encode(text)
      // Copying is host work: charged like a log line, one unit per 4 bytes.
      this.fuel?.charge(bytes.length >>> 2)
      const ptr = this.reserve(exports, bytes.length)
      if (ptr <= 0) return packAnswer(0, Abi.Status.outOfMemory)
      new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes)
      return packAnswer(ptr, bytes.length)
    }
    /** The bytes at `[ptr, ptr+len)` as strict UTF-8, or `undefined` when they are outside memory, too many or not UTF-8. */
    const readStrict = (ptr: number, len: number, max: number): string | undefined => {
      const memory = memoryRef.memory
      const start = ptr >>> 0
      const length = len >>> 0
      if (memory === undefined || length > max || start + length > memory.buffer.byteLength) return undefined
      this.fuel?.charge(length >>> 2)
      try {
        return strictDecoder.decode(new Uint8Array(memory.buffer, start, length))
      } catch {
        return undefined
      }
    }
    const config = this.limits.config
    const env: Record<string, WebAssembly.ImportValue> = {
      gn_log: (level: number, ptr: number, len: number) =>
        this.logLine(level, Math.min(len >>> 0, Abi.maxLogBytes), () => readText(ptr, len, Abi.maxLogBytes)),
      gn_panic: (ptr: number, len: number) => {
        throw new PanicSignal(readText(ptr, len, Abi.maxLogBytes))
      },
      gn_time_ms: () => BigInt(Math.trunc(this.host.nowMillis())),
      // The value of a key of the manifest's config as JSON text; (0, 0) when absent, (0, -3) for a bad key.
      gn_config_get: (ptr: number, len: number) => {
        if (exportsRef.exports === undefined) return packAnswer(0, Abi.Status.error)
        const key = readStrict(ptr, len, maxConfigKeyBytes)
        if (key === undefined) return packAnswer(0, Abi.Status.badPayload)
        return answer(config !== undefined && Object.hasOwn(config, key) ? config[key] : undefined)
      }
    }
    const imports: WebAssembly.Imports = this.fuel === undefined ? { env } : { env, ...this.fuel.imports }
    const functions = this.host.functions
    if (functions !== undefined && functions.size > 0) {
      const host: Record<string, WebAssembly.ImportValue> = {}
      for (const [name, run] of functions) {
        host[name] = (ptr: number, len: number) => {
          if (exportsRef.exports === undefined) return packAnswer(0, Abi.Status.error)
          const input = readStrict(ptr, len, this.limits.maxPayloadBytes)
          if (input === undefined) return packAnswer(0, Abi.Status.badPayload)
          return answer(run(input))
        }
      }
      imports[Abi.hostFunctionModule] = host
    }
    const wasi = this.limits.wasi
    let attach: ((instance: WebAssembly.Instance) => void) | undefined
    if (wasi !== undefined) {
      // stdout and stderr lines go where gn_log lines go, under the same per-call caps.
      const made = Wasi.imports(wasi, {
        memory: () => memoryRef.memory!,
        line: (level, text) => this.logLine(level, Math.min(text.length, Abi.maxLogBytes), () => text),
        nowMillis: () => this.host.nowMillis(),
        exit: (code) => {
          throw new PanicSignal(`proc_exit(${code})`)
        }
      })
      imports[Wasi.namespace] = made.imports
      attach = made.attach
    }
    // The start function runs during instantiation, under the same budget as a call.
    if (this.fuel !== undefined) this.fuel.reset(this.limits.fuel!)
    this.instances++
    const instance = new WebAssembly.Instance(this.module, imports)
    attach?.(instance)
    const exports = instance.exports as unknown as Exports
    memoryRef.memory = exports.memory
    exportsRef.exports = exports
    this.exports = exports
    return exports
  }

  /** One log line (gn_log, or WASI stdout/stderr) under the per-call caps; `read` runs only for a kept line. */
  private logLine(level: number, size: number, read: () => string): void {
    if (
      this.logLines >= (this.limits.logLinesPerCall ?? Abi.defaultLogLinesPerCall) ||
      this.logBytes + size > (this.limits.logBytesPerCall ?? Abi.defaultLogBytesPerCall)
    ) {
      // Counted, never read: a flood costs the host a comparison per line.
      this.droppedLines++
      this.droppedBytes += size
      return
    }
    this.logLines++
    this.logBytes += size
    // Reading and decoding the line is host work: charged as fuel, one unit per 4 bytes.
    this.fuel?.charge(size >>> 2)
    this.host.log(level, read())
  }

  /**
   * Checks the allocator: allocates `size` bytes, writes and reads them back, frees them, allocates again.
   * Returns a problem description, or `undefined` when the round trip works. Never throws.
   */
  probeAlloc(size: number): string | undefined {
    try {
      const exports = this.ensure()
      if (this.fuel !== undefined) this.fuel.reset(this.limits.fuel!)
      const ptr = exports.gn_alloc(size) >>> 0
      if (ptr === 0) return `gn_alloc(${size}) returned 0`
      if (ptr + size > exports.memory.buffer.byteLength) return `gn_alloc(${size}) returned ${ptr}, outside memory`
      const view = new Uint8Array(exports.memory.buffer, ptr, size)
      for (let i = 0; i < size; i++) view[i] = i & 0xff
      const back = new Uint8Array(exports.memory.buffer, ptr, size)
      for (let i = 0; i < size; i++) if (back[i] !== (i & 0xff)) return `bytes written at ${ptr} did not read back`
      exports.gn_free(ptr, size)
      const again = exports.gn_alloc(size) >>> 0
      if (again === 0) return `gn_alloc(${size}) returned 0 after a free`
      exports.gn_free(again, size)
      return undefined
    } catch (error) {
      this.drop()
      if (this.fuel?.exhausted === true) return "ran out of fuel"
      const trap = trapOf(error)
      return `trapped (${trap.kind}): ${trap.detail}`
    }
  }

  /**
   * The live instance's allocator, for conformance probes: `alloc`/`free` call `gn_alloc`/`gn_free` on a fresh
   * fuel budget each. They throw what the guest throws (the caller drops the guest then).
   */
  allocator(): { readonly alloc: (size: number) => number; readonly free: (ptr: number, size: number) => void } {
    const exports = this.ensure()
    const refuel = () => {
      if (this.fuel !== undefined) this.fuel.reset(this.limits.fuel!)
    }
    return {
      alloc: (size) => {
        refuel()
        return exports.gn_alloc(size) >>> 0
      },
      free: (ptr, size) => {
        refuel()
        exports.gn_free(ptr, size)
      }
    }
  }

  /** One call. Never throws. Lines over the `gn_log` caps are dropped and reported in one warning line. */
  call(hook: string, payload: string): CallResult {
    this.logLines = 0
    this.logBytes = 0
    this.droppedLines = 0
    this.droppedBytes = 0
    const result = this.callUnlogged(hook, payload)
    if (this.droppedLines > 0) {
      this.host.log(
        2,
        `dropped ${this.droppedLines} gn_log lines (${this.droppedBytes} bytes) over the per-call cap of ${
          this.limits.logLinesPerCall ?? Abi.defaultLogLinesPerCall
        } lines and ${this.limits.logBytesPerCall ?? Abi.defaultLogBytesPerCall} bytes`
      )
    }
    return result
  }

  private callUnlogged(hook: string, payload: string): CallResult {
    const plugin = this.plugin
    // UTF-8 takes at least a byte per UTF-16 unit, so a longer string is over the cap before it is encoded.
    if (payload.length > this.limits.maxPayloadBytes) return this.payloadTooLarge(hook, encoder.encode(payload).length)
    // A small payload is encoded straight into guest memory, into a block of the bound (3 bytes a unit); a large one
    // is encoded first, so the guest is never asked for three times its size.
    const capacity = payload.length * 3
    const payloadBytes = capacity <= inPlaceCapacity ? undefined : encoder.encode(payload)
    if (payloadBytes !== undefined && payloadBytes.length > this.limits.maxPayloadBytes) {
      return this.payloadTooLarge(hook, payloadBytes.length)
    }
    let nameBytes = this.names.get(hook)
    if (nameBytes === undefined) {
      nameBytes = encoder.encode(hook)
      if (this.names.size < maxCachedNames) this.names.set(hook, nameBytes)
    }
    let exports: Exports
    try {
      exports = this.ensure()
    } catch (error) {
      return this.trapped(hook, error, undefined)
    }
    const budget = this.limits.fuel
    if (budget !== undefined) this.fuel!.reset(budget)
    let namePtr = 0
    let payloadPtr = 0
    try {
      namePtr = this.write(exports, nameBytes)
      if (namePtr <= 0) return this.allocFailed(hook, namePtr, nameBytes.length)
      const payloadBlock = payloadBytes === undefined ? capacity : payloadBytes.length
      payloadPtr = payloadBytes === undefined ? this.reserve(exports, capacity) : this.write(exports, payloadBytes)
      if (payloadPtr <= 0) {
        exports.gn_free(namePtr, nameBytes.length)
        return this.allocFailed(hook, payloadPtr, payloadBlock)
      }
      let payloadLength = payloadBlock
      if (payloadBytes === undefined) {
        payloadLength = encoder.encodeInto(payload, new Uint8Array(exports.memory.buffer, payloadPtr, capacity)).written
        if (payloadLength > this.limits.maxPayloadBytes) {
          exports.gn_free(namePtr, nameBytes.length)
          exports.gn_free(payloadPtr, capacity)
          return this.payloadTooLarge(hook, payloadLength)
        }
      }
      packed[0] = exports.gn_handle_hook(namePtr, nameBytes.length, payloadPtr, payloadLength)
      const ptr = halves[1] >>> 0
      const len = halves[0]
      const fuelUsed = budget === undefined ? undefined : this.fuel!.used(budget)
      let result: CallResult
      if (ptr === 0 && len === 0) result = { _tag: "Ok", body: undefined, fuelUsed }
      else if (ptr === 0 && len < 0) result = { _tag: "Err", error: Abi.statusError(plugin, hook, len), fuelUsed }
      else {
        // Views are made after the call: a memory.grow inside it detaches the old buffer.
        const buffer = exports.memory.buffer
        const problem = Abi.checkResultBlock(plugin, hook, ptr, len, buffer.byteLength, this.limits.maxResultBytes)
        if (problem !== undefined) result = { _tag: "Err", error: problem, fuelUsed }
        else {
          const body = Abi.parseBody(plugin, hook, new Uint8Array(buffer, ptr, len))
          result = body instanceof Error ? { _tag: "Err", error: body, fuelUsed } : { _tag: "Ok", body, fuelUsed }
          exports.gn_free(ptr, len)
        }
      }
      // The host frees the blocks it allocated (the GoNext host leaks these two), unless the guest returned one.
      if (namePtr !== ptr) exports.gn_free(namePtr, nameBytes.length)
      if (payloadPtr !== ptr) exports.gn_free(payloadPtr, payloadBlock)
      return result
    } catch (error) {
      return this.trapped(hook, error, budget)
    }
  }

  /** Allocates a block with `gn_alloc` and copies `bytes` in; 0 or a negative value for failures. */
  private write(exports: Exports, bytes: Uint8Array): number {
    const ptr = this.reserve(exports, bytes.length)
    if (ptr > 0) new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes)
    return ptr
  }

  /** Allocates a block of `size` bytes with `gn_alloc`; 0 when it failed, minus the pointer when outside memory. */
  private reserve(exports: Exports, size: number): number {
    const ptr = exports.gn_alloc(size) >>> 0
    if (ptr === 0) return 0
    if (ptr + size > exports.memory.buffer.byteLength) return -ptr
    return ptr
  }

  private payloadTooLarge(hook: string, size: number): CallResult {
    return err(new PayloadTooLarge({ plugin: this.plugin, hook, size, limit: this.limits.maxPayloadBytes }))
  }

  private allocFailed(hook: string, ptr: number, size: number): CallResult {
    if (ptr === 0) return err(new GuestOutOfMemory({ plugin: this.plugin, hook }))
    // An allocator handing out blocks outside memory is broken: start over with a fresh instance.
    const memoryBytes = this.memoryBytes()
    this.drop()
    return err(
      new BadResult({
        plugin: this.plugin,
        hook,
        detail: `gn_alloc(${size}) returned ${-ptr}, a block outside memory of ${memoryBytes} bytes`
      })
    )
  }

  private trapped(hook: string, error: unknown, budget: number | undefined): CallResult {
    this.drop()
    const failure = this.failure(hook, error)
    return { _tag: "Err", error: failure, fuelUsed: failure._tag === "OutOfFuel" ? budget : undefined }
  }

  /**
   * A thrown value from guest code as the error it stands for: `OutOfFuel` when the fuel counter went negative
   * (the instrumentation's check traps), `Trapped` otherwise.
   */
  private failure(hook: string, error: unknown): Trapped | OutOfFuel {
    if (this.fuel?.exhausted === true) {
      return new OutOfFuel({ plugin: this.plugin, hook, fuel: this.limits.fuel! })
    }
    const trap = trapOf(error)
    return new Trapped({ plugin: this.plugin, hook, kind: trap.kind, detail: trap.detail })
  }
}

const err = (error: PluginCallError): CallResult => ({ _tag: "Err", error, fuelUsed: undefined })
