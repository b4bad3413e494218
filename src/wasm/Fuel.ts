/**
 * Fuel: a deterministic CPU bound on the same thread. A plugin module is rewritten at the binary level so that
 * every basic block (a straight run of instructions between branches, branch targets and block boundaries) first
 * takes its weight in units from a fuel counter, and bulk operations (`memory.fill`, `memory.copy`,
 * `memory.init`, `table.fill`, `table.copy`, `table.init`, `table.grow`, `memory.grow`) also take units in
 * proportion to their length. One decrement and one check per block: when the counter goes negative the block
 * traps, and the host, seeing a negative counter, reports `OutOfFuel` rather than the trap.
 *
 * The counter is a mutable i64 global the module imports (`hookbus_fuel.fuel`), owned by the host: it is set to
 * the budget before instantiation (so the start function runs under the same bound) and before every call, and
 * read after it. Defined globals move up by one index to make room; nothing else in the module changes.
 *
 * Calibration (docs/security.md): a unit is about one instruction; on the project's 2-core machine the most
 * expensive unit measured costs about 2.5 ns, so the default budget of 50 million units bounds a call at roughly
 * 150 ms of CPU, and any call at about 3 ns per unit.
 *
 * Instrumentation is a single linear pass over the code (about 100 ms of CPU per MiB of code on the project's
 * machine), cut into slices of about 8 ms so the event loop keeps running, and cached per module bytes.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/** Default budget per call: 50 million units (about 150 ms of CPU at most; see docs/security.md). */
export const defaultBudget = 50_000_000

/** The module and name the instrumented code imports its fuel counter from. */
export const importModule = "hookbus_fuel"
export const importName = "fuel"

/** Thrown (and caught by the caller) for a module the instrumentation cannot read or does not support. */
export class UnsupportedModule extends Error {}

/** Bulk memory operations (`memory.fill`, `memory.copy`, `memory.init`): one unit per 4 bytes. */
const bulkMemory = { mul: 1, shift: 2 } as const
/** Bulk table operations (`table.fill`, `table.copy`, `table.init`, `table.grow`): 16 units per element. */
const bulkTable = { mul: 16, shift: 0 } as const
/** `memory.grow`: 64 units per page. */
const growMemory = { mul: 64, shift: 0 } as const
/** The static weight of a bulk operation or a grow (a runtime call in the engine), besides its length. */
const bulkWeight = 16
/** Every charged block pays one unit more for the check itself. */
const checkWeight = 1

const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>()
const maxCached = 64

/**
 * Returns the module with fuel metering added, cached by the SHA-256 of its bytes. Rejects with
 * `UnsupportedModule` for instructions it does not meter (atomics, GC) and for bytes it cannot read. The work is
 * cut into slices of about 8 ms with the event loop running in between, so a large module does not stall it.
 */
