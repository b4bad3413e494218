/**
 * Reading and writing the bytes of a module for the fuel instrumenter: a cursor over a section (`In`, LEB128
 * integers, value and block types, memory arguments) and a growable output buffer (`Out`).
 *
 * @internal
 */

/** Thrown (and caught by the caller) for a module the instrumentation cannot read or does not support. */
export class UnsupportedModule extends Error {}

/** A growable output buffer. */
export class Out {
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

/** A cursor over the bytes of one section. */
export class In {
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
