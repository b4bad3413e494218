/**
 * The conformance suite's allocator row, and the row constructor its rows share.
 *
 * @internal
 */
import { errorMessage } from "../../domain/errorMessage.ts"
import type { Guest } from "../Guest.ts"
import type { Check } from "../Inspect.ts"

/** A row: passed when there are no problems (the detail then says what held), else the first problems. */
export const row = (name: string, problems: ReadonlyArray<string>, detail: string): Check =>
  problems.length === 0
    ? { name, ok: true, detail }
    : {
      name,
      ok: false,
      detail: problems.slice(0, 3).join("; ") + (problems.length > 3 ? ` (+${problems.length - 3})` : "")
    }

/** Allocates blocks of several sizes at once, checks they are usable and apart, frees them; memory must stay flat. */
export const allocRow = (guest: Guest): Check => {
  const sizes = [1, 3, 16, 255, 4096, 65_536]
  const rounds = 1_000
  try {
    const allocator = guest.allocator()
    let warmed = 0
    for (let round = 0; round <= rounds; round++) {
      const blocks = sizes.map((size) => ({ size, ptr: allocator.alloc(size) }))
      const limit = guest.memoryBytes()
      for (const { ptr, size } of blocks) {
        if (ptr === 0) return row("alloc/free accounting", [`gn_alloc(${size}) returned 0 (round ${round})`], "")
        if (ptr + size > limit) {
          return row("alloc/free accounting", [`gn_alloc(${size}) returned ${ptr}, outside memory`], "")
        }
      }
      const sorted = [...blocks].sort((a, b) => a.ptr - b.ptr)
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i - 1].ptr + sorted[i - 1].size > sorted[i].ptr) {
          return row("alloc/free accounting", [`live blocks overlap at ${sorted[i].ptr} (round ${round})`], "")
        }
      }
      const memory = new Uint8Array(guest.memory().buffer)
      blocks.forEach(({ ptr, size }, i) => memory.fill((round + i) & 0xff, ptr, ptr + size))
      for (const [i, { ptr, size }] of blocks.entries()) {
        if (memory[ptr] !== ((round + i) & 0xff) || memory[ptr + size - 1] !== ((round + i) & 0xff)) {
          return row("alloc/free accounting", [`bytes written at ${ptr} did not read back`], "")
        }
      }
      for (const { ptr, size } of blocks) allocator.free(ptr, size)
      if (round === 0) warmed = guest.memoryBytes()
    }
    const after = guest.memoryBytes()
    return row(
      "alloc/free accounting",
      after === warmed ? [] : [`memory grew from ${warmed} to ${after} bytes over ${rounds} rounds`],
      `${rounds} rounds of ${sizes.length} live blocks (${
        sizes.join(", ")
      } bytes): apart, writable, freed; memory flat at ${after} bytes`
    )
  } catch (error) {
    guest.drop()
    return row("alloc/free accounting", [`trapped: ${errorMessage(error)}`], "")
  }
}
