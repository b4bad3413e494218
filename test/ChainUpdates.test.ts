/**
 * Registration and removal change a hook's handler list in place, and a dispatch reads a snapshot renewed after a
 * change. Checked against the ordering rules themselves: after any sequence of adds (with priorities and
 * constraints), removals and dispatches, the handlers run and listed are `HandlerOrder.resolve` of those registered.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as fc from "fast-check"
import { HandlerOrder, Hook, HookBus, type Registration } from "../src/index.ts"

const Ping = Hook.action("chain.ping")

type Op =
  | { readonly _tag: "Add"; readonly priority: number; readonly after: number | undefined }
  | { readonly _tag: "Remove"; readonly pick: number }
  | { readonly _tag: "Dispatch" }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    _tag: fc.constant("Add" as const),
    priority: fc.integer({ min: 0, max: 3 }),
    after: fc.option(fc.nat(30), { nil: undefined })
  }),
  fc.record({ _tag: fc.constant("Remove" as const), pick: fc.nat(30) }),
  fc.constant({ _tag: "Dispatch" as const })
)

describe("chains changed in place", () => {
  it.effect("any sequence of adds, removals and dispatches runs and lists what the ordering rules say", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          await Effect.runPromise(
            Effect.gen(function*() {
              const bus = yield* HookBus
              const live: Array<{ readonly spec: HandlerOrder.Orderable; readonly registration: Registration }> = []
              let ran: Array<string> = []
              let next = 0
              for (const o of ops) {
                if (o._tag === "Add") {
                  const source = `h${next}`
                  // Constraints only on handlers registered before: never a cycle.
                  const after = o.after !== undefined && o.after < live.length ? [live[o.after].spec.source] : []
                  const registration = yield* bus.addAction(Ping, () => Effect.sync(() => void ran.push(source)), {
                    source,
                    priority: o.priority,
                    after
                  })
                  live.push({ spec: { seq: next, source, priority: o.priority, before: [], after }, registration })
                  next++
                } else if (o._tag === "Remove" && live.length > 0) {
                  const [gone] = live.splice(o.pick % live.length, 1)
                  yield* gone.registration.remove
                } else if (o._tag === "Dispatch") {
                  ran = []
                  yield* bus.doAction(Ping)
                  const expected = HandlerOrder.resolve(live.map((l) => l.spec))
                  assert.strictEqual(expected._tag, "Ordered")
                  if (expected._tag === "Ordered") assert.deepStrictEqual(ran, expected.order.map((e) => e.source))
                }
                const expected = HandlerOrder.resolve(live.map((l) => l.spec))
                if (expected._tag === "Ordered") {
                  assert.deepStrictEqual(
                    (yield* bus.handlers(Ping)).map((h) => h.source),
                    expected.order.map((e) => e.source)
                  )
                }
              }
            }).pipe(Effect.scoped, Effect.provide(Layer.fresh(HookBus.layerTest)))
          )
        }),
        { numRuns: 300 }
      )
    ))

  it.effect("a dispatch runs the chain it read; a handler added or removed by it counts from the next", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const ran: Array<string> = []
      let late: Registration | undefined
      yield* bus.addAction(Ping, () =>
        Effect.gen(function*() {
          ran.push("first")
          late ??= yield* bus.addAction(Ping, () => Effect.sync(() => void ran.push("late")), { source: "late" })
        }), { source: "first", priority: 1 })
      const victim = yield* bus.addAction(Ping, () => Effect.sync(() => void ran.push("victim")), { source: "victim" })
      yield* bus.addAction(Ping, () => Effect.andThen(victim.remove, Effect.sync(() => void ran.push("remover"))), {
        source: "remover",
        priority: 5
      })
      yield* bus.doAction(Ping)
      // The remover ran before the victim: its removal stops the victim in this dispatch too.
      assert.deepStrictEqual(ran, ["first", "remover"])
      ran.length = 0
      yield* bus.doAction(Ping)
      assert.deepStrictEqual(ran, ["first", "remover", "late"])
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerTest))))
})

describe("a hook dispatched on several buses", () => {
  // A hook object keeps its slot on the bus that dispatched it last (no map lookup on a big bus): these pin that
  // the kept slot never leaks into another bus, whatever the order, and that a closed bus is let go.
  const step = fc.record({
    bus: fc.nat(2),
    hook: fc.nat(3),
    act: fc.constantFrom("add" as const, "dispatch" as const)
  })

  it.effect("each bus runs its own handlers, for equal hook objects, equal names, frozen hooks", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
          await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
            const buses = [
              yield* Layer.build(Layer.fresh(HookBus.layer)),
              yield* Layer.build(Layer.fresh(HookBus.layer)),
              yield* Layer.build(Layer.fresh(HookBus.layer))
            ].map((context) => Context.get(context, HookBus))
            // Two objects for one hook name, a frozen one, and another name.
            const hooks = [
              Hook.filter<string, []>("shared"),
              Hook.filter<string, []>("shared"),
              Object.freeze(Hook.filter<string, []>("shared")),
              Hook.filter<string, []>("other")
            ]
            const model = buses.map(() => new Map<string, Array<string>>())
            let n = 0
            for (const { act, bus, hook } of steps) {
              const name = hooks[hook].name
              if (act === "add") {
                const tag = `${bus}.${n++}`
                yield* buses[bus].addFilter(hooks[hook], (s) => Effect.succeed(`${s}${tag};`))
                model[bus].set(name, [...(model[bus].get(name) ?? []), tag])
              } else {
                const out = yield* buses[bus].applyFilters(hooks[hook], "")
                assert.strictEqual(out, (model[bus].get(name) ?? []).map((tag) => `${tag};`).join(""))
              }
            }
          })))
        }),
        { numRuns: 60 }
      )
    ))

  it.effect("a closed bus is let go by the hooks it dispatched", () =>
    Effect.gen(function*() {
      const hook = Hook.action("chain.released")
      const keys = Object.keys(hook)
      const heldBy = () =>
        Object.getOwnPropertySymbols(hook).map((symbol) =>
          (hook as unknown as Record<symbol, { slot?: unknown }>)[symbol]
        )
      yield* Effect.scoped(Effect.gen(function*() {
        const bus = Context.get(yield* Layer.build(Layer.fresh(HookBus.layer)), HookBus)
        yield* bus.addAction(hook, () => Effect.void)
        yield* bus.doAction(hook)
        assert.isTrue(heldBy().some((box) => box?.slot !== undefined))
      }))
      assert.isTrue(heldBy().length > 0)
      assert.isTrue(heldBy().every((box) => box?.slot === undefined))
      // Not enumerable: the hook's own shape is unchanged.
      assert.deepStrictEqual(Object.keys(hook), keys)
    }))
})
