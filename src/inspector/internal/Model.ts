/**
 * What the inspector keeps and serves: per-hook figures gathered from `bus.dispatches` (errors, durations for p50
 * and p99), the recent dispatches, and the JSON shapes of its API. A dispatch becomes its view (redacted,
 * truncated) only when something shows it: a page's live tail as it arrives, or a request; the figures are all the
 * other dispatches cost.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type { DispatchRecord, HandlerTiming } from "../../domain/DispatchRecord.ts"
import type { HandlerInfo, HookInfo } from "../../domain/Handler.ts"
import type { HookKind } from "../../domain/Hook.ts"
import type { HandlerFailed } from "../../domain/HookErrors.ts"
import type { Redact } from "../HookInspector.ts"
import { present } from "./Present.ts"

/** A handler failure as the page shows it. */
export interface FailureView {
  readonly source: string
  readonly reason: string
  /** The typed error's tag (`Trapped`, `NotFound`, ...) or the defect's name. */
  readonly error: string
  readonly message: string
  /** A filter handler passed over under the "skip" policy. */
  readonly skipped: boolean
}

/** One dispatch as the page shows it. */
export interface DispatchView {
  readonly id: number
  readonly hook: string
  readonly kind: HookKind
  readonly outcome: DispatchRecord["outcome"]
  readonly startedAt: number
  readonly durationMillis: number
  readonly value: string | undefined
  readonly result: string | undefined
  readonly args: ReadonlyArray<string>
  readonly handlers: ReadonlyArray<string>
  readonly failures: ReadonlyArray<FailureView>
  readonly shortCircuitedBy: string | undefined
  /** `undefined` when the bus did not time this dispatch (see `DispatchRecord.timings`). */
  readonly timings: ReadonlyArray<HandlerTiming> | undefined
}

/** A plugin as the plugins panel shows it. */
export interface PluginView {
  readonly name: string
  readonly version: string
  readonly sha256: string
  readonly execution: string
  readonly breaker: string
  readonly suspendedUntil: number | undefined
  readonly calls: number
  readonly rejected: number
  readonly lastFuelUsed: number | undefined
  readonly averageFuelUsed: number | undefined
  /** The cap, and what the guest uses now, in 64 KiB pages. */
  readonly memoryPages: number
  readonly memoryPagesUsed: number
  readonly lastError: { readonly error: string; readonly message: string } | undefined
  readonly reloads: number
  readonly hooks: ReadonlyArray<string>
  readonly reloadable: boolean
}

/** A row of the hooks list. */
export interface HookRow {
  readonly name: string
  readonly kind: HookKind
  readonly handlers: number
  readonly dispatches: number
  readonly errors: number
  readonly p50Millis: number | undefined
  readonly p99Millis: number | undefined
}

/** An ordering constraint between two handlers of a chain: `from` runs before `to`, because of `by`'s option. */
export interface Edge {
  readonly from: string
  readonly to: string
  /** The handler whose `before` or `after` says so. */
  readonly by: string
  readonly constraint: "before" | "after"
}

/** A hook's detail. */
export interface HookDetail extends HookRow {
  readonly chain: ReadonlyArray<HandlerInfo>
  readonly edges: ReadonlyArray<Edge>
  readonly recent: ReadonlyArray<DispatchView>
}

const window = 1024

/** The figures of one hook since the inspector started. */
class HookFigures {
  errors = 0
  private readonly durations = new Float64Array(window)
  private count = 0
  add(record: DispatchRecord): void {
    if (record.outcome === "failed" || record.failures.length > 0) this.errors++
    this.durations[this.count % window] = record.durationMillis
    this.count++
  }
  percentiles(): readonly [number | undefined, number | undefined] {
    const n = Math.min(this.count, window)
    if (n === 0) return [undefined, undefined]
    const sorted = this.durations.slice(0, n).sort()
    const at = (p: number) => sorted[Math.min(n - 1, Math.ceil(p * n) - 1)]
    return [at(0.5), at(0.99)]
  }
}

/** The typed error's tag and message of a failure, or the defect's. */
const errorOf = (failure: HandlerFailed): { readonly tag: string; readonly message: string } => {
  const error = failure.error
  if (failure.reason === "Failure" && typeof error === "object" && error !== null) {
    const tag = (error as { readonly _tag?: unknown })._tag
    const message = (error as { readonly message?: unknown }).message
    return { tag: typeof tag === "string" ? tag : "Error", message: typeof message === "string" ? message : "" }
  }
  const defect = Cause.findDefect(failure.cause)
  if (defect._tag === "Success") {
    const d = defect.success
    return d instanceof Error ? { tag: d.name, message: d.message } : { tag: "Defect", message: String(d) }
  }
  return { tag: failure.reason, message: failure.message }
}

