// A small, strict JSON for hookbus plugins: parse (RFC 8259, with a nesting limit) and stringify.

export const enum Kind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5
}

/** Deepest nesting `parse` accepts; deeper input is a syntax error rather than a stack overflow. */
export const MAX_DEPTH: i32 = 256

/** A JSON value. Objects keep their keys in insertion order. */
export class Value {
  kind: Kind = Kind.Null
  private b: bool = false
  private n: f64 = 0
  private s: string = ""
  private items: Array<Value> | null = null
  private keys: Array<string> | null = null

  static null(): Value {
    return new Value()
  }
  static bool(b: bool): Value {
    const v = new Value()
    v.kind = Kind.Bool
    v.b = b
    return v
  }
  static number(n: f64): Value {
    const v = new Value()
    v.kind = Kind.Number
    v.n = n
    return v
  }
  static string(s: string): Value {
    const v = new Value()
    v.kind = Kind.String
    v.s = s
    return v
  }
  static array(items: Array<Value> = []): Value {
    const v = new Value()
    v.kind = Kind.Array
    v.items = items
    return v
  }
  static object(): Value {
    const v = new Value()
    v.kind = Kind.Object
    v.items = []
    v.keys = []
    return v
  }

  get isNull(): bool {
    return this.kind == Kind.Null
  }
  get isBool(): bool {
    return this.kind == Kind.Bool
  }
  get isNumber(): bool {
    return this.kind == Kind.Number
  }
  get isString(): bool {
    return this.kind == Kind.String
  }
  get isArray(): bool {
    return this.kind == Kind.Array
  }
  get isObject(): bool {
    return this.kind == Kind.Object
  }

  /** The boolean, or false for any other kind. */
  asBool(): bool {
    return this.kind == Kind.Bool ? this.b : false
  }
  /** The number, or NaN for any other kind. */
  asNumber(): f64 {
    return this.kind == Kind.Number ? this.n : NaN
  }
  /** The string, or "" for any other kind. */
  asString(): string {
    return this.kind == Kind.String ? this.s : ""
  }
  /** The items of an array (or the values of an object), or an empty array. */
  asArray(): Array<Value> {
    const items = this.items
    return items !== null ? items : []
  }
  /** The object's keys, in order, or an empty array. */
  objectKeys(): Array<string> {
    const keys = this.keys
    return keys !== null ? keys : []
  }
  /** The value at `key` of an object, or null. */
  get(key: string): Value | null {
    const keys = this.keys
    const items = this.items
    if (keys === null || items === null) return null
    for (let i = keys.length - 1; i >= 0; i--) if (keys[i] == key) return items[i]
    return null
  }
  /** Sets `key` on an object (replacing an existing one); returns the object. */
  set(key: string, value: Value): Value {
    const keys = this.keys
    const items = this.items
    if (keys === null || items === null) return this
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] == key) {
        items[i] = value
        return this
      }
    }
    keys.push(key)
    items.push(value)
    return this
  }
  /** Appends to an array; returns the array. */
  push(value: Value): Value {
    const items = this.items
    if (this.kind == Kind.Array && items !== null) items.push(value)
    return this
  }

  stringify(): string {
    const out: Array<string> = []
    write(this, out)
    return out.join("")
  }
}

function write(v: Value, out: Array<string>): void {
  switch (v.kind) {
    case Kind.Null:
      out.push("null")
      break
    case Kind.Bool:
      out.push(v.asBool() ? "true" : "false")
      break
    case Kind.Number:
      out.push(numberText(v.asNumber()))
      break
    case Kind.String:
      out.push(quote(v.asString()))
      break
    case Kind.Array: {
      const items = v.asArray()
      out.push("[")
      for (let i = 0; i < items.length; i++) {
        if (i > 0) out.push(",")
        write(items[i], out)
      }
      out.push("]")
      break
    }
    default: {
      const keys = v.objectKeys()
      const items = v.asArray()
      out.push("{")
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) out.push(",")
        out.push(quote(keys[i]))
        out.push(":")
        write(items[i], out)
      }
      out.push("}")
    }
  }
}

function numberText(n: f64): string {
  if (!isFinite(n)) return "null"
  if (n == Math.floor(n) && Math.abs(n) < 9007199254740992) return (<i64>n).toString()
  return n.toString()
}

const HEX = "0123456789abcdef"

/** A JSON string literal for `s`. */
export function quote(s: string): string {
  const out: Array<string> = ['"']
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let escape: string | null = null
    if (c == 0x22) escape = '\\"'
    else if (c == 0x5c) escape = "\\\\"
    else if (c == 0x0a) escape = "\\n"
    else if (c == 0x0d) escape = "\\r"
    else if (c == 0x09) escape = "\\t"
    else if (c < 0x20) escape = "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15)
    if (escape !== null) {
      if (i > start) out.push(s.substring(start, i))
      out.push(escape)
      start = i + 1
    }
  }
  if (start < s.length) out.push(s.substring(start))
  out.push('"')
  return out.join("")
}

