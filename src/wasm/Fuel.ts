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
 * read after it. Defined globals move up by one index to make room; nothing else in the module changes. Inside a
 * function the counter is kept in a local (a register, where the global is a load and a store per block): loaded
 * on entry and after each call, stored back before each call, return and fuel trap and at the end, so callees and
 * the host always see it. A module that uses exceptions keeps it in the global throughout, since a throw leaves a
 * function without passing a store. On a loop-heavy guest this took fuel's cost from 1.28x to 1.14x of no fuel.
 *
 * Calibration (docs/security.md, `npm run bench:fuel`): a unit is about one instruction; on the project's 2-core
 * machine the most expensive unit measured costs about 3.5 ns, so the default budget of 50 million units bounds a
 * call at roughly 175 ms of CPU.
 *
 * Instrumentation is a single linear pass over the code (about 100 ms of CPU per MiB of code on the project's
 * machine), cut into slices of about 8 ms so the event loop keeps running, and cached per module bytes.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { In, Out, UnsupportedModule } from "./internal/FuelBytes.ts"
import * as Instructions from "./internal/FuelInstructions.ts"
import { Kind, readInstruction } from "./internal/FuelInstructions.ts"

/** Default budget per call: 50 million units (about 150 ms of CPU at most; see docs/security.md). */
export const defaultBudget = 50_000_000

/** The module and name the instrumented code imports its fuel counter from. */
export const importModule = "hookbus_fuel"
export const importName = "fuel"

/** Thrown (and caught by the caller) for a module the instrumentation cannot read or does not support. */
export { UnsupportedModule } from "./internal/FuelBytes.ts"

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
// The rewrite

interface Context {
  /** Index of the fuel global (after the imported globals). */
  readonly fuel: number
  /**
   * Whether function bodies keep the counter in a local, loaded from the global on entry and after each call,
   * stored back before each call, return and fuel trap. Off for modules that use exceptions: a throw leaves a
   * function without a store, and a catch would resume with a stale local.
   */
  readonly local: boolean
}

/** The counter of the body being instrumented: the global, or the local that stands for it. */
interface Counter {
  readonly ctx: Context
  /** The i64 local, or -1 in global mode. */
  readonly local: number
}

const load = (out: Out, c: Counter): void => {
  if (c.local < 0) {
    out.byte(0x23)
    out.u32(c.ctx.fuel)
  } else {
    out.byte(0x20)
    out.u32(c.local)
  }
}

/** `global.set fuel` from the local (local mode only). */
const store = (out: Out, c: Counter): void => {
  out.byte(0x20)
  out.u32(c.local)
  out.byte(0x24)
  out.u32(c.ctx.fuel)
}

/** `local.set f` from the global (local mode only). */
const reload = (out: Out, c: Counter): void => {
  out.byte(0x23)
  out.u32(c.ctx.fuel)
  out.byte(0x21)
  out.u32(c.local)
}

/** Rewrites a global index for the inserted fuel global. */
const shift = (ctx: Context, index: number): number => index >= ctx.fuel ? index + 1 : index

/** `fuel -= cost; if (fuel < 0) unreachable` */
const charge = (out: Out, c: Counter, cost: number): void => {
  load(out, c)
  out.byte(0x42)
  out.s64(cost)
  out.byte(0x7d) // i64.sub
  check(out, c)
}

/**
 * With the new counter on the stack: keep it, and trap when it went negative. In local mode the trap stores the
 * counter first, since the host reads the global to tell running out of fuel from other traps.
 */
const check = (out: Out, c: Counter): void => {
  if (c.local < 0) {
    out.byte(0x24)
    out.u32(c.ctx.fuel)
    out.byte(0x23)
    out.u32(c.ctx.fuel)
  } else {
    out.byte(0x22) // local.tee
    out.u32(c.local)
  }
  out.byte(0x42)
  out.byte(0x00)
  out.byte(0x53) // i64.lt_s
  out.byte(0x04)
  out.byte(0x40)
  if (c.local >= 0) store(out, c)
  out.byte(0x00) // unreachable
  out.byte(0x0b)
}

