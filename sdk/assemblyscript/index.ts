// hookbus guest SDK for AssemblyScript: implements ABI v1 (docs/abi-v1.md) so a plugin only registers handlers.
//
//   import { filter, Result, Value } from "@hookbus/assemblyscript"
//   export { gn_alloc, gn_free, gn_handle_hook, gn_abi_version } from "@hookbus/assemblyscript"
//   filter("the_content", (value: Value, args: Array<Value>): Result =>
//     Result.value(Value.string(value.asString().toUpperCase())))
//
// Compile with `--runtime incremental --use abort=~lib/@hookbus/assemblyscript/index/hookbusAbort` (`hookbus build`
// and build.js do): the module then imports nothing but the ABI's host functions.

import { parse, quote, Value } from "./json"

export { parse, quote, Value } from "./json"

@external("env", "gn_log") declare function gn_log(level: i32, ptr: usize, len: i32): void
@external("env", "gn_panic") declare function gn_panic(ptr: usize, len: i32): void
@external("env", "gn_time_ms") declare function gn_time_ms(): i64
// ABI v1.1; imported only by plugins that call configGet (the compiler drops unused imports).
@external("env", "gn_config_get") declare function gn_config_get(ptr: usize, len: i32): i64

/** Log levels for `log`. */
export const enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3
}

/**
 * UTF-8 for the wire. AssemblyScript's default is WTF-8, which writes a lone surrogate as bytes no UTF-8 decoder
 * accepts (the host would refuse the whole result); the ABI wants UTF-8, so lone surrogates become U+FFFD.
 */
export function utf8(text: string): ArrayBuffer {
  return String.UTF8.encode(text, false, String.UTF8.ErrorMode.REPLACE)
}

/** Writes a line to the host's Effect logger. */
export function log(level: Level, message: string): void {
  const bytes = utf8(message)
  gn_log(<i32>level, changetype<usize>(bytes), bytes.byteLength)
}

/** Traps the call with `message` (the host reports `Trapped`, kind "panic"). Never returns. */
export function panic(message: string): void {
  const bytes = utf8(message)
  gn_panic(changetype<usize>(bytes), bytes.byteLength)
  unreachable()
}

/** The host's wall clock, Unix milliseconds. */
export function nowMs(): i64 {
  return gn_time_ms()
}

/**
 * A key of the manifest's `config` as JSON text (`"hello"` with its quotes, `42`, `{"words":300}`), or `null`
 * when the config has no such key (ABI v1.1, `gn_config_get`). `parse` turns the text into a `Value`.
 */
export function configGet(key: string): string | null {
  const bytes = utf8(key)
  const packed = gn_config_get(changetype<usize>(bytes), bytes.byteLength)
  const ptr = <u32>(packed >>> 32)
  const len = <i32>packed
  // (0, 0): no such key; (0, negative): the host could not answer (docs/abi-v1.md, section 8).
  if (ptr == 0 || len <= 0) return null
  const text = String.UTF8.decodeUnsafe(<usize>ptr, <usize>len)
  heap.free(<usize>ptr)
  return text
}

/** Used by the build as the runtime's `abort`: an assertion or runtime error becomes a panic with its message. */
export function hookbusAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const what = message !== null ? message : "abort"
  const where = fileName !== null ? fileName : "?"
  panic(what + " at " + where + ":" + line.toString() + ":" + column.toString())
}

const enum ResultKind {
  Unchanged = 0,
  Body = 1,
  Status = 2
}

/** What a handler returns. */
export class Result {
  kind: ResultKind = ResultKind.Unchanged
  body: string = ""
  status: i32 = 0

  /** Filter: the next value. */
  static value(value: Value): Result {
    const r = new Result()
    r.kind = ResultKind.Body
    r.body = '{"value":' + value.stringify() + "}"
    return r
  }
  /** Filter: stop the chain with this value. */
  static shortCircuit(value: Value): Result {
    const r = new Result()
    r.kind = ResultKind.Body
    r.body = '{"value":' + value.stringify() + ',"shortCircuit":true}'
    return r
  }
  /** Success with no body: a filter leaves the value unchanged; an action is done. */
  static ok(): Result {
    return new Result()
  }
  /** A guest error with a message (and an optional code): the host reports `GuestError`. */
  static error(message: string, code: string = ""): Result {
    const r = new Result()
    r.kind = ResultKind.Body
    r.body = code.length > 0
      ? '{"error":{"message":' + quote(message) + ',"code":' + quote(code) + "}}"
      : '{"error":{"message":' + quote(message) + "}}"
    return r
  }
  /** A raw ABI status (-1 error, -2 out of memory, -3 bad payload, -4 unknown hook). */
  static status(status: i32): Result {
    const r = new Result()
    r.kind = ResultKind.Status
    r.status = status
    return r
  }
}

export type FilterHandler = (value: Value, args: Array<Value>) => Result
export type ActionHandler = (args: Array<Value>) => Result

const filters = new Map<string, FilterHandler>()
const actions = new Map<string, ActionHandler>()

/** Handles filter hook `name`. */
export function filter(name: string, handler: FilterHandler): void {
  filters.set(name, handler)
}

/** Handles action hook `name`. */
export function action(name: string, handler: ActionHandler): void {
  actions.set(name, handler)
}

// --- ABI exports -------------------------------------------------------------------------------------------------

export function gn_abi_version(): i32 {
  return 1
}

/** Blocks from the runtime's allocator; `gn_free` gives them back, so memory stays flat across calls. */
export function gn_alloc(size: i32): i32 {
  if (size <= 0) return 0
  return <i32>heap.alloc(<usize>size)
}

export function gn_free(ptr: i32, size: i32): void {
  if (ptr != 0) heap.free(<usize>ptr)
}

function pack(ptr: i32, len: i32): i64 {
  return (<i64>(<u32>ptr) << 32) | <i64>(<u32>len)
}

export function gn_handle_hook(namePtr: i32, nameLen: i32, payloadPtr: i32, payloadLen: i32): i64 {
  const name = String.UTF8.decodeUnsafe(<usize>namePtr, <usize>nameLen)
  const text = String.UTF8.decodeUnsafe(<usize>payloadPtr, <usize>payloadLen)
  const payload = parse(text)
  if (payload === null || !payload.isObject) return pack(0, -3)
  const kind = payload.get("kind")
  const argsValue = payload.get("args")
  const args = argsValue !== null && argsValue.isArray ? argsValue.asArray() : new Array<Value>()
  let result: Result
  if (kind !== null && kind.asString() == "filter") {
    if (!filters.has(name)) return pack(0, -4)
    const value = payload.get("value")
    result = filters.get(name)(value !== null ? value : Value.null(), args)
  } else if (kind !== null && kind.asString() == "action") {
    if (!actions.has(name)) return pack(0, -4)
    result = actions.get(name)(args)
  } else {
    return pack(0, -3)
  }
  if (result.kind == ResultKind.Unchanged) return pack(0, 0)
  if (result.kind == ResultKind.Status) return pack(0, result.status)
  const bytes = utf8(result.body)
  const len = bytes.byteLength
  const ptr = <i32>heap.alloc(<usize>len)
  memory.copy(<usize>ptr, changetype<usize>(bytes), <usize>len)
  return pack(ptr, len)
}
