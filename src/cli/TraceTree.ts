/**
 * Records spans with an in-memory tracer and prints them as an indented tree with durations and outcomes: what
 * `hookbus run --trace` shows.
 *
 * @since 0.1.0
 */
import * as Tracer from "effect/Tracer"

/** A tracer that keeps every span it creates, and the spans. */
export const recorder = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const durationOf = (span: Tracer.NativeSpan): string => {
  if (span.status._tag !== "Ended") return "running"
  const micros = Number(span.status.endTime - span.status.startTime) / 1000
  return micros >= 1000 ? `${(micros / 1000).toFixed(2)} ms` : `${micros.toFixed(0)} µs`
}

const outcomeOf = (span: Tracer.NativeSpan): string => {
  const outcome = span.attributes.get("hook.outcome")
  if (typeof outcome === "string") {
    const by = span.attributes.get("hook.short_circuited_by")
    return by === undefined ? outcome : `${outcome} by ${String(by)}`
  }
  if (span.status._tag !== "Ended") return "running"
  return span.status.exit._tag === "Success" ? "ok" : "failed"
}

const details = (span: Tracer.NativeSpan): string => {
  const parts = [durationOf(span), outcomeOf(span)]
  const handlers = span.attributes.get("hook.handlers")
  if (handlers !== undefined) parts.push(`${String(handlers)} handler(s)`)
  const fuel = span.attributes.get("plugin.fuel_used")
  if (fuel !== undefined) parts.push(`${String(fuel)} fuel`)
  for (const [name, , attributes] of span.events) {
    if (name === "hook.handler_failed") {
      parts.push(`failed: ${String(attributes?.["hook.source"])} (${String(attributes?.["hook.reason"])})`)
    }
  }
  return parts.join(", ")
}

/** The line that explains the `(linked)` marker, printed under a tree that has one. */
export const linkNote =
  "(linked): an async handler, run in its own fiber after the dispatch returned; its span is linked to the dispatch rather than nested in it"

/**
 * The spans as indented trees, one per root. A span linked rather than nested (an async handler) is shown under
 * the span it links to, marked "(linked)", so each request stays one tree.
 */
export const format = (spans: ReadonlyArray<Tracer.NativeSpan>): string => {
  const ids = new Set(spans.map((s) => s.spanId))
  const children = new Map<string, Array<Tracer.NativeSpan>>()
  const roots: Array<Tracer.NativeSpan> = []
  for (const span of spans) {
    const parent = span.parent._tag === "Some" ? span.parent.value.spanId : undefined
    const linked = span.links.find((link) => ids.has(link.span.spanId))?.span.spanId
    const under = parent !== undefined && ids.has(parent) ? parent : linked
    if (under !== undefined) {
      const list = children.get(under) ?? []
      list.push(span)
      children.set(under, list)
    } else roots.push(span)
  }
  const lines: Array<string> = []
  const walk = (span: Tracer.NativeSpan, depth: number) => {
    const link = span.links.length > 0 ? "  (linked)" : ""
    lines.push(`${"  ".repeat(depth)}${span.name}  [${details(span)}]${link}`)
    for (const child of children.get(span.spanId) ?? []) walk(child, depth + 1)
  }
  for (const root of roots) walk(root, 0)
  if (spans.some((s) => s.links.length > 0)) lines.push(linkNote)
  return lines.join("\n")
}
