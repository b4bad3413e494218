/**
 * How the inspector shows a value: the user's `redact` first, then a bounded, one-line rendering in which every
 * `Redacted` value, however deep, is `<redacted>`. Nothing here keeps the value itself.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import type { Redact, RedactContext } from "../HookInspector.ts"

/** What `Redacted` values and values the user's `redact` hides show as. */
export const redactedText = "<redacted>"

const maxDepth = 5
const maxItems = 30

/** A one-line rendering of `value`, at most `max` characters (a longer one ends with an ellipsis and its length). */
const render = (value: unknown, max: number): string => {
  const seen = new Set<object>()
  let out = ""
  const put = (text: string): boolean => {
    out += text
    return out.length <= max
  }
  const walk = (v: unknown, depth: number): boolean => {
    if (Redacted.isRedacted(v)) return put(redactedText)
    switch (typeof v) {
      case "string":
        return put(JSON.stringify(v))
      case "number":
      case "boolean":
      case "undefined":
        return put(String(v))
      case "bigint":
        return put(`${v}n`)
      case "symbol":
        return put(v.toString())
      case "function":
        return put(`[function ${v.name || "anonymous"}]`)
    }
    if (v === null) return put("null")
    const o = v as object
    if (seen.has(o)) return put("[circular]")
    if (depth >= maxDepth) return put(Array.isArray(o) ? "[...]" : "{...}")
    if (ArrayBuffer.isView(o)) return put(`${o.constructor.name}(${o.byteLength} bytes)`)
    if (o instanceof Date) return put(Number.isNaN(o.getTime()) ? "Invalid Date" : o.toISOString())
    if (o instanceof Error) return put(`${o.name}: `) && walk(o.message, depth + 1)
    seen.add(o)
    const list = (open: string, items: Iterable<unknown>, each: (item: unknown) => boolean, close: string) => {
      if (!put(open)) return false
      let i = 0
      for (const item of items) {
        if (i > 0 && !put(", ")) return false
        if (i >= maxItems) return put("...") && put(close)
        if (!each(item)) return false
        i++
      }
      return put(close)
    }
    const ok = Array.isArray(o)
      ? list("[", o, (item) => walk(item, depth + 1), "]")
      : o instanceof Map
      ? list("Map{", o, (entry) => {
        const [k, item] = entry as [unknown, unknown]
        return walk(k, depth + 1) && put(" => ") && walk(item, depth + 1)
      }, "}")
      : o instanceof Set
      ? list("Set{", o, (item) => walk(item, depth + 1), "}")
      : list("{", Object.keys(o), (key) => {
        const k = key as string
        return put(`${JSON.stringify(k)}: `) && walk((o as Record<string, unknown>)[k], depth + 1)
      }, "}")
    seen.delete(o)
    return ok
  }
  walk(value, 0)
  return out.length <= max ? out : `${out.slice(0, max)}... (truncated)`
}

/**
 * `value` as the inspector shows it: passed through `redact` (when given), then rendered within `max` characters.
 * Never throws: a `redact` that throws hides the value, and a value whose reading throws (a getter) says so.
 */
export const present = (
  value: unknown,
  max: number,
  redact: Redact | undefined,
  context: RedactContext
): string => {
  let shown: unknown = value
  if (redact !== undefined) {
    // The boundary with user code: its exception becomes what is shown, never the value.
    try {
      shown = redact(value, context)
    } catch {
      return `${redactedText} (redact threw)`
    }
  }
  try {
    return render(shown, max)
  } catch (error) {
    return `[unreadable: ${error instanceof Error ? error.name : typeof error}]`
  }
}
