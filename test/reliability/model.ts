/**
 * A reference model of the hook bus, written plainly, and the command sequences the model-based test runs against
 * both it and the real bus. Kept separate from the test so the soak script can reuse it.
 */
import { Effect, Exit, Scope } from "effect"
import * as fc from "fast-check"
import { Hook, type HookBusShape, type Registration } from "../../src/index.ts"
import { makeHookBus } from "../../src/layers/HookBusLive.ts"

/** What a handler does when it runs. */
export type Behavior =
  | { readonly _tag: "Inc"; readonly by: number; readonly suspend: boolean }
  | { readonly _tag: "Fail" }
  | { readonly _tag: "Die" }
  | { readonly _tag: "Short"; readonly by: number }
  | { readonly _tag: "AddOther"; readonly by: number }
  | { readonly _tag: "RemoveNext" }
  | { readonly _tag: "RemoveSelf"; readonly by: number }
  | { readonly _tag: "Nested" }

export type Command =
  | {
    readonly _tag: "Add"
    readonly hook: "a" | "b" | "x"
    readonly priority: number
    readonly behavior: Behavior
    readonly once: boolean
  }
  | { readonly _tag: "Remove"; readonly nth: number }
  | { readonly _tag: "Filter"; readonly hook: "a" | "b"; readonly value: number }
  | { readonly _tag: "Action" }
  | { readonly _tag: "Concurrent"; readonly values: ReadonlyArray<number> }

/** What a dispatch showed: the ids of the handlers that ran, in order, and its outcome. */
export interface Observation {
  readonly ran: ReadonlyArray<number>
  readonly outcome: string
}

const pureBehavior: fc.Arbitrary<Behavior> = fc.oneof(
  fc.record({ _tag: fc.constant("Inc" as const), by: fc.integer({ min: 1, max: 9 }), suspend: fc.boolean() }),
  fc.constant({ _tag: "Fail" as const }),
  fc.constant({ _tag: "Die" as const }),
  fc.record({ _tag: fc.constant("Short" as const), by: fc.integer({ min: 1, max: 9 }) })
)

const anyBehavior: fc.Arbitrary<Behavior> = fc.oneof(
  { weight: 6, arbitrary: pureBehavior },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("AddOther" as const), by: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "RemoveNext" as const }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("RemoveSelf" as const), by: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Nested" as const }) }
)

export const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      _tag: fc.constant("Add" as const),
      hook: fc.constantFrom("a" as const, "b" as const, "x" as const),
      priority: fc.integer({ min: 0, max: 3 }),
      behavior: anyBehavior,
      once: fc.boolean()
    }).map((c) =>
      c.hook === "b" && (c.behavior._tag === "Nested")
        ? { ...c, behavior: { _tag: "Inc" as const, by: 1, suspend: false } }
        : c
    )
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("Remove" as const), nth: fc.nat(20) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      _tag: fc.constant("Filter" as const),
      hook: fc.constantFrom("a" as const, "b" as const),
      value: fc.integer({ min: 0, max: 100 })
    })
  },
  { weight: 2, arbitrary: fc.constant({ _tag: "Action" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("Concurrent" as const),
      values: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 2, maxLength: 6 })
    })
  }
)

// ---------------------------------------------------------------------------------------------------------------
// The model

interface ModelHandler {
  readonly id: number
  readonly seq: number
  readonly hook: string
  readonly priority: number
  readonly behavior: Behavior
  readonly once: boolean
  removed: boolean
}

export class Model {
  private handlers: Array<ModelHandler> = []
  private nextId = 0
  readonly dispatches = new Map<string, number>()
  /** Registrations in the order they were made, as `Remove` commands index them. */
  readonly live: Array<number> = []

  add(hook: string, priority: number, behavior: Behavior, once: boolean): number {
    const id = ++this.nextId
    this.handlers.push({ id, seq: id, hook, priority, behavior, once, removed: false })
    this.live.push(id)
    return id
  }

