/**
 * Resolves the run order of a hook's handlers: priority, then registration order, then `before`/`after`
 * constraints by a deterministic topological sort. Pure; the bus calls it on every change of a chain, never per
 * dispatch.
 *
 * @since 0.1.0
 */

/**
 * What ordering needs to know about a handler.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { HandlerOrder } from "hookbus"
 *
 * const h = (seq: number, source: string, priority = 10, after: Array<string> = []): HandlerOrder.Orderable => ({
 *   seq, priority, source, before: [], after
 * })
 */
export interface Orderable {
  /** Registration order: strictly increasing over a bus's lifetime. */
  readonly seq: number
  readonly priority: number
  readonly source: string
  readonly before: ReadonlyArray<string>
  readonly after: ReadonlyArray<string>
}

/**
 * The outcome of resolving an order.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { HandlerOrder } from "hookbus"
 *
 * const h = (seq: number, source: string, priority = 10, after: Array<string> = []): HandlerOrder.Orderable => ({
 *   seq, priority, source, before: [], after
 * })
 * const result: HandlerOrder.Resolved<HandlerOrder.Orderable> = HandlerOrder.resolve([h(1, "a", 10, ["b"]), h(2, "b")])
 * if (result._tag === "Ordered") console.log(result.order.map((e) => e.source)) // ["b", "a"]
 */
export type Resolved<A extends Orderable> =
  | { readonly _tag: "Ordered"; readonly order: ReadonlyArray<A> }
  | { readonly _tag: "Cycle"; readonly sources: ReadonlyArray<string> }

const hasConstraints = (entry: Orderable): boolean => entry.before.length > 0 || entry.after.length > 0

/**
 * Priority, then registration order.
 *
 * @since 0.1.0
 * @category ordering
 * @example
 * import { HandlerOrder } from "hookbus"
 *
 * const h = (seq: number, source: string, priority = 10, after: Array<string> = []): HandlerOrder.Orderable => ({
 *   seq, priority, source, before: [], after
 * })
 * const order = [h(2, "late", 5), h(1, "early", 5)].sort(HandlerOrder.compare) // early, then late
 */
export const compare = (a: Orderable, b: Orderable): number => a.priority - b.priority || a.seq - b.seq

/**
 * Whether any handler of `chain` has ordering constraints.
 *
 * @since 0.1.0
 * @category ordering
 * @example
 * import { HandlerOrder } from "hookbus"
 *
 * const h = (seq: number, source: string, priority = 10, after: Array<string> = []): HandlerOrder.Orderable => ({
 *   seq, priority, source, before: [], after
 * })
 * HandlerOrder.anyConstrained([h(1, "a"), h(2, "b", 10, ["a"])]) // true
 */
export const anyConstrained = (chain: ReadonlyArray<Orderable>): boolean => chain.some(hasConstraints)

/**
 * Adds `entry` to an ordered chain. Without constraints anywhere this is a binary insertion; otherwise a full
 * resolution, which reports a cycle instead of an order. `constrained` says whether the chain has constraints
 * (callers that track it spare the scan).
 *
 * @since 0.1.0
 * @category ordering
 * @example
 * import { HandlerOrder } from "hookbus"
 *
 * const h = (seq: number, source: string, priority = 10, after: Array<string> = []): HandlerOrder.Orderable => ({
 *   seq, priority, source, before: [], after
 * })
 * const chain = [h(1, "a", 5), h(2, "b", 20)]
 * HandlerOrder.insert(chain, h(3, "c", 10)) // { _tag: "Ordered", order: [a, c, b] }
 */
export const insert = <A extends Orderable>(
  chain: ReadonlyArray<A>,
  entry: A,
  constrained: boolean = anyConstrained(chain)
): Resolved<A> => {
  if (!hasConstraints(entry) && !constrained) {
    let lo = 0
    let hi = chain.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(chain[mid], entry) <= 0) lo = mid + 1
      else hi = mid
    }
    const next = chain.slice()
    next.splice(lo, 0, entry)
    return { _tag: "Ordered", order: next }
  }
  return resolve([...chain, entry])
}

/**
 * Removes `entry` from an ordered chain, re-resolving when constraints may let others move up. `constrained` says
 * whether the chain has constraints (callers that track it spare the scan).
 *
 * @since 0.1.0
 * @category ordering
 * @example
 * import { HandlerOrder } from "hookbus"
 *
 * const h = (seq: number, source: string, priority = 10, after: Array<string> = []): HandlerOrder.Orderable => ({
 *   seq, priority, source, before: [], after
 * })
 * const a = h(1, "a")
 * HandlerOrder.remove([a, h(2, "b")], a) // [b]
 */
