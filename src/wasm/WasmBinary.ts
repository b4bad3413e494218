/**
 * Just enough of the WebAssembly binary format to check a plugin before it runs: the exact signatures of its
 * imports and exports, and its memory and table limits, plus rewriting the memory and table maximums. The JS API only tells the kind of
 * an import or export, not its signature.
 *
 * @since 0.1.0
 */

/**
 * A value type, as WAT spells it.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { WasmBinary } from "hookbus/wasm"
 *
 * const params: ReadonlyArray<WasmBinary.ValType> = ["i32", "i32"]
 */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref" | `0x${string}`

/**
 * A function signature.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { WasmBinary } from "hookbus/wasm"
 *
 * const handleHook: WasmBinary.FuncType = { params: ["i32", "i32", "i32", "i32"], results: ["i64"] }
 * WasmBinary.formatType(handleHook) // "(i32, i32, i32, i32) -> i64"
 */
export interface FuncType {
  readonly params: ReadonlyArray<ValType>
  readonly results: ReadonlyArray<ValType>
}

/**
 * Memory limits in 64 KiB pages.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { WasmBinary } from "hookbus/wasm"
 *
 * const pages = (memory: WasmBinary.Limits) => `${memory.min}..${memory.max ?? "unbounded"} pages`
 */
export interface Limits {
  readonly min: number
  readonly max: number | undefined
  readonly shared: boolean
  readonly memory64: boolean
}

/**
 * A table's element type and limits, in elements. `refType` is the element type's byte (`0x70` funcref, `0x6f`
 * externref), or `undefined` for a table this reader does not model (a typed reference or an initializer
 * expression, from the function-references proposal), which the host refuses.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { WasmBinary } from "hookbus/wasm"
 *
 * const elements = (table: WasmBinary.TableLimits) => `${table.min}..${table.max ?? "unbounded"} elements`
 */
export interface TableLimits extends Limits {
  readonly refType: number | undefined
}

/**
 * The kind of an import or export.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { WasmBinary } from "hookbus/wasm"
 *
 * const functionsOnly = (imports: ReadonlyArray<WasmBinary.Import>) =>
 *   imports.filter((i) => i.kind === ("func" satisfies WasmBinary.ExternKind))
 */
export type ExternKind = "func" | "table" | "memory" | "global" | "tag"

/**
 * One import of a module, with its signature for a function.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { WasmBinary } from "hookbus/wasm"
 *
 * const names = (imports: ReadonlyArray<WasmBinary.Import>) => imports.map((i) => `${i.module}.${i.name}`)
 */
export interface Import {
  readonly module: string
  readonly name: string
  readonly kind: ExternKind
  /** For functions. */
  readonly type: FuncType | undefined
}

/**
 * One export of a module, with its signature for a function.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { WasmBinary } from "hookbus/wasm"
 *
 * const exported = (exports: ReadonlyArray<WasmBinary.Export>, name: string) => exports.some((e) => e.name === name)
 */
export interface Export {
  readonly name: string
  readonly kind: ExternKind
  /** For functions. */
  readonly type: FuncType | undefined
}

/**
 * What a module declares, read from its binary.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { WasmBinary } from "hookbus/wasm"
 *
 * const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) // "\0asm", version 1
 * const info: WasmBinary.ModuleInfo = WasmBinary.read(empty) // no imports, exports, memories or functions
 */
export interface ModuleInfo {
  readonly imports: ReadonlyArray<Import>
  readonly exports: ReadonlyArray<Export>
  /** The module's own memories (imported ones are in `imports`). */
  readonly memories: ReadonlyArray<Limits>
  /** How many functions the module defines (imported ones not counted). */
  readonly functions: number
  /** Offset and length of the memory section, when there is one. */
  readonly memorySection: { readonly start: number; readonly end: number } | undefined
  /** The module's own tables (imported ones are in `imports`). */
  readonly tables: ReadonlyArray<TableLimits>
  /** Offset and length of the table section, when there is one. */
  readonly tableSection: { readonly start: number; readonly end: number } | undefined
}

/**
 * Thrown (and caught by callers) for bytes that are not a well-formed module.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { WasmBinary } from "hookbus/wasm"
 *
 * try {
 *   WasmBinary.read(new TextEncoder().encode("not wasm"))
 * } catch (error) {
 *   if (error instanceof WasmBinary.MalformedModule) console.log(error.message)
 * }
 */
export class MalformedModule extends Error {}

const valTypes: Record<number, ValType> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref"
}

const kinds: ReadonlyArray<ExternKind> = ["func", "table", "memory", "global", "tag"]

/**
 * Formats a signature the way WAT would: `(i32, i32) -> i64`.
 *
 * @since 0.1.0
 * @category formatting
 * @example
 * import { WasmBinary } from "hookbus/wasm"
 *
 * WasmBinary.formatType({ params: ["i32"], results: [] }) // "(i32) -> ()"
 */