  remove(id: number): void {
    const h = this.handlers.find((x) => x.id === id)
    if (h !== undefined) h.removed = true
    this.handlers = this.handlers.filter((x) => x.id !== id)
    const i = this.live.indexOf(id)
    if (i >= 0) this.live.splice(i, 1)
  }

  chain(hook: string): ReadonlyArray<ModelHandler> {
    return this.handlers.filter((h) => h.hook === hook).sort((a, b) => a.priority - b.priority || a.seq - b.seq)
  }

  /** What `RemoveNext` removes: the live handler of the same hook with the next higher id. */
  private nextAfter(hook: string, id: number): ModelHandler | undefined {
    return this.handlers.filter((h) => h.hook === hook && h.id > id && !h.removed).sort((a, b) => a.id - b.id)[0]
  }

  /** Whether concurrent dispatches of `a` have one outcome whatever their interleaving. */
  pureChain(hook: string): boolean {
    return this.chain(hook).every((h) =>
      !h.once &&
      (h.behavior._tag === "Inc" || h.behavior._tag === "Fail" || h.behavior._tag === "Die" ||
        h.behavior._tag === "Short")
    )
  }

  filter(hook: "a" | "b", value: number, ran: Array<number>): string {
    this.dispatches.set(`filter:${hook}`, (this.dispatches.get(`filter:${hook}`) ?? 0) + 1)
    const snapshot = this.chain(hook)
    let v = value
    for (const h of snapshot) {
      if (h.removed) continue
      if (h.once) this.remove(h.id)
      ran.push(h.id)
      const b = h.behavior
      switch (b._tag) {
        case "Inc":
          v += b.by
          break
        case "Fail":
          return `FilterFailed(${v}, ${h.id}, Failure)`
        case "Die":
          return `FilterFailed(${v}, ${h.id}, Defect)`
        case "Short":
          return `short(${v * 10 + b.by})`
        case "AddOther":
          this.add(hook, 0, { _tag: "Inc", by: b.by, suspend: false }, false)
          v += 1
          break
        case "RemoveNext": {
          const next = this.nextAfter(hook, h.id)
          if (next !== undefined) this.remove(next.id)
          v += 1
          break
        }
        case "RemoveSelf":
          this.remove(h.id)
          v += b.by
          break
        case "Nested": {
          const nested = this.filter("b", v, ran)
          if (!nested.startsWith("ok(") && !nested.startsWith("short(")) return `FilterFailed(${v}, ${h.id}, Failure)`
          v = Number(nested.slice(nested.indexOf("(") + 1, -1))
          break
        }
      }
    }
    return `ok(${v})`
  }