export const remove = <A extends Orderable>(
  chain: ReadonlyArray<A>,
  entry: A,
  constrained: boolean = anyConstrained(chain)
): ReadonlyArray<A> => {
  if (!constrained) {
    const i = chain.indexOf(entry)
    if (i === -1) return chain
    const next = chain.slice()
    next.splice(i, 1)
    return next
  }
  const rest = chain.filter((e) => e !== entry)
  if (!rest.some(hasConstraints)) return hasConstraints(entry) ? rest.sort(compare) : rest
  const resolved = resolve(rest)
  // Removing a node cannot create a cycle.
  return resolved._tag === "Ordered" ? resolved.order : rest
}

/**
 * Sources named in constraints that no handler in `chain` has.
 *
 * @since 0.1.0
 * @category ordering
 * @example
 * import { HandlerOrder } from "hookbus"
 *
 * const h = (seq: number, source: string, priority = 10, after: Array<string> = []): HandlerOrder.Orderable => ({
 *   seq, priority, source, before: [], after
 * })
 * HandlerOrder.missingSources([h(1, "a")], h(2, "b", 10, ["seo"])) // ["seo"]
 */
export const missingSources = (chain: ReadonlyArray<Orderable>, entry: Orderable): ReadonlyArray<string> => {
  const present = new Set(chain.map((e) => e.source))
  return [...new Set([...entry.before, ...entry.after])].filter((s) => !present.has(s))
}

/**
 * Orders `entries`: among the handlers whose constraints are met, the earliest by priority then registration goes
 * first. Constraints naming absent sources are ignored.
 *
 * @since 0.1.0
 * @category ordering
 * @example
 * import { HandlerOrder } from "hookbus"
 *
 * const h = (seq: number, source: string, priority = 10, after: Array<string> = []): HandlerOrder.Orderable => ({
 *   seq, priority, source, before: [], after
 * })
 * HandlerOrder.resolve([h(1, "a", 10, ["b"]), h(2, "b", 10, ["a"])]) // { _tag: "Cycle", sources: [...] }
 */
export const resolve = <A extends Orderable>(entries: ReadonlyArray<A>): Resolved<A> => {
  const n = entries.length
  const bySource = new Map<string, Array<number>>()
  for (let i = 0; i < n; i++) {
    const list = bySource.get(entries[i].source)
    if (list) list.push(i)
    else bySource.set(entries[i].source, [i])
  }
  const successors: Array<Array<number>> = entries.map(() => [])
  const indegree = new Array<number>(n).fill(0)
  const edge = (from: number, to: number) => {
    if (from === to) return
    successors[from].push(to)
    indegree[to]++
  }
  for (let i = 0; i < n; i++) {
    for (const s of entries[i].before) for (const j of bySource.get(s) ?? []) edge(i, j)
    for (const s of entries[i].after) for (const j of bySource.get(s) ?? []) edge(j, i)
  }
  const heap = new MinHeap((a: number, b: number) => compare(entries[a], entries[b]))
  for (let i = 0; i < n; i++) if (indegree[i] === 0) heap.push(i)
  const order: Array<A> = []
  while (heap.size > 0) {
    const i = heap.pop()
    order.push(entries[i])
    for (const j of successors[i]) if (--indegree[j] === 0) heap.push(j)
  }
  if (order.length === n) return { _tag: "Ordered", order }
  return { _tag: "Cycle", sources: findCycle(entries, successors, indegree) }
}

/**
 * Every unplaced node still has an unplaced predecessor, so walking predecessors from one of them must revisit a
 * node: that loop is a cycle. Returned in run-after order, closing on its first source.
 */
const findCycle = (
  entries: ReadonlyArray<Orderable>,
  successors: ReadonlyArray<ReadonlyArray<number>>,
  indegree: ReadonlyArray<number>
): ReadonlyArray<string> => {
  const predecessor = new Map<number, number>()
  successors.forEach((next, from) => {
    if (indegree[from] === 0) return
    for (const to of next) if (indegree[to] > 0 && !predecessor.has(to)) predecessor.set(to, from)
  })
  const seen = new Map<number, number>()
  const path: Array<number> = []
  let node = indegree.findIndex((d) => d > 0)
  while (!seen.has(node)) {
    seen.set(node, path.length)
    path.push(node)
    node = predecessor.get(node)!
  }
  const cycle = path.slice(seen.get(node)).reverse().map((i) => entries[i].source)
  return [...cycle, cycle[0]]
}

class MinHeap {
  private readonly items: Array<number> = []
  private readonly less: (a: number, b: number) => number
  constructor(less: (a: number, b: number) => number) {
    this.less = less
  }
  get size(): number {
    return this.items.length
  }
  push(item: number): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >>> 1
      if (this.less(items[i], items[parent]) >= 0) break
      ;[items[i], items[parent]] = [items[parent], items[i]]
      i = parent
    }
  }
  pop(): number {
    const items = this.items
    const top = items[0]
    const last = items.pop()!
    if (items.length > 0) {
      items[0] = last
      let i = 0
      while (true) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < items.length && this.less(items[l], items[m]) < 0) m = l
        if (r < items.length && this.less(items[r], items[m]) < 0) m = r
        if (m === i) break
        ;[items[i], items[m]] = [items[m], items[i]]
        i = m
      }
    }
    return top
  }
}
