/**
 * The bus's handlers: one slot per hook holding its chain, an immutable array of entries already in run order. A
 * registration or removal changes the slot's own list in place, in one synchronous step, and the next dispatch
 * takes a snapshot of it, so dispatch reads the chain once and never sorts.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as MutableRef from "effect/MutableRef"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import type { FilterErrorPolicy, HandlerInfo, HandlerMode, Registration } from "../../domain/Handler.ts"
import * as HandlerOrder from "../../domain/HandlerOrder.ts"
import type { AnyHook, HookKind } from "../../domain/Hook.ts"
import { RegistrationRejected } from "../../domain/HookErrors.ts"
import { CurrentDurableRegistrar } from "../../services/internal/DurableRegistrar.ts"
import type { HookSeries, Observer } from "./DispatchProbe.ts"
import * as HandlerContext from "./HandlerContext.ts"
import { declaredGuard } from "./Invoke.ts"
import { optionProblem, type RawOptions } from "./Options.ts"

/** A handler function as the bus stores it. */
export type AnyFn = (...args: Array<any>) => Effect.Effect<any, any, any>

/** A registered handler. `removed` stops it from running; `detached` records it has left its chain. */
export interface Entry extends HandlerOrder.Orderable, HandlerContext.MergeCache {
  readonly id: number
  readonly slot: Slot
  readonly fn: AnyFn
  readonly mode: HandlerMode
  readonly once: boolean
  readonly timeout: Duration.Duration | undefined
  readonly policy: FilterErrorPolicy
  readonly orderBy: ((...args: ReadonlyArray<unknown>) => string) | undefined
  readonly lent: HandlerContext.Lent
  removed: boolean
  detached: boolean
  /** Whether its source was given (a default `handler-<id>` source is not indexed by source). */
  readonly named: boolean
  /** The registrations of the scope it was made in, which it leaves when it is removed, and its place there. */
  scope: ScopeEntries | undefined
  scopeIndex: number
}

/**
 * The registrations made in one scope, in registration order: an array whose removed places are cleared (and
 * compacted once most are), not a `Set`, whose table a scope of 10,000 registrations grows, rehashes and shrinks.
 */
interface ScopeEntries {
  readonly entries: Array<Entry | undefined>
  live: number
}

/** Leaves its scope's registrations: its place is cleared, and the array compacted when most places are. */
const leaveScope = (entry: Entry): void => {
  const scope = entry.scope
  if (scope === undefined) return
  entry.scope = undefined
  const entries = scope.entries
  entries[entry.scopeIndex] = undefined
  scope.live--
  if (scope.live === 0) entries.length = 0
  else if (entries.length > 32 && scope.live < entries.length >> 1) {
    let kept = 0
    for (const e of entries) {
      if (e === undefined) continue
      e.scopeIndex = kept
      entries[kept++] = e
    }
    entries.length = kept
  }
}

/** The id in a default source (`handler-<id>`), or `undefined` for any other source. */
const defaultSourceId = (source: string): number | undefined =>
  /^handler-[1-9][0-9]*$/.test(source) ? Number(source.slice("handler-".length)) : undefined

/** Everything the bus keeps for one hook. */
export interface Slot {
  readonly name: string
  readonly kind: HookKind
  /**
   * The chain dispatches read: an immutable snapshot of `entries`, renewed on the first read after a change, and
   * always the value of `chain`. Read here rather than through the `Ref`: on a bus of 100,000 hooks each object a
   * dispatch reaches is a likely cache miss.
   */
  snapshot: ReadonlyArray<Entry>
  /** The hook's chain as the bus's state: a `Ref` Effect code reads (`has`, `handlers`, `hooks`). */
  readonly chain: Ref.Ref<ReadonlyArray<Entry>>
  /** The handlers in run order, changed in place by registration and removal. */
  entries: Array<Entry>
  /** `entries` changed since `chain` was taken. */
  stale: boolean
  dispatches: number
  /** How many of the chain's handlers have ordering constraints (0 keeps registration a binary insertion). */
  constrained: number
  /** Metric series, made on the first observed dispatch. */
  series: HookSeries | undefined
  /** The guard of the hook's declared error schema, once a definition declaring one was met. */
  declared: ((u: unknown) => boolean) | undefined
  /** A durable handler was registered here once: its dispatches collect job ids (`doAction`'s result). */
  durable: boolean
  /** The sources of `sourcesChain` in order (`chainSources`), made when a recorded dispatch first ran all of it. */
  sources: ReadonlyArray<string> | undefined
  /** The chain `sources` were taken from. */
  sourcesChain: ReadonlyArray<Entry> | undefined
}

