import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { HandlerOrder } from "../src/index.ts"

interface Node extends HandlerOrder.Orderable {
  readonly seq: number
}

const node = (seq: number, priority: number, before: Array<string> = [], after: Array<string> = []): Node => ({
  seq,
  priority,
  source: `s${seq}`,
  before,
  after
})

/** Random handler sets with random priorities and acyclic constraints (edges only go from a lower rank to a higher). */
const acyclicSet = fc
  .integer({ min: 1, max: 14 })
  .chain((n) =>
    fc.record({
      priorities: fc.array(fc.integer({ min: -3, max: 3 }), { minLength: n, maxLength: n }),
      // A hidden rank order; constraints respect it, so they cannot form a cycle.
      rank: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1), fc.boolean()), { maxLength: 2 * n })
    })
  )
  .map(({ edges, priorities, rank }) => {
    const n = priorities.length
    const before: Array<Array<string>> = priorities.map(() => [])
    const after: Array<Array<string>> = priorities.map(() => [])
    const position = new Map(rank.map((r, i) => [r, i]))
    for (const [a, b, asBefore] of edges) {
      if (a === b) continue
      const [first, second] = position.get(a)! < position.get(b)! ? [a, b] : [b, a]
      // Express "first runs before second" either on first (before) or on second (after).
      if (asBefore) before[first].push(`s${second}`)
      else after[second].push(`s${first}`)
    }
    return Array.from({ length: n }, (_, i) => node(i, priorities[i], before[i], after[i]))
  })

const satisfies = (order: ReadonlyArray<Node>): boolean => {
  const index = new Map(order.map((n, i) => [n.source, i]))
  return order.every((n, i) =>
    n.before.every((s) => !index.has(s) || index.get(s)! > i) &&
    n.after.every((s) => !index.has(s) || index.get(s)! < i)
  )
}

describe("HandlerOrder", () => {
  it("every constraint holds in the resolved order (property)", () => {
    fc.assert(
      fc.property(acyclicSet, (nodes) => {
        const resolved = HandlerOrder.resolve(nodes)
        return resolved._tag === "Ordered" && resolved.order.length === nodes.length && satisfies(resolved.order)
      }),
      { numRuns: 2000 }
    )
  })

  it("without constraints the order is exactly priority, then registration (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 40 }), (priorities) => {
        const nodes = priorities.map((p, i) => node(i, p))
        const expected = [...nodes].sort((a, b) => a.priority - b.priority || a.seq - b.seq)
        const resolved = HandlerOrder.resolve(nodes)
        // Insertion one by one (the bus's path) must agree with a full resolution.
        let chain: ReadonlyArray<Node> = []
        for (const n of nodes) {
          const next = HandlerOrder.insert(chain, n)
          if (next._tag !== "Ordered") return false
          chain = next.order
        }
        return resolved._tag === "Ordered" &&
          resolved.order.every((n, i) => n === expected[i]) &&
          chain.every((n, i) => n === expected[i])
      }),
      { numRuns: 1000 }
    )
  })

  it("among handlers whose constraints are met, the earliest by priority then registration goes first (property)", () => {
    fc.assert(
      fc.property(acyclicSet, (nodes) => {
        const resolved = HandlerOrder.resolve(nodes)
        if (resolved._tag !== "Ordered") return false
        const placed = new Set<string>()
        const sources = new Set(nodes.map((n) => n.source))
        const ready = (n: Node) =>
          !placed.has(n.source) &&
          n.after.every((s) => !sources.has(s) || placed.has(s)) &&
          nodes.every((m) => m === n || placed.has(m.source) || !m.before.includes(n.source))
        for (const next of resolved.order) {
          const best = nodes.filter(ready).sort(HandlerOrder.compare)[0]
          if (best !== next) return false
          placed.add(next.source)
        }
        return true
      }),
      { numRuns: 2000 }
    )
  })

  it("removing a handler keeps the order resolved (property)", () => {
    fc.assert(
      fc.property(acyclicSet, fc.nat(), (nodes, pick) => {
        const resolved = HandlerOrder.resolve(nodes)
        if (resolved._tag !== "Ordered") return false
        const victim = nodes[pick % nodes.length]
        const rest = HandlerOrder.remove(resolved.order, victim)
        const fresh = HandlerOrder.resolve(nodes.filter((n) => n !== victim))
        return fresh._tag === "Ordered" && rest.length === nodes.length - 1 &&
          rest.every((n, i) => n === fresh.order[i])
      }),
      { numRuns: 1000 }
    )
  })

  it("a cycle is reported with the sources in it", () => {
    const a = node(1, 10, [], ["s3"])
    const b = node(2, 10, [], ["s1"])
    const c = node(3, 10, [], ["s2"])
    const d = node(4, 0)
    const resolved = HandlerOrder.resolve([d, a, b, c])
    assert.strictEqual(resolved._tag, "Cycle")
    if (resolved._tag === "Cycle") {
      assert.strictEqual(resolved.sources.length, 4)
      assert.strictEqual(resolved.sources[0], resolved.sources[3])
      assert.sameMembers(resolved.sources.slice(0, 3), ["s1", "s2", "s3"])
      // Each listed source must run after the one before it.
      const bySource = new Map([a, b, c].map((n) => [n.source, n]))
      for (let i = 1; i < 4; i++) {
        assert.include(bySource.get(resolved.sources[i])!.after, resolved.sources[i - 1])
      }
    }
  })

  it("constraints naming absent sources are ignored and listed", () => {
    const a = node(1, 10, ["ghost"])
    assert.deepStrictEqual(HandlerOrder.missingSources([], a), ["ghost"])
    const resolved = HandlerOrder.resolve([node(0, 10), a])
    assert.strictEqual(resolved._tag, "Ordered")
  })
})