export const formatType = (type: FuncType | undefined): string =>
  type === undefined
    ? "?"
    : `(${type.params.join(", ")}) -> ${type.results.length === 0 ? "()" : type.results.join(", ")}`

class Reader {
  offset: number
  private readonly bytes: Uint8Array
  private readonly end: number
  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes
    this.offset = offset
    this.end = end
  }
  get done(): boolean {
    return this.offset >= this.end
  }
  byte(): number {
    if (this.offset >= this.end) throw new MalformedModule("unexpected end of module")
    return this.bytes[this.offset++]
  }
  u32(): number {
    return this.leb(5)
  }
  /** A u64 LEB as a number (exact up to 2^53, which no real limit reaches). */
  u64(): number {
    return this.leb(10)
  }
  /** An unsigned LEB128 integer of at most `maxBytes` bytes. */
  private leb(maxBytes: number): number {
    let result = 0
    let shift = 0
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
      shift += 7
    }
    throw new MalformedModule("LEB128 integer too long")
  }
  name(): string {
    const length = this.u32()
    if (this.offset + length > this.end) throw new MalformedModule("name runs past its section")
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      this.bytes.subarray(this.offset, this.offset + length)
    )
    this.offset += length
    return text
  }
  valType(): ValType {
    const b = this.byte()
    return valTypes[b] ?? `0x${b.toString(16)}`
  }
  limits(): Limits {
    const flags = this.byte()
    if (flags > 0x07) throw new MalformedModule(`unknown limits flags 0x${flags.toString(16)}`)
    const memory64 = (flags & 0x04) !== 0
    const read = () => memory64 ? this.u64() : this.u32()
    const min = read()
    const max = (flags & 0x01) !== 0 ? read() : undefined
    return { min, max, shared: (flags & 0x02) !== 0, memory64 }
  }
  /** A table type: a one-byte reference type and limits; `undefined` for the forms the host does not model. */
  table(): TableLimits | undefined {
    const refType = this.byte()
    if (refType !== 0x70 && refType !== 0x6f) return undefined
    return { ...this.limits(), refType }
  }
}

/**
 * Reads the parts of a module the host checks. Throws `MalformedModule` for bytes it cannot read.
 *
 * @since 0.1.0
 * @category parsing
 * @example
 * import { WasmBinary } from "hookbus/wasm"
 *
 * const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) // "\0asm", version 1
 * WasmBinary.read(empty).functions // 0
 */
export const read = (bytes: Uint8Array): ModuleInfo => {
  if (
    bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d
  ) throw new MalformedModule("not a WebAssembly module (bad magic number)")
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new MalformedModule("unsupported WebAssembly binary version (a component, or a newer format?)")
  }
  const types: Array<FuncType> = []
  const imports: Array<Import> = []
  const functionTypes: Array<number> = []
  const memories: Array<Limits> = []
  const tables: Array<TableLimits> = []
  let tableSection: ModuleInfo["tableSection"]
  const rawExports: Array<{ name: string; kind: ExternKind; index: number }> = []
  let memorySection: ModuleInfo["memorySection"]
  const r = new Reader(bytes, 8)
  while (!r.done) {
    const start = r.offset
    const id = r.byte()
    const size = r.u32()
    const end = r.offset + size
    if (end > bytes.length) throw new MalformedModule(`section ${id} runs past the end of the module`)
    const s = new Reader(bytes, r.offset, end)
    switch (id) {
      case 1: {
        for (let n = s.u32(); n > 0; n--) {
          const form = s.byte()
          if (form !== 0x60) throw new MalformedModule(`unsupported type form 0x${form.toString(16)}`)
          const params = Array.from({ length: s.u32() }, () => s.valType())
          const results = Array.from({ length: s.u32() }, () => s.valType())
          types.push({ params, results })
        }
        break
      }
      case 2: {
        for (let n = s.u32(); n > 0; n--) {
          const module = s.name()
          const name = s.name()
          const kindByte = s.byte()
          const kind = kinds[kindByte]
          if (kind === undefined) throw new MalformedModule(`unknown import kind ${kindByte}`)
          let type: FuncType | undefined
          if (kind === "func") {
            const index = s.u32()
            type = types[index]
            functionTypes.push(index)
          } else if (kind === "table") {
            s.byte()
            s.limits()
          } else if (kind === "memory") s.limits()
          else if (kind === "global") {
            s.valType()
            s.byte()
          } else {
            s.byte()
            s.u32()
          }
          imports.push({ module, name, kind, type })
        }
        break
      }
      case 3: {
        for (let n = s.u32(); n > 0; n--) functionTypes.push(s.u32())
        break
      }
      case 4: {
        tableSection = { start, end }
        for (let n = s.u32(); n > 0; n--) {
          const table = s.table()
          if (table === undefined) {
            // Past an unmodelled table the section cannot be read further; the host refuses the module anyway.
            tables.push({ min: 0, max: undefined, shared: false, memory64: false, refType: undefined })
            break
          }
          tables.push(table)
        }
        break
      }
      case 5: {
        memorySection = { start, end }
        for (let n = s.u32(); n > 0; n--) memories.push(s.limits())
        break
      }
      case 7: {
        for (let n = s.u32(); n > 0; n--) {
          const name = s.name()
          const kindByte = s.byte()
          const kind = kinds[kindByte]
          if (kind === undefined) throw new MalformedModule(`unknown export kind ${kindByte}`)
          rawExports.push({ name, kind, index: s.u32() })
        }
        break
      }
    }
    r.offset = end
  }
  const exports = rawExports.map(({ index, kind, name }): Export => ({
    name,
    kind,
    type: kind === "func" && functionTypes[index] !== undefined ? types[functionTypes[index]] : undefined
  }))
  const functions = functionTypes.length - imports.filter((i) => i.kind === "func").length
  return { imports, exports, memories, functions, memorySection, tables, tableSection }
}