  action(ran: Array<number>): string {
    this.dispatches.set("action:x", (this.dispatches.get("action:x") ?? 0) + 1)
    const snapshot = this.chain("x")
    const failures: Array<string> = []
    for (const h of snapshot) {
      if (h.removed) continue
      if (h.once) this.remove(h.id)
      ran.push(h.id)
      const b = h.behavior
      switch (b._tag) {
        case "Fail":
        case "Short":
          failures.push(`${h.id}:Failure`)
          break
        case "Die":
          failures.push(`${h.id}:Defect`)
          break
        case "AddOther":
          this.add("x", 0, { _tag: "Inc", by: b.by, suspend: false }, false)
          break
        case "RemoveNext": {
          const next = this.nextAfter("x", h.id)
          if (next !== undefined) this.remove(next.id)
          break
        }
        case "RemoveSelf":
          this.remove(h.id)
          break
        case "Nested": {
          const nested = this.filter("b", 0, ran)
          if (!nested.startsWith("ok(") && !nested.startsWith("short(")) failures.push(`${h.id}:Failure`)
          break
        }
        case "Inc":
          break
      }
    }
    return failures.length === 0 ? "ok" : `ActionFailed(${failures.join(",")})`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The real bus, driven the same way

const hooks = { a: Hook.filter<number, []>("a"), b: Hook.filter<number, []>("b"), x: Hook.action<[]>("x") }

const describeFilter = (
  exit: Exit.Exit<{ value: number; shortCircuitedBy: { _tag: string } }, any>,
  idOf: ReadonlyMap<string, number>
): string => {
  if (Exit.isSuccess(exit)) {
    return exit.value.shortCircuitedBy._tag === "Some" ? `short(${exit.value.value})` : `ok(${exit.value.value})`
  }
  const error = exit.cause.reasons[0]?._tag === "Fail" ? (exit.cause.reasons[0] as any).error : undefined
  if (error?._tag === "FilterFailed") {
    return `FilterFailed(${error.value}, ${idOf.get(error.failure.source)}, ${error.failure.reason})`
  }
  return `unexpected(${JSON.stringify(exit.cause.reasons.map((r) => r._tag))})`
}

/**
 * Runs a command sequence against the real bus; returns every observation, and the chains after each command.
 * `safe` holds the indices of the `Concurrent` commands whose outcome does not depend on interleaving (the model
 * decides); the others are skipped on both sides.
 */
export const runReal = (commands: ReadonlyArray<Command>, safe: ReadonlySet<number>) =>
  Effect.gen(function*() {
    const bus: HookBusShape = yield* makeHookBus({ tracing: "off", metrics: false })
    const scope = yield* Scope.Scope
    const registrations = new Map<number, Registration>()
    const order: Array<number> = []
    let ran: Array<number> = []
    const observations: Array<string> = []

    const idOf = new Map<string, number>()
    const hookOf = new Map<number, string>()
    let nextId = 0
    const add = (hook: "a" | "b" | "x", priority: number, behavior: Behavior, once: boolean): Effect.Effect<number> =>
      Effect.suspend(() => {
        const id = ++nextId
        const source = `h${id}`
        idOf.set(source, id)
        hookOf.set(id, hook)
        const run = (v: number): Effect.Effect<number, any> => {
          ran.push(id)
          if (once) {
            // The bus removed it as it ran; so does the model.
            registrations.delete(id)
            const at = order.indexOf(id)
            if (at >= 0) order.splice(at, 1)
          }
          switch (behavior._tag) {
            case "Inc":
              return behavior.suspend
                ? Effect.andThen(Effect.yieldNow, Effect.succeed(v + behavior.by))
                : Effect.succeed(v + behavior.by)
            case "Fail":
              return Effect.fail("boom")
            case "Die":
              throw new Error("dead")
            case "Short":
              return Hook.shortCircuit(v * 10 + behavior.by)
            case "AddOther":
              return Effect.as(add(hook, 0, { _tag: "Inc", by: behavior.by, suspend: false }, false), v + 1)
            case "RemoveNext": {
              const nextLive = [...registrations.keys()].filter((other) => other > id && hookOf.get(other) === hook)
                .sort((x, y) => x - y)[0]
              return nextLive === undefined ? Effect.succeed(v + 1) : Effect.as(removeId(nextLive), v + 1)
            }
            case "RemoveSelf":
              return Effect.as(removeId(id), v + behavior.by)
            case "Nested":
              return bus.applyFilters(hooks.b, v).pipe(Effect.mapError(() => "nested failed"))
          }
        }
        const options = { source, priority, once }
        const registering = hook === "x"
          ? bus.addAction(hooks.x, () => Effect.asVoid(run(0)), options)
          : bus.addFilter(hooks[hook], run as never, options)
        return registering.pipe(
          Scope.provide(scope),
          Effect.orDie,
          Effect.map((registration) => {
            registrations.set(id, registration)
            order.push(id)
            return id
          })
        )
      })
    const removeId = (id: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const registration = registrations.get(id)
        registrations.delete(id)
        const i = order.indexOf(id)
        if (i >= 0) order.splice(i, 1)
        return registration === undefined ? Effect.void : registration.remove
      })

    for (let index = 0; index < commands.length; index++) {
      const c = commands[index]
      switch (c._tag) {
        case "Add":
          yield* add(c.hook, c.priority, c.behavior, c.once)
          break
        case "Remove":
          if (order.length > 0) yield* removeId(order[c.nth % order.length])
          break
        case "Filter": {
          ran = []
          const exit = yield* Effect.exit(bus.applyFiltersResult(hooks[c.hook], c.value))
          observations.push(`${describeFilter(exit as never, idOf)} ran=${ran.join(",")}`)
          break
        }
        case "Action": {
          ran = []
          const exit = yield* Effect.exit(bus.doAction(hooks.x))
          const outcome = Exit.isSuccess(exit)
            ? "ok"
            : `ActionFailed(${
              (exit.cause.reasons[0] as any).error.failures.map((f: any) => `${idOf.get(f.source)}:${f.reason}`).join(
                ","
              )
            })`
          observations.push(`${outcome} ran=${ran.join(",")}`)
          break
        }
        case "Concurrent": {
          if (!safe.has(index)) {
            observations.push("concurrent skipped")
            break
          }
          ran = []
          const exits = yield* Effect.forEach(c.values, (v) => Effect.exit(bus.applyFiltersResult(hooks.a, v)), {
            concurrency: "unbounded"
          })
          observations.push(`concurrent ${exits.map((e) => describeFilter(e as never, idOf)).sort().join(" ")}`)
          break
        }
      }
      const chains = yield* Effect.forEach(
        ["a", "b", "x"] as const,
        (h) => Effect.map(bus.handlers(hooks[h]), (hs) => `${h}:${hs.map((x) => idOf.get(x.source)).join(",")}`)
      )
      observations.push(chains.join(" "))
    }
    const counts = yield* Effect.forEach(["a", "b"] as const, (h) => bus.dispatchCount(hooks[h]))
    observations.push(`counts a=${counts[0]} b=${counts[1]} x=${yield* bus.dispatchCount(hooks.x)}`)
    return observations
  }).pipe(Effect.scoped)

/** Runs a command sequence against the model; also says which `Concurrent` commands are safe to compare. */
export const runModel = (
  commands: ReadonlyArray<Command>
): { readonly observations: ReadonlyArray<string>; readonly safe: ReadonlySet<number> } => {
  const model = new Model()
  const observations: Array<string> = []
  const safe = new Set<number>()
  for (let index = 0; index < commands.length; index++) {
    const c = commands[index]
    switch (c._tag) {
      case "Add":
        model.add(c.hook, c.priority, c.behavior, c.once)
        break
      case "Remove":
        if (model.live.length > 0) model.remove(model.live[c.nth % model.live.length])
        break
      case "Filter": {
        const ran: Array<number> = []
        const outcome = model.filter(c.hook, c.value, ran)
        observations.push(`${outcome} ran=${ran.join(",")}`)
        break
      }
      case "Action": {
        const ran: Array<number> = []
        observations.push(`${model.action(ran)} ran=${ran.join(",")}`)
        break
      }
      case "Concurrent": {
        if (!model.pureChain("a")) {
          observations.push("concurrent skipped")
          break
        }
        safe.add(index)
        // Only the pure part of the outcome is compared: results are independent of the interleaving when
        // handlers neither register nor remove; see the command generator.
        const outcomes = c.values.map((v) => model.filter("a", v, []))
        observations.push(`concurrent ${outcomes.sort().join(" ")}`)
        break
      }
    }
    observations.push(["a", "b", "x"].map((h) => `${h}:${model.chain(h).map((x) => x.id).join(",")}`).join(" "))
  }
  observations.push(
    `counts a=${model.dispatches.get("filter:a") ?? 0} b=${model.dispatches.get("filter:b") ?? 0} x=${
      model.dispatches.get("action:x") ?? 0
    }`
  )
  return { observations, safe }
}