export const instrument = (bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> => {
  const key = createHash("sha256").update(bytes).digest("hex")
  let result = cache.get(key)
  if (result === undefined) {
    result = instrumentUncached(bytes)
    result.catch(() => cache.delete(key))
    if (cache.size >= maxCached) cache.delete(cache.keys().next().value!)
    cache.set(key, result)
  }
  return result
}

/** How long the instrumentation runs before it lets the event loop run. */
const sliceMs = 8

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A counter for one instance: the global it imports, and the budget around a call. */
export class Meter {
  readonly global = new WebAssembly.Global({ value: "i64", mutable: true }, 0n)
  /** The import object entry the instrumented module expects. */
  readonly imports: WebAssembly.Imports = { [importModule]: { [importName]: this.global } }
  /** Sets the budget before instantiation or a call. */
  reset(budget: number): void {
    this.global.value = BigInt(budget)
  }
  /** Fuel used since the last reset. */
  used(budget: number): number {
    const left = this.global.value as bigint
    return left < 0n ? budget : budget - Number(left)
  }
  /** Takes units for host work done on the guest's behalf; the guest's next block check sees the result. */
  charge(units: number): void {
    if (units > 0) this.global.value = (this.global.value as bigint) - BigInt(units)
  }
  /** The counter went negative: the last trap was the fuel check. */
  get exhausted(): boolean {
    return (this.global.value as bigint) < 0n
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Weights

/** Weight of each single-byte opcode: 0 for structure (block, loop, end, else, nop), 1 for most, more for calls. */
const weights = new Uint8Array(256).fill(1)
for (const op of [0x01, 0x02, 0x03, 0x05, 0x06, 0x0b, 0x1f]) weights[op] = 0
for (const op of [0x10, 0x11, 0x12, 0x13, 0x14, 0x15]) weights[op] = 3

// ---------------------------------------------------------------------------------------------------------------
// Byte reading and writing

class Out {
  buf = new Uint8Array(1024)
  len = 0
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }
  byte(b: number): void {
    this.room(1)
    this.buf[this.len++] = b
  }
  copy(src: Uint8Array, start: number, end: number): void {
    const n = end - start
    if (n <= 0) return
    this.room(n)
    const buf = this.buf
    if (n < 32) {
      // Short runs (most blocks): a loop beats creating a subarray.
      let len = this.len
      for (let i = start; i < end; i++) buf[len++] = src[i]
      this.len = len
    } else {
      buf.set(src.subarray(start, end), this.len)
      this.len += n
    }
  }
  append(other: Out): void {
    this.copy(other.buf, 0, other.len)
  }
  u32(value: number): void {
    this.room(5)
    const buf = this.buf
    let len = this.len
    do {
      let b = value & 0x7f
      value >>>= 7
      if (value !== 0) b |= 0x80
      buf[len++] = b
    } while (value !== 0)
    this.len = len
  }
  /** A signed LEB128 of a non-negative number below 2^53. */
  s64(value: number): void {
    for (;;) {
      const b = value % 128
      value = Math.floor(value / 128)
      if (value === 0 && (b & 0x40) === 0) return this.byte(b)
      this.byte(b | 0x80)
    }
  }
  bytes(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.len)
  }
  reset(): void {
    this.len = 0
  }
}

class In {
  pos: number
  readonly b: Uint8Array
  readonly end: number
  constructor(b: Uint8Array, pos: number, end: number) {
    this.b = b
    this.pos = pos
    this.end = end
  }
  byte(): number {
    if (this.pos >= this.end) throw new UnsupportedModule("unexpected end of section")
    return this.b[this.pos++]
  }
  u32(): number {
    let result = 0
    let shift = 0
    for (let i = 0; i < 5; i++) {
      const b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
      shift += 7
    }
    throw new UnsupportedModule("LEB128 integer too long")
  }
  /** Skips a LEB128 integer of any width. */
  skipLeb(): void {
    while ((this.byte() & 0x80) !== 0);
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new UnsupportedModule("unexpected end of section")
    this.pos += n
  }
  /** Skips a value type (a single byte, or a typed reference: 0x63/0x64 and a heap type). */
  valType(): void {
    const t = this.byte()
    if (t === 0x63 || t === 0x64) this.skipLeb()
  }
  /** Skips a block type: 0x40, a value type, or a type index. */
  blockType(): void {
    const t = this.b[this.pos]
    if (t === 0x40 || (t >= 0x6f && t <= 0x7f)) this.pos++
    else if (t === 0x63 || t === 0x64) this.valType()
    else this.skipLeb()
  }
  memarg(): void {
    const align = this.u32()
    if ((align & 0x40) !== 0) this.u32()
    this.skipLeb()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Instructions

/** What the walker does with an instruction. */
const Kind = {
  /** Straight-line: part of the current block. */
  Plain: 0,
  /** Ends the current block; the next instruction starts a new one. */
  Boundary: 1,
  /** `global.get`/`global.set`: the index is rewritten. */
  Global: 2,
  /** A bulk operation: charged by its length (the i32 on top of the stack) just before it runs. */
  Bulk: 3
} as const
type Kind = typeof Kind[keyof typeof Kind]

/** A call to a host function (`gn_log`, `gn_time_ms`, ...): the host's side of it costs more than a guest call. */
const hostCallWeight = 100

// The walker's outputs besides the kind, and the module it walks (one module at a time: it is synchronous).
let bulk: { readonly mul: number; readonly shift: number } = bulkMemory
let weight = 1
let importedFunctions = 0

/** Reads one instruction's immediates (the opcode already read). Returns its kind; sets `bulk` for Bulk. */
const readInstruction = (r: In, op: number): Kind => {
  weight = weights[op]
  switch (op) {
    case 0x02:
    case 0x06:
      r.blockType()
      return Kind.Plain
    case 0x03:
    case 0x04:
      r.blockType()
      return Kind.Boundary
    case 0x1f: {
      r.blockType()
      for (let n = r.u32(); n > 0; n--) {
        const kind = r.byte()
        if (kind <= 0x01) r.u32()
        r.u32()
      }
      return Kind.Plain
    }
    case 0x00:
    case 0x05:
    case 0x0b:
    case 0x0f:
    case 0x19:
    case 0x0a:
      return Kind.Boundary
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x18:
    case 0x0c:
    case 0x0d:
    case 0xd4:
    case 0xd6:
      r.u32()
      return Kind.Boundary
    case 0x0e:
      for (let n = r.u32(); n >= 0; n--) r.u32()
      return Kind.Boundary
    case 0x12:
      if (r.u32() < importedFunctions) weight = hostCallWeight
      return Kind.Boundary
    case 0x13:
      r.u32()
      r.u32()
      return Kind.Boundary
    case 0x15:
      r.u32()
      return Kind.Boundary
    case 0x10:
      if (r.u32() < importedFunctions) weight = hostCallWeight
      return Kind.Plain
    case 0x14:
      r.u32()
      return Kind.Plain
    case 0x11:
      r.u32()
      r.u32()
      return Kind.Plain
    case 0x1c:
      for (let n = r.u32(); n > 0; n--) r.valType()
      return Kind.Plain
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x25:
    case 0x26:
    case 0xd2:
    case 0x3f:
      r.u32()
      return Kind.Plain
    case 0x23:
    case 0x24:
      return Kind.Global
    case 0x40:
      r.u32()
      weight = bulkWeight
      bulk = growMemory
      return Kind.Bulk
    case 0x41:
    case 0x42:
      r.skipLeb()
      return Kind.Plain
    case 0x43:
      r.skip(4)
      return Kind.Plain
    case 0x44:
      r.skip(8)
      return Kind.Plain
    case 0xd0:
      r.blockType()
      return Kind.Plain
    case 0xfc:
      return readPrefixFC(r)
    case 0xfd:
      return readPrefixFD(r)
    case 0xfb:
      throw new UnsupportedModule("garbage-collection instructions (0xfb) are not supported")
    case 0xfe:
      throw new UnsupportedModule("atomic instructions (0xfe) are not supported")
  }
  if (op >= 0x28 && op <= 0x3e) {
    r.memarg()
    return Kind.Plain
  }
  if (op === 0x01 || op === 0x1a || op === 0x1b || op === 0xd1 || op === 0xd3 || op === 0xd5) return Kind.Plain
  if (op >= 0x45 && op <= 0xc4) return Kind.Plain
  throw new UnsupportedModule(`unknown instruction 0x${op.toString(16)}`)
}

const readPrefixFC = (r: In): Kind => {
  const sub = r.u32()
  switch (sub) {
    case 8: // memory.init data mem
      r.u32()
      r.u32()
      weight = bulkWeight
      bulk = bulkMemory
      return Kind.Bulk
    case 9: // data.drop
    case 13: // elem.drop
    case 16: // table.size
      r.u32()
      return Kind.Plain
    case 10: // memory.copy
      r.u32()
      r.u32()
      weight = bulkWeight
      bulk = bulkMemory
      return Kind.Bulk
    case 11: // memory.fill
      r.u32()
      weight = bulkWeight
      bulk = bulkMemory
      return Kind.Bulk
    case 12: // table.init
    case 14: // table.copy
      r.u32()
      r.u32()
      weight = bulkWeight
      bulk = bulkTable
      return Kind.Bulk
    case 15: // table.grow
    case 17: // table.fill
      r.u32()
      weight = bulkWeight
      bulk = bulkTable
      return Kind.Bulk
  }
  if (sub <= 7) return Kind.Plain
  throw new UnsupportedModule(`unknown instruction 0xfc ${sub}`)
}

const readPrefixFD = (r: In): Kind => {
  const sub = r.u32()
  if (sub <= 11 || sub === 92 || sub === 93) r.memarg()
  else if (sub === 12 || sub === 13) r.skip(16)
  else if (sub >= 21 && sub <= 34) r.skip(1)
  else if (sub >= 84 && sub <= 91) {
    r.memarg()
    r.skip(1)
  } else if (sub > 0x113) throw new UnsupportedModule(`unknown instruction 0xfd ${sub}`)
  return Kind.Plain
}

// ---------------------------------------------------------------------------------------------------------------
// The rewrite

interface Context {
  /** Index of the fuel global (after the imported globals). */
  readonly fuel: number
}

/** Rewrites a global index for the inserted fuel global. */
const shift = (ctx: Context, index: number): number => index >= ctx.fuel ? index + 1 : index

/** `fuel -= cost; if (fuel < 0) unreachable` */
const charge = (out: Out, ctx: Context, cost: number): void => {
  out.byte(0x23)
  out.u32(ctx.fuel)
  out.byte(0x42)
  out.s64(cost)
  out.byte(0x7d) // i64.sub
  check(out, ctx)
}

/** With the new counter on the stack: store it, and trap when it went negative. */
const check = (out: Out, ctx: Context): void => {
  out.byte(0x24)
  out.u32(ctx.fuel)
  out.byte(0x23)
  out.u32(ctx.fuel)
  out.byte(0x42)
  out.byte(0x00)
  out.byte(0x53) // i64.lt_s
  out.byte(0x04)
  out.byte(0x40)
  out.byte(0x00) // unreachable
  out.byte(0x0b)
}

/** `local.tee scratch; fuel -= (extend_u(scratch) * mul) >> shift; check` — the length stays on the stack. */
const chargeLength = (
  out: Out,
  ctx: Context,
  scratch: number,
  by: { readonly mul: number; readonly shift: number }
): void => {
  out.byte(0x22)
  out.u32(scratch)
  out.byte(0x23)
  out.u32(ctx.fuel)
  out.byte(0x20)
  out.u32(scratch)
  out.byte(0xad) // i64.extend_i32_u
  if (by.mul > 1) {
    out.byte(0x42)
    out.s64(by.mul)
    out.byte(0x7e) // i64.mul
  }
  if (by.shift > 0) {
    out.byte(0x42)
    out.s64(by.shift)
    out.byte(0x88) // i64.shr_u
  }
  out.byte(0x7d) // i64.sub
  check(out, ctx)
}

/** Copies a constant expression, rewriting `global.get` indices. */
const constExpr = (r: In, out: Out, ctx: Context): void => {
  let run = r.pos
  for (;;) {
    const at = r.pos
    const op = r.byte()
    if (op === 0x0b) {
      out.copy(r.b, run, r.pos)
      return
    }
    if (op === 0x23) {
      out.copy(r.b, run, at)
      out.byte(0x23)
      out.u32(shift(ctx, r.u32()))
      run = r.pos
    } else readInstruction(r, op)
  }
}

const block = new Out()
const body = new Out()
const fnOut = new Out()

/** Instruments one function body `[start, end)` whose type has `params` parameters. */
const instrumentBody = (b: Uint8Array, start: number, end: number, params: number, ctx: Context, out: Out): void => {
  const r = new In(b, start, end)
  const groups = r.u32()
  const groupsEnd = r.pos
  let locals = params
  for (let i = 0; i < groups; i++) {
    locals += r.u32()
    r.valType()
  }
  const localsEnd = r.pos
  const scratch = locals
  let needsScratch = false
  body.reset()
  block.reset()
  let cost = 0
  let run = r.pos
  const flush = () => {
    block.copy(b, run, r.pos)
    run = r.pos
    if (cost > 0) charge(body, ctx, cost + checkWeight)
    body.append(block)
    block.reset()
    cost = 0
  }
  while (r.pos < end) {
    const at = r.pos
    const op = r.byte()
    const kind = readInstruction(r, op)
    cost += weight
    if (kind === Kind.Boundary) flush()
    else if (kind === Kind.Global) {
      block.copy(b, run, at)
      block.byte(op)
      block.u32(shift(ctx, r.u32()))
      run = r.pos
    } else if (kind === Kind.Bulk) {
      block.copy(b, run, at)
      chargeLength(block, ctx, scratch, bulk)
      needsScratch = true
      run = at
    }
  }
  flush()
  const fn = fnOut
  fn.reset()
  if (needsScratch) {
    fn.u32(groups + 1)
    fn.copy(b, groupsEnd, localsEnd)
    fn.byte(0x01)
    fn.byte(0x7f)
  } else fn.copy(b, start, localsEnd)
  fn.append(body)
  out.u32(fn.len)
  out.append(fn)
}

const section = (out: Out, id: number, content: Out): void => {
  out.byte(id)
  out.u32(content.len)
  out.append(content)
}

/** The section order the format requires (by id), for inserting an import section. */
const importSectionId = 2

const instrumentUncached = async (bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> => {
  if (bytes.length < 8) throw new UnsupportedModule("not a WebAssembly module")
  // First pass: types, imports and function types, to know the fuel global's index and each body's parameters.
  const types: Array<number> = []
  const functionTypes: Array<number> = []
  let importedGlobals = 0
  importedFunctions = 0
  let hasImports = false
  const sections: Array<{ id: number; start: number; end: number }> = []
  const top = new In(bytes, 8, bytes.length)
  while (top.pos < top.end) {
    const id = top.byte()
    const size = top.u32()
    const start = top.pos
    const end = start + size
    if (end > bytes.length) throw new UnsupportedModule(`section ${id} runs past the end of the module`)
    sections.push({ id, start, end })
    const r = new In(bytes, start, end)
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw new UnsupportedModule("only function types are supported")
        const params = r.u32()
        for (let i = 0; i < params; i++) r.valType()
        for (let i = r.u32(); i > 0; i--) r.valType()
        types.push(params)
      }
    } else if (id === 2) {
      hasImports = true
      for (let n = r.u32(); n > 0; n--) {
        r.skip(r.u32())
        r.skip(r.u32())
        const kind = r.byte()
        if (kind === 0) {
          functionTypes.push(r.u32())
          importedFunctions++
        } else if (kind === 1) {
          r.valType()
          const flags = r.byte()
          r.skipLeb()
          if (flags & 1) r.skipLeb()
        } else if (kind === 2) {
          const flags = r.byte()
          r.skipLeb()
          if (flags & 1) r.skipLeb()
        } else if (kind === 3) {
          r.valType()
          r.byte()
          importedGlobals++
        } else {
          r.byte()
          r.u32()
        }
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) functionTypes.push(r.u32())
    }
    top.pos = end
  }
  const ctx: Context = { fuel: importedGlobals }
  const fuelImport = new Out()
  for (const text of [importModule, importName]) {
    const encoded = new TextEncoder().encode(text)
    fuelImport.u32(encoded.length)
    fuelImport.copy(encoded, 0, encoded.length)
  }
  fuelImport.byte(0x03)
  fuelImport.byte(0x7e)
  fuelImport.byte(0x01)

  const out = new Out()
  out.copy(bytes, 0, 8)
  const content = new Out()
  let importsWritten = hasImports
  for (const { end, id, start } of sections) {
    if (!importsWritten && id !== 0 && id !== 1) {
      content.reset()
      content.u32(1)
      content.append(fuelImport)
      section(out, importSectionId, content)
      importsWritten = true
    }
    const r = new In(bytes, start, end)
    content.reset()
    switch (id) {
      case 2: {
        content.u32(r.u32() + 1)
        content.copy(bytes, r.pos, end)
        content.append(fuelImport)
        break
      }
      case 6: {
        const n = r.u32()
        content.u32(n)
        for (let i = 0; i < n; i++) {
          const at = r.pos
          r.valType()
          r.byte()
          content.copy(bytes, at, r.pos)
          constExpr(r, content, ctx)
        }
        break
      }
      case 7: {
        const n = r.u32()
        content.u32(n)
        for (let i = 0; i < n; i++) {
          const at = r.pos
          r.skip(r.u32())
          const kind = r.byte()
          content.copy(bytes, at, r.pos)
          const index = r.u32()
          content.u32(kind === 3 ? shift(ctx, index) : index)
        }
        break
      }
      case 9: {
        const n = r.u32()
        content.u32(n)
        for (let i = 0; i < n; i++) {
          const flags = r.u32()
          content.u32(flags)
          if (flags === 2 || flags === 6) content.u32(r.u32())
          if ((flags & 1) === 0) constExpr(r, content, ctx)
          if ((flags & 4) === 0) {
            if ((flags & 3) !== 0) content.byte(r.byte())
            const count = r.u32()
            content.u32(count)
            for (let k = 0; k < count; k++) content.u32(r.u32())
          } else {
            if ((flags & 3) !== 0) {
              const at = r.pos
              r.valType()
              content.copy(bytes, at, r.pos)
            }
            const count = r.u32()
            content.u32(count)
            for (let k = 0; k < count; k++) constExpr(r, content, ctx)
          }
        }
        break
      }
      case 10: {
        const n = r.u32()
        content.u32(n)
        const imported = importedFunctions
        let sliceStart = performance.now()
        for (let i = 0; i < n; i++) {
          if ((i & 7) === 7 && performance.now() - sliceStart > sliceMs) {
            await nextTurn()
            // Another module may have been instrumented meanwhile: the walker's module state is this one's again.
            importedFunctions = imported
            sliceStart = performance.now()
          }
          const size = r.u32()
          const type = types[functionTypes[importedFunctions + i]]
          if (type === undefined) throw new UnsupportedModule(`function ${importedFunctions + i} has no type`)
          instrumentBody(bytes, r.pos, r.pos + size, type, ctx, content)
          r.pos += size
        }
        break
      }
      case 11: {
        const n = r.u32()
        content.u32(n)
        for (let i = 0; i < n; i++) {
          const flags = r.u32()
          content.u32(flags)
          if (flags === 2) content.u32(r.u32())
          if (flags !== 1) constExpr(r, content, ctx)
          const at = r.pos
          r.skip(r.u32())
          content.copy(bytes, at, r.pos)
        }
        break
      }
      default:
        content.copy(bytes, start, end)
    }
    section(out, id, content)
  }
  if (!importsWritten) {
    content.reset()
    content.u32(1)
    content.append(fuelImport)
    section(out, importSectionId, content)
  }
  return out.bytes()
}