const leb = (value: number): Array<number> => {
  const out: Array<number> = []
  do {
    let b = value % 128
    value = Math.floor(value / 128)
    if (value > 0) b |= 0x80
    out.push(b)
  } while (value > 0)
  return out
}

/**
 * Why the host refuses the module's tables, or `undefined`: a module may define at most one table, of funcref or
 * externref, with 32-bit limits (a second table would escape the table cap, as a second memory would the memory
 * cap). The table's minimum is checked against `limits.maxTableElements` separately.
 *
 * @since 0.1.0
 * @category checks
 * @example
 * import { WasmBinary } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const problem = WasmBinary.tableFormProblem(WasmBinary.read(bytes)) // e.g. "the module defines 2 tables; ..."
 */
export const tableFormProblem = (info: ModuleInfo): string | undefined => {
  if (info.tables.length > 1) return `the module defines ${info.tables.length} tables; ABI v1 allows one`
  const table = info.tables[0]
  if (table === undefined) return undefined
  if (table.refType === undefined) {
    return "a table of typed references or with an initializer expression is not supported by ABI v1"
  }
  if (table.memory64) return "64-bit tables are not supported by ABI v1"
  return undefined
}

/** Replaces a section (`start`..`end` of `bytes`) with `id` and `body`. */
const replaceSection = (
  bytes: Uint8Array,
  at: { readonly start: number; readonly end: number },
  id: number,
  body: ReadonlyArray<number>
): Uint8Array => {
  const section = [id, ...leb(body.length), ...body]
  const out = new Uint8Array(bytes.length - (at.end - at.start) + section.length)
  out.set(bytes.subarray(0, at.start), 0)
  out.set(section, at.start)
  out.set(bytes.subarray(at.end), at.start + section.length)
  return out
}

/**
 * Returns a copy of the module whose (single, 32-bit) memory has `max` as its maximum, keeping a lower maximum
 * the module already declares. The caller checks the minimum against the cap first.
 *
 * @since 0.1.0
 * @category rewriting
 * @example
 * import { WasmBinary } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const capped = WasmBinary.withMemoryMaximum(bytes, WasmBinary.read(bytes), 16) // memory at most 1 MiB
 */
export const withMemoryMaximum = (bytes: Uint8Array, info: ModuleInfo, max: number): Uint8Array => {
  if (info.memorySection === undefined || info.memories.length !== 1) return bytes
  const memory = info.memories[0]
  if (memory.max !== undefined && memory.max <= max) return bytes
  const flags = 0x01 | (memory.shared ? 0x02 : 0)
  return replaceSection(bytes, info.memorySection, 5, [1, flags, ...leb(memory.min), ...leb(max)])
}

/**
 * Returns a copy of the module whose (single, 32-bit, funcref or externref) table has `max` elements as its
 * maximum, keeping a lower maximum the module already declares, so `table.grow` past it returns -1. The caller
 * checks the table's form and its minimum against the cap first.
 *
 * @since 0.1.0
 * @category rewriting
 * @example
 * import { WasmBinary } from "hookbus/wasm"
 *
 * declare const bytes: Uint8Array
 * const capped = WasmBinary.withTableMaximum(bytes, WasmBinary.read(bytes), 1024) // at most 1,024 elements
 */
export const withTableMaximum = (bytes: Uint8Array, info: ModuleInfo, max: number): Uint8Array => {
  if (info.tableSection === undefined || info.tables.length !== 1) return bytes
  const table = info.tables[0]
  if (table.refType === undefined || table.memory64) return bytes
  if (table.max !== undefined && table.max <= max) return bytes
  return replaceSection(bytes, info.tableSection, 4, [1, table.refType, 0x01, ...leb(table.min), ...leb(max)])
}