/** Parses JSON text; null when it is not valid JSON (or nests deeper than MAX_DEPTH). */
export function parse(text: string): Value | null {
  const p = new Parser(text)
  p.skip()
  const v = p.value(0)
  if (v === null) return null
  p.skip()
  return p.pos == text.length ? v : null
}

class Parser {
  pos: i32 = 0
  text: string
  constructor(text: string) {
    this.text = text
  }
  skip(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos)
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) this.pos++
      else break
    }
  }
  literal(word: string): bool {
    if (this.text.substr(this.pos, word.length) != word) return false
    this.pos += word.length
    return true
  }
  value(depth: i32): Value | null {
    if (depth > MAX_DEPTH || this.pos >= this.text.length) return null
    const c = this.text.charCodeAt(this.pos)
    if (c == 0x7b) return this.object(depth)
    if (c == 0x5b) return this.array(depth)
    if (c == 0x22) {
      const s = this.string()
      return s === null ? null : Value.string(s)
    }
    if (c == 0x74) return this.literal("true") ? Value.bool(true) : null
    if (c == 0x66) return this.literal("false") ? Value.bool(false) : null
    if (c == 0x6e) return this.literal("null") ? Value.null() : null
    return this.number()
  }
  object(depth: i32): Value | null {
    const obj = Value.object()
    this.pos++
    this.skip()
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == 0x7d) {
      this.pos++
      return obj
    }
    while (true) {
      this.skip()
      if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x22) return null
      const key = this.string()
      if (key === null) return null
      this.skip()
      if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x3a) return null
      this.pos++
      this.skip()
      const v = this.value(depth + 1)
      if (v === null) return null
      obj.set(key, v)
      this.skip()
      if (this.pos >= this.text.length) return null
      const c = this.text.charCodeAt(this.pos++)
      if (c == 0x7d) return obj
      if (c != 0x2c) return null
    }
  }
  array(depth: i32): Value | null {
    const arr = Value.array()
    this.pos++
    this.skip()
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == 0x5d) {
      this.pos++
      return arr
    }
    while (true) {
      this.skip()
      const v = this.value(depth + 1)
      if (v === null) return null
      arr.push(v)
      this.skip()
      if (this.pos >= this.text.length) return null
      const c = this.text.charCodeAt(this.pos++)
      if (c == 0x5d) return arr
      if (c != 0x2c) return null
    }
  }
  string(): string | null {
    const text = this.text
    this.pos++
    const parts: Array<string> = []
    let start = this.pos
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos)
      if (c == 0x22) {
        if (this.pos > start) parts.push(text.substring(start, this.pos))
        this.pos++
        return parts.join("")
      }
      if (c < 0x20) return null
      if (c == 0x5c) {
        if (this.pos > start) parts.push(text.substring(start, this.pos))
        this.pos++
        if (this.pos >= text.length) return null
        const e = text.charCodeAt(this.pos)
        if (e == 0x22) parts.push('"')
        else if (e == 0x5c) parts.push("\\")
        else if (e == 0x2f) parts.push("/")
        else if (e == 0x62) parts.push("\b")
        else if (e == 0x66) parts.push("\f")
        else if (e == 0x6e) parts.push("\n")
        else if (e == 0x72) parts.push("\r")
        else if (e == 0x74) parts.push("\t")
        else if (e == 0x75) {
          if (this.pos + 4 >= text.length) return null
          let code = 0
          for (let i = 1; i <= 4; i++) {
            const h = text.charCodeAt(this.pos + i)
            let d = -1
            if (h >= 0x30 && h <= 0x39) d = h - 0x30
            else if (h >= 0x61 && h <= 0x66) d = h - 0x57
            else if (h >= 0x41 && h <= 0x46) d = h - 0x37
            if (d < 0) return null
            code = (code << 4) | d
          }
          parts.push(String.fromCharCode(code))
          this.pos += 4
        } else return null
        this.pos++
        start = this.pos
        continue
      }
      this.pos++
    }
    return null
  }
  number(): Value | null {
    const text = this.text
    const start = this.pos
    if (this.pos < text.length && text.charCodeAt(this.pos) == 0x2d) this.pos++
    if (this.pos >= text.length) return null
    const first = text.charCodeAt(this.pos)
    if (first == 0x30) this.pos++
    else if (first >= 0x31 && first <= 0x39) this.digits()
    else return null
    if (this.pos < text.length && text.charCodeAt(this.pos) == 0x2e) {
      this.pos++
      if (this.digits() == 0) return null
    }
    if (this.pos < text.length && (text.charCodeAt(this.pos) | 0x20) == 0x65) {
      this.pos++
      if (this.pos < text.length && (text.charCodeAt(this.pos) == 0x2b || text.charCodeAt(this.pos) == 0x2d)) this.pos++
      if (this.digits() == 0) return null
    }
    return Value.number(parseFloat(text.substring(start, this.pos)))
  }
  digits(): i32 {
    let n = 0
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos)
      if (c < 0x30 || c > 0x39) break
      this.pos++
      n++
    }
    return n
  }
}
