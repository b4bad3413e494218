/**
 * Registration and removal change a hook's handler list in place, and a dispatch reads a snapshot renewed after a
 * change. Checked against the ordering rules themselves: after any sequence of adds (with priorities and
 * constraints), removals and dispatches, the handlers run and listed are `HandlerOrder.resolve` of those registered.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
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