/** The metric series of a slot, made on first use. */
export const seriesOf = (observer: Observer, slot: Slot): HookSeries =>
  slot.series ??= observer.series(slot.kind, slot.name)

/** The bus's bound on async runs, as `HandlerInfo.bound` shows it. */
export type AsyncBound = NonNullable<HandlerInfo["bound"]>

/** What `handlers()` and the meta hooks show of a handler (made when asked: most registrations never are). */
export const infoOf = (entry: Entry, bound: AsyncBound): HandlerInfo => ({
  id: entry.id,
  source: entry.source,
  priority: entry.priority,
  mode: entry.mode,
  before: entry.before,
  after: entry.after,
  once: entry.once,
  ordered: entry.orderBy !== undefined,
  timeoutMillis: entry.timeout === undefined ? undefined : Duration.toMillis(entry.timeout),
  onError: entry.slot.kind === "filter" ? entry.policy : undefined,
  bound: entry.mode === "async" ? bound : undefined
})

/** The fields logs about a handler are annotated with. */
export const logAnnotations = (entry: Entry) => ({ hook: entry.slot.name, kind: entry.slot.kind, source: entry.source })

/**
 * The chain to dispatch: the snapshot, renewed if registrations changed `entries` since. Renewing on read rather
 * than on write makes a registration or removal on a long chain an in-place splice, and many of them in a row
 * (a plugin loading) one copy. A dispatch keeps the snapshot it read, so changes it makes join the next one. The
 * renewal is synchronous: one step no fiber can split.
 */
export const chainOf = (slot: Slot): ReadonlyArray<Entry> => {
  if (slot.stale) {
    slot.stale = false
    slot.snapshot = slot.entries.slice()
    MutableRef.set(slot.chain.ref, slot.snapshot)
  }
  return slot.snapshot
}

/** The sources of a chain's first `count` handlers, in a fresh array (a recorded dispatch's list, handed over). */
export const sourcesBefore = (chain: ReadonlyArray<Entry>, count: number): Array<string> => {
  const sources = new Array<string>(count)
  for (let i = 0; i < count; i++) sources[i] = chain[i].source
  return sources
}

/** The sources of a whole chain, made once per snapshot and shared by the records of the dispatches that ran it. */
export const chainSources = (slot: Slot, chain: ReadonlyArray<Entry>): ReadonlyArray<string> => {
  if (slot.sourcesChain !== chain || slot.sources === undefined) {
    slot.sources = Object.freeze(sourcesBefore(chain, chain.length))
    slot.sourcesChain = chain
  }
  return slot.sources
}