/** `local.tee scratch; fuel -= (extend_u(scratch) * mul) >> shift; check` — the length stays on the stack. */
const chargeLength = (
  out: Out,
  c: Counter,
  scratch: number,
  by: { readonly mul: number; readonly shift: number }
): void => {
  out.byte(0x22)
  out.u32(scratch)
  load(out, c)
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
  check(out, c)
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

/** What instrumenting a body must know of its function type. */
interface FnType {
  readonly params: number
  /** The block type of the results (0x40 or one value type's bytes), or undefined for several results. */
  readonly results: Uint8Array | undefined
}

/** Set when a body uses exception handling: the module is then instrumented again in global mode. */
let sawExceptions = false

const isException = (op: number): boolean =>
  op === 0x06 || op === 0x07 || op === 0x08 || op === 0x09 || op === 0x0a || op === 0x18 || op === 0x19 ||
  op === 0x1f

const isCall = (op: number): boolean => op === 0x10 || op === 0x11 || op === 0x14
const isTailCall = (op: number): boolean => op === 0x12 || op === 0x13 || op === 0x15

/** Instruments one function body `[start, end)` of function type `type`. */
const instrumentBody = (b: Uint8Array, start: number, end: number, type: FnType, ctx: Context, out: Out): void => {
  const r = new In(b, start, end)
  const groups = r.u32()
  const groupsEnd = r.pos
  let locals = type.params
  for (let i = 0; i < groups; i++) {
    locals += r.u32()
    r.valType()
  }
  const localsEnd = r.pos
  const useLocal = ctx.local && type.results !== undefined
  const c: Counter = { ctx, local: useLocal ? locals : -1 }
  const scratch = useLocal ? locals + 1 : locals
  let needsScratch = false
  body.reset()
  block.reset()
  if (useLocal) {
    // Entry: the counter into the local, and the body inside a block, so that a branch out of the function
    // body lands on the store at its end.
    reload(body, c)
    body.byte(0x02)
    body.copy(type.results!, 0, type.results!.length)
  }
  let cost = 0
  let run = r.pos
  const flush = () => {
    block.copy(b, run, r.pos)
    run = r.pos
    if (cost > 0) charge(body, c, cost + checkWeight)
    body.append(block)
    block.reset()
    cost = 0
  }
  while (r.pos < end) {
    const at = r.pos
    const op = r.byte()
    const kind = readInstruction(r, op)
    cost += Instructions.weight
    if (isException(op)) sawExceptions = true
    if (useLocal && (isCall(op) || isTailCall(op) || op === 0x0f || (op === 0x0b && r.pos === end))) {
      // The callee, the caller and the host see the global: store before leaving, reload after a call.
      block.copy(b, run, at)
      if (op === 0x0b) block.byte(0x0b) // closes the body's block: what follows runs on every way out
      store(block, c)
      if (op === 0x0b) run = at
      else {
        block.copy(b, at, r.pos)
        if (isCall(op)) reload(block, c)
        run = r.pos
      }
    }
    if (kind === Kind.Boundary) flush()
    else if (kind === Kind.Global) {
      block.copy(b, run, at)
      block.byte(op)
      block.u32(shift(ctx, r.u32()))
      run = r.pos
    } else if (kind === Kind.Bulk) {
      block.copy(b, run, at)
      chargeLength(block, c, scratch, Instructions.bulk)
      needsScratch = true
      run = at
    }
  }
  flush()
  const fn = fnOut
  fn.reset()
  const extra = (useLocal ? 1 : 0) + (needsScratch ? 1 : 0)
  if (extra > 0) {
    fn.u32(groups + extra)
    fn.copy(b, groupsEnd, localsEnd)
    if (useLocal) {
      fn.byte(0x01)
      fn.byte(0x7e)
    }
    if (needsScratch) {
      fn.byte(0x01)
      fn.byte(0x7f)
    }
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
  const fast = await instrumentWith(bytes, true)
  // A module with exceptions is rewritten again with the counter in the global throughout.
  return fast.sawExceptions ? (await instrumentWith(bytes, false)).bytes : fast.bytes
}

const instrumentWith = async (
  bytes: Uint8Array,
  local: boolean
): Promise<{ readonly bytes: Uint8Array<ArrayBuffer>; readonly sawExceptions: boolean }> => {
  if (bytes.length < 8) throw new UnsupportedModule("not a WebAssembly module")
  // First pass: types, imports and function types, to know the fuel global's index and each body's parameters.
  const types: Array<FnType> = []
  const functionTypes: Array<number> = []
  let importedGlobals = 0
  Instructions.setImportedFunctions(0)
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
        const count = r.u32()
        const at = r.pos
        for (let i = 0; i < count; i++) r.valType()
        const results = count === 0 ? Uint8Array.of(0x40) : count === 1 ? bytes.slice(at, r.pos) : undefined
        types.push({ params, results })
      }
    } else if (id === 2) {
      hasImports = true
      for (let n = r.u32(); n > 0; n--) {
        r.skip(r.u32())
        r.skip(r.u32())
        const kind = r.byte()
        if (kind === 0) {
          functionTypes.push(r.u32())
          Instructions.setImportedFunctions(Instructions.importedFunctions + 1)
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
  const ctx: Context = { fuel: importedGlobals, local }
  let exceptions = false
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
        const imported = Instructions.importedFunctions
        let sliceStart = performance.now()
        for (let i = 0; i < n; i++) {
          if ((i & 7) === 7 && performance.now() - sliceStart > sliceMs) {
            await nextTurn()
            // Another module may have been instrumented meanwhile: the walker's module state is this one's again.
            Instructions.setImportedFunctions(imported)
            sliceStart = performance.now()
          }
          const size = r.u32()
          const type = types[functionTypes[Instructions.importedFunctions + i]]
          if (type === undefined) {
            throw new UnsupportedModule(`function ${Instructions.importedFunctions + i} has no type`)
          }
          sawExceptions = false
          instrumentBody(bytes, r.pos, r.pos + size, type, ctx, content)
          exceptions ||= sawExceptions
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
  return { bytes: out.bytes(), sawExceptions: exceptions }
}