/** A recent dispatch, and its view once something asked for it. */
interface Kept {
  readonly id: number
  readonly record: DispatchRecord
  view: DispatchView | undefined
}

/** Everything the inspector has gathered, and how it renders it. */
export class Model {
  /** By kind, then hook name (no key string to build per dispatch). */
  private readonly figures = { action: new Map<string, HookFigures>(), filter: new Map<string, HookFigures>() }
  private readonly recent: Array<Kept> = []
  private nextId = 0
  private readonly max: number
  private readonly history: number
  private readonly redact: Redact | undefined

  constructor(options: { readonly maxValueLength: number; readonly history: number; readonly redact?: Redact }) {
    this.max = options.maxValueLength
    this.history = options.history
    this.redact = options.redact
  }

  /** Takes dispatches: counts them, keeps the newest, and returns their views when `live` (a page is open). */
  ingest(records: ReadonlyArray<DispatchRecord>, live: boolean): ReadonlyArray<DispatchView> {
    const views: Array<DispatchView> = []
    for (const record of records) {
      const byName = this.figures[record.kind]
      let figures = byName.get(record.hook)
      if (figures === undefined) byName.set(record.hook, figures = new HookFigures())
      figures.add(record)
      const kept: Kept = { id: ++this.nextId, record, view: undefined }
      if (live) views.push(this.viewOf(kept))
      this.recent.push(kept)
    }
    if (this.recent.length > this.history) this.recent.splice(0, this.recent.length - this.history)
    return views
  }

  private viewOf(kept: Kept): DispatchView {
    return kept.view ??= this.view(kept.id, kept.record)
  }

  private show(value: unknown, record: DispatchRecord, field: "value" | "result" | "args" | "failure"): string {
    return present(value, this.max, this.redact, { hook: record.hook, kind: record.kind, field })
  }

  /** A plugin's last error message, through `redact` like a failure's. */
  presentPluginError(message: string, plugin: string): string {
    return present(message, this.max, this.redact, { hook: plugin, kind: "plugin", field: "failure" })
  }

  private view(id: number, record: DispatchRecord): DispatchView {
    const isFilter = record.kind === "filter"
    const last = record.failures.length - 1
    return {
      id,
      hook: record.hook,
      kind: record.kind,
      outcome: record.outcome,
      startedAt: record.startedAt,
      durationMillis: record.durationMillis,
      value: isFilter ? this.show(record.value, record, "value") : undefined,
      result: isFilter ? this.show(record.result, record, "result") : undefined,
      args: record.args.map((arg) => this.show(arg, record, "args")),
      handlers: record.handlers,
      failures: record.failures.map((failure, i) => {
        const error = errorOf(failure)
        return {
          source: failure.source,
          reason: failure.reason,
          error: error.tag,
          message: this.show(error.message, record, "failure"),
          skipped: isFilter && !(record.outcome === "failed" && i === last)
        }
      }),
      shortCircuitedBy: record.shortCircuitedBy,
      timings: record.timings
    }
  }

  /** The recent dispatches, newest last; of one hook when given. */
  dispatches(hook?: { readonly kind: HookKind; readonly name: string }): ReadonlyArray<DispatchView> {
    const kept = hook === undefined
      ? this.recent
      : this.recent.filter((k) => k.record.kind === hook.kind && k.record.hook === hook.name)
    return kept.map((k) => this.viewOf(k))
  }

  dispatch(id: number): DispatchView | undefined {
    const kept = this.recent.find((k) => k.id === id)
    return kept === undefined ? undefined : this.viewOf(kept)
  }

  row(hook: HookInfo): HookRow {
    const figures = this.figures[hook.kind].get(hook.name)
    const [p50, p99] = figures?.percentiles() ?? [undefined, undefined]
    return {
      name: hook.name,
      kind: hook.kind,
      handlers: hook.handlers.length,
      dispatches: hook.dispatches,
      errors: figures?.errors ?? 0,
      p50Millis: p50,
      p99Millis: p99
    }
  }

  detail(hook: HookInfo): HookDetail {
    const sources = new Set(hook.handlers.map((h) => h.source))
    const edges: Array<Edge> = []
    for (const h of hook.handlers) {
      for (const other of h.after) {
        if (sources.has(other)) edges.push({ from: other, to: h.source, by: h.source, constraint: "after" })
      }
      for (const other of h.before) {
        if (sources.has(other)) edges.push({ from: h.source, to: other, by: h.source, constraint: "before" })
      }
    }
    const recent = this.recent.filter((k) => k.record.kind === hook.kind && k.record.hook === hook.name).slice(-50)
    return { ...this.row(hook), chain: hook.handlers, edges, recent: recent.map((k) => this.viewOf(k)) }
  }
}