/** Where an unconstrained entry goes in a chain sorted by `HandlerOrder.compare`: after its equals. */
const insertionPoint = (entries: ReadonlyArray<Entry>, entry: Entry): number => {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (HandlerOrder.compare(entries[mid], entry) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * What the bus does when handlers join or leave a chain by a registration or a removal (meta hooks, `register`
 * interceptors). A `once` handler leaving after its run is not reported: that happens inside a dispatch.
 */
export interface RegistryEvents {
  readonly added: (entry: Entry) => Effect.Effect<void>
  readonly removed: (entries: ReadonlyArray<Entry>) => Effect.Effect<void>
}

const noEntries: ReadonlyArray<Entry> = []
/** The `before`/`after` of a handler without constraints: one shared array, not two per registration. */
const noSources: ReadonlyArray<string> = Object.freeze([])

/** Where a hook object keeps its slot on the bus that dispatched it last (a hidden, non-enumerable property). */
const slotBox: unique symbol = Symbol("hookbus/slot")
interface SlotBox {
  registry: Registry | undefined
  slot: Slot | undefined
}

/** The handlers of a bus, by hook and by source. */
export class Registry {
  /** Set by the bus once its dispatch exists; registration reports to it. */
  events: RegistryEvents | undefined = undefined
  private readonly slots = new Map<string, Slot>()
  /** The hooks' slot boxes that point at this bus, cleared by `close`. */
  private readonly boxes = new Set<SlotBox>()
  /**
   * Handlers by given source: the entry itself while a source has one, then a Set. A default source is not here:
   * a map of one entry per registration costs its growth on every registration, and `removeSource` of a
   * default source (which names one handler) finds it in the chains instead.
   */
  private readonly bySource = new Map<string, Entry | Set<Entry>>()
  /** The registrations made in each scope still open, removed by one finalizer when it closes. */
  private readonly byScope = new WeakMap<Scope.Scope, ScopeEntries>()
  private nextId = 0
  // Registrations made in a row from one context (a Layer registering its handlers) share what they lend.
  private lastContext: Context.Context<never> | undefined
  private lastLent: HandlerContext.Lent | undefined
  private readonly filterErrors: Readonly<Record<string, FilterErrorPolicy>>

  /** The bus's bound on async runs (shown by `infoOf`). */
  readonly asyncBound: AsyncBound

  constructor(filterErrors: Readonly<Record<string, FilterErrorPolicy>>, asyncBound: AsyncBound) {
    this.filterErrors = filterErrors
    this.asyncBound = asyncBound
  }

  /** The slot of a hook, made on first use. */
  slotFor(kind: HookKind, name: string, key: string): Slot {
    let slot = this.slots.get(key)
    if (slot === undefined) {
      // What a dispatch reads and writes first, on one cache line.
      slot = {
        dispatches: 0,
        stale: false,
        durable: false,
        snapshot: noEntries,
        series: undefined,
        name,
        kind,
        entries: [],
        constrained: 0,
        declared: undefined,
        chain: Ref.makeUnsafe(noEntries),
        sources: undefined,
        sourcesChain: undefined
      }
      this.slots.set(key, slot)
    }
    return slot
  }

  /** Every slot, in the order hooks were first seen. */
  allSlots(): IterableIterator<Slot> {
    return this.slots.values()
  }

  /**
   * The slot of a hook on the dispatch path: kept on the hook object itself, for the bus that dispatched it last,
   * so a dispatch skips the map lookup (whose cache misses grow with the number of hooks: on a bus of 100,000 they
   * were most of a dispatch). A hook that cannot take the hidden property (frozen, sealed) is looked up each time.
   * Slots are never removed from a bus, so a kept one stays right for the bus's life; `close` lets them go.
   */
  slotOf(hook: AnyHook): Slot {
    const box = (hook as Partial<Record<typeof slotBox, SlotBox>>)[slotBox]
    if (box !== undefined && box.registry === this) return box.slot!
    const slot = this.slotFor(hook.kind, hook.name, hook.key)
    // Here, once per hook object and bus, rather than on every dispatch: the schemas are one more object to reach.
    if (hook.schemas?.error !== undefined) slot.declared ??= declaredGuard(hook.schemas.error)
    if (box !== undefined) {
      box.registry = this
      box.slot = slot
      this.boxes.add(box)
    } else if (Object.isExtensible(hook)) {
      const made: SlotBox = { registry: this, slot }
      Object.defineProperty(hook, slotBox, { value: made })
      this.boxes.add(made)
    }
    return slot
  }

  /** The bus is gone: the hooks it dispatched stop holding its slots (and so its handlers). */
  close(): void {
    for (const box of this.boxes) {
      if (box.registry === this) {
        box.registry = undefined
        box.slot = undefined
      }
    }
    this.boxes.clear()
  }

  /** The slot of a hook, if it has one. */
  find(hook: AnyHook): Slot | undefined {
    return this.slots.get(hook.key)
  }

  /** The hook's chain read from its `Ref`, renewed first if registrations changed it (removed entries included). */
  chainRef(hook: AnyHook): Effect.Effect<ReadonlyArray<Entry>> {
    return Effect.suspend(() => {
      const slot = this.slots.get(hook.key)
      if (slot === undefined) return Effect.succeed(noEntries)
      chainOf(slot)
      return Ref.get(slot.chain)
    })
  }

  /** The current chain of a hook (removed entries included until they detach). */
  chainOf(hook: AnyHook): ReadonlyArray<Entry> {
    const slot = this.slots.get(hook.key)
    return slot === undefined ? [] : chainOf(slot)
  }

  /** Claims a handler for this run: false when it was removed, or is `once` and already claimed. */
  claim(entry: Entry): boolean {
    if (entry.removed) return false
    if (entry.once) this.detach(entry)
    return true
  }

  /** Stops a handler from running and takes it out of its chain and its source. Idempotent. */
  detach(entry: Entry): void {
    entry.removed = true
    if (entry.detached) return
    entry.detached = true
    const slot = entry.slot
    if (slot.constrained > 0) slot.entries = HandlerOrder.remove(slot.entries, entry, true) as Array<Entry>
    else {
      // Sorted by (priority, seq), both fixed for an entry: found by bisection, not a scan.
      const at = insertionPoint(slot.entries, entry) - 1
      const i = slot.entries[at] === entry ? at : slot.entries.indexOf(entry)
      if (i >= 0) slot.entries.splice(i, 1)
    }
    slot.stale = true
    if (entry.before.length > 0 || entry.after.length > 0) slot.constrained--
    if (entry.named) {
      const bySource = this.bySource.get(entry.source)
      if (bySource === entry) this.bySource.delete(entry.source)
      else if (bySource instanceof Set) {
        bySource.delete(entry)
        if (bySource.size === 0) this.bySource.delete(entry.source)
      }
    }
    leaveScope(entry)
  }

  /** The handler registered without a source and given `id`, while it is in a chain. */
  private unnamed(id: number): Entry | undefined {
    for (const slot of this.slots.values()) {
      for (const entry of slot.entries) if (entry.id === id && !entry.named) return entry
    }
    return undefined
  }

  /** Removes these handlers (those still in a chain) and reports them; returns how many left. */
  private removeNow(entries: Iterable<Entry>): Effect.Effect<number> {
    const left: Array<Entry> = []
    for (const entry of entries) if (!entry.detached) left.push(entry)
    for (const entry of left) this.detach(entry)
    const events = this.events
    return left.length === 0 || events === undefined
      ? Effect.succeed(left.length)
      : Effect.as(events.removed(left), left.length)
  }

  /** Removes one registration (idempotent). */
  remove(entry: Entry): Effect.Effect<void> {
    return Effect.suspend(() => Effect.asVoid(this.removeNow([entry])))
  }

  /** Removes every handler registered with `source`, on every hook; returns how many. */
  removeSource(source: string): Effect.Effect<number> {
    return Effect.suspend(() => {
      const found = this.bySource.get(source)
      const entries = found === undefined ? [] : found instanceof Set ? [...found] : [found]
      const id = defaultSourceId(source)
      const unnamed = id === undefined ? undefined : this.unnamed(id)
      // In registration order, as one set of them would be.
      if (unnamed !== undefined) {
        const at = entries.findIndex((e) => e.id > unnamed.id)
        entries.splice(at < 0 ? entries.length : at, 0, unnamed)
      }
      return this.removeNow(entries)
    })
  }

  /** Removes every handler of a hook; returns how many. */
  removeAll(hook: AnyHook): Effect.Effect<number> {
    return Effect.suspend(() => this.removeNow(this.chainOf(hook)))
  }

  private lentBy(context: Context.Context<never>): HandlerContext.Lent {
    if (context !== this.lastContext || this.lastLent === undefined) {
      this.lastContext = context
      this.lastLent = HandlerContext.capture(context)
    }
    return this.lastLent
  }

  /** Adds a handler for the life of the current scope (or until its `remove`). */
  add(hook: AnyHook, fn: AnyFn, raw: RawOptions | undefined): Effect.Effect<Registration, RegistrationRejected> {
    if (raw?.mode === "durable") return this.addDurable(hook, fn, raw)
    return this.reported(this.addNow(hook, fn, raw))
  }

  /** The registration, once reported outside the uninterruptible step (a meta handler may suspend). */
  private reported(
    added: Effect.Effect<readonly [Entry, Registration], RegistrationRejected>
  ): Effect.Effect<Registration, RegistrationRejected> {
    return Effect.flatMap(added, ([entry, registration]) => {
      const events = this.events
      return events === undefined ? Effect.succeed(registration) : Effect.as(events.added(entry), registration)
    })
  }

  /**
   * A durable handler: on a typed action hook, through the registrar `hookbus/durable` provides; the chain gets the
   * function that persists a job, so dispatch treats it as a sync handler and never looks at durable itself.
   */
  private addDurable(hook: AnyHook, fn: AnyFn, raw: RawOptions): Effect.Effect<Registration, RegistrationRejected> {
    return Effect.withFiber((fiber) => {
      const reject = (reason: "UntypedHook" | "DurableUnavailable" | "InvalidOption", message: string) =>
        Effect.fail(new RegistrationRejected({ hook: hook.name, reason, message }))
      const problem = optionProblem(hook.kind, hook.name, raw)
      if (problem !== undefined) {
        return Effect.fail(new RegistrationRejected({ hook: hook.name, reason: problem[0], message: problem[1] }))
      }
      if (hook.kind !== "action") return reject("InvalidOption", "filter handlers are always sync: mode is for actions")
      if (hook.schemas.args === undefined) {
        return reject(
          "UntypedHook",
          `durable handlers need schema-typed arguments: define "${hook.name}" with Hook.action(name, { args: [...] })`
        )
      }
      const registrar = Context.get(fiber.context, CurrentDurableRegistrar)
      if (registrar === undefined) {
        return reject(
          "DurableUnavailable",
          "mode \"durable\" needs a durable runner: provide Durable.layerSqlite or Durable.layerPostgres from hookbus/durable"
        )
      }
      const source = raw.source as string | undefined
      if (source === undefined) {
        return reject("InvalidOption", "durable handlers need a source: it names their jobs across restarts")
      }
      return Effect.flatMap(
        registrar.register(hook, fn, {
          source,
          timeout: raw.timeout,
          retry: raw.retry,
          transactional: raw.transactional === true
        }) as Effect.Effect<
          AnyFn,
          RegistrationRejected
        >,
        (enqueue) =>
          this.reported(
            this.addNow(hook, enqueue, { ...raw, timeout: undefined, retry: undefined, transactional: undefined })
          )
      )
    })
  }

  private addNow(
    hook: AnyHook,
    fn: AnyFn,
    raw: RawOptions | undefined
  ): Effect.Effect<readonly [Entry, Registration], RegistrationRejected> {
    return Effect.uninterruptible(Effect.withFiber((fiber) => {
      const o: RawOptions = raw ?? {}
      const problem = optionProblem(hook.kind, hook.name, o)
      if (problem !== undefined) {
        return Effect.fail(new RegistrationRejected({ hook: hook.name, reason: problem[0], message: problem[1] }))
      }
      const id = ++this.nextId
      const named = o.source !== undefined
      const source = named ? o.source as string : `handler-${id}`
      const before = (o.before as ReadonlyArray<string> | undefined) ?? noSources
      const after = (o.after as ReadonlyArray<string> | undefined) ?? noSources
      if (before.includes(source) || after.includes(source)) {
        return Effect.fail(
          new RegistrationRejected({
            hook: hook.name,
            reason: "SelfConstraint",
            message: `handler "${source}" names its own source in before/after`
          })
        )
      }
      const slot = this.slotFor(hook.kind, hook.name, hook.key)
      if (hook.schemas?.error !== undefined) slot.declared ??= declaredGuard(hook.schemas.error)
      const mode: HandlerMode = o.mode === "async" ? "async" : o.mode === "durable" ? "durable" : "sync"
      if (mode === "durable") slot.durable = true
      const priority = (o.priority as number | undefined) ?? 10
      const once = o.once === true
      // The fields a dispatch reads come first, so they share a cache line (a big bus misses on each line it reads).
      const entry: Entry = {
        removed: false,
        once,
        fn,
        mode,
        timeout: o.timeout === undefined ? undefined : Duration.fromInputUnsafe(o.timeout as Duration.Input),
        id,
        seq: id,
        slot,
        source,
        priority,
        before,
        after,
        policy: (o.onError as FilterErrorPolicy | undefined) ?? this.filterErrors[hook.name] ?? "abort",
        orderBy: o.orderBy as Entry["orderBy"],
        lent: this.lentBy(fiber.context),
        base: undefined,
        merged: undefined,
        detached: false,
        named,
        scope: undefined,
        scopeIndex: 0
      }
      const chain = slot.entries
      const constrained = before.length > 0 || after.length > 0 || slot.constrained > 0
      const resolved = constrained ? HandlerOrder.insert(chain, entry, true) : undefined
      if (resolved !== undefined && resolved._tag === "Cycle") {
        return Effect.fail(
          new RegistrationRejected({
            hook: hook.name,
            reason: "Cycle",
            message: `ordering constraints form a cycle: ${resolved.sources.join(" -> ")}`
          })
        )
      }
      if (resolved === undefined) chain.splice(insertionPoint(chain, entry), 0, entry)
      else slot.entries = resolved.order.slice()
      slot.stale = true
      if (before.length > 0 || after.length > 0) slot.constrained++
      if (named) {
        const bySource = this.bySource.get(source)
        if (bySource === undefined) this.bySource.set(source, entry)
        else if (bySource instanceof Set) bySource.add(entry)
        else this.bySource.set(source, new Set([bySource, entry]))
      }

      // One finalizer per scope removes what is still registered in it when it closes; `remove` takes a handler
      // out of its scope's set, so a long-lived scope keeps nothing of removed handlers.
      const scope = Context.get(fiber.context as Context.Context<Scope.Scope>, Scope.Scope)
      let inScope = this.byScope.get(scope)
      const first = inScope === undefined
      if (inScope === undefined) this.byScope.set(scope, inScope = { entries: [], live: 0 })
      entry.scopeIndex = inScope.entries.push(entry) - 1
      inScope.live++
      entry.scope = inScope
      const registration = new LiveRegistration(this, entry, hook.name)
      const missing = before.length === 0 && after.length === 0 ? [] : HandlerOrder.missingSources(chain, entry)
      const warn = missing.length === 0 ? Effect.void : Effect.logWarning(
        `ordering constraint names source(s) not registered on this hook, ignored until they register: ${
          missing.join(", ")
        }`
      ).pipe(Effect.annotateLogs(logAnnotations(entry)))
      const result = Effect.as(warn, [entry, registration] as const)
      if (!first) return result
      const registered = inScope
      // Last registered, first removed, as the scope's own finalizers run.
      const finalizer = Effect.suspend(() => {
        this.byScope.delete(scope)
        const entries = registered.entries
        const left: Array<Entry> = []
        for (let i = entries.length - 1; i >= 0; i--) if (entries[i] !== undefined) left.push(entries[i]!)
        return this.removeNow(left)
      })
      return Effect.andThen(Scope.addFinalizer(scope, finalizer), result)
    }))
  }
}

/** A registration; its `remove` is made when asked for, so a registration holds two references and its id. */
class LiveRegistration implements Registration {
  readonly hook: string
  private readonly registry: Registry
  private readonly entry: Entry
  constructor(registry: Registry, entry: Entry, hook: string) {
    this.registry = registry
    this.entry = entry
    this.hook = hook
  }
  get id(): number {
    return this.entry.id
  }
  get source(): string {
    return this.entry.source
  }
  get remove(): Effect.Effect<void> {
    return this.registry.remove(this.entry)
  }
}
