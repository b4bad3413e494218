/**
 * The instructions of a function body as the fuel instrumenter sees them: each opcode's weight, and for each
 * instruction read, what the rewrite does with it (part of a block, a block boundary, a global to renumber, a bulk
 * operation to charge by its length).
 *
 * @internal
 */
import { type In, UnsupportedModule } from "./FuelBytes.ts"

/** Bulk memory operations (`memory.fill`, `memory.copy`, `memory.init`): one unit per 4 bytes. */
const bulkMemory = { mul: 1, shift: 2 } as const
/** Bulk table operations (`table.fill`, `table.copy`, `table.init`, `table.grow`): 16 units per element. */
const bulkTable = { mul: 16, shift: 0 } as const
/** `memory.grow`: 64 units per page. */
const growMemory = { mul: 64, shift: 0 } as const
/** The static weight of a bulk operation or a grow (a runtime call in the engine), besides its length. */
const bulkWeight = 16

/** Weight of each single-byte opcode: 0 for structure (block, loop, end, else, nop), 1 for most, more for calls. */
const weights = new Uint8Array(256).fill(1)
for (const op of [0x01, 0x02, 0x03, 0x05, 0x06, 0x0b, 0x1f]) weights[op] = 0
for (const op of [0x10, 0x11, 0x12, 0x13, 0x14, 0x15]) weights[op] = 3

/** What the walker does with an instruction. */
export const Kind = {
  /** Straight-line: part of the current block. */
  Plain: 0,
  /** Ends the current block; the next instruction starts a new one. */
  Boundary: 1,
  /** `global.get`/`global.set`: the index is rewritten. */
  Global: 2,
  /** A bulk operation: charged by its length (the i32 on top of the stack) just before it runs. */
  Bulk: 3
} as const
export type Kind = typeof Kind[keyof typeof Kind]

/** A call to a host function (`gn_log`, `gn_time_ms`, ...): the host's side of it costs more than a guest call. */
const hostCallWeight = 100

// The walker's outputs besides the kind (`weight`, and `bulk` for a Bulk instruction), and what it must know of the
// module it walks (`importedFunctions`): one module at a time, the walk is synchronous. Module bindings, not an
// object's fields: the instrumenter reads them once per instruction, and a binding is measurably cheaper.
/** The weight of the instruction last read. */
export let weight = 1
/** The length charge of the Bulk instruction last read. */
export let bulk: { readonly mul: number; readonly shift: number } = bulkMemory
/** How many functions the module being walked imports (calls below this index are host calls). */
export let importedFunctions = 0

/** Sets `importedFunctions` for the module about to be walked. */
export const setImportedFunctions = (n: number): void => {
  importedFunctions = n
}

/** Reads one instruction's immediates (the opcode already read). Returns its kind; sets `bulk` for Bulk. */
export const readInstruction = (r: In, op: number): Kind => {
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
