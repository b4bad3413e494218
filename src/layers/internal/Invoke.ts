/**
 * Calling one handler and classifying what it did: a plain call that may return a completed Effect (settled on the
 * spot), the slow path for an Effect that must run (its context, its span, its timeout), and the typed failure a
 * handler's Cause becomes.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import type { HookSchema } from "../../domain/Hook.ts"
import { type FailureReason, HandlerFailed } from "../../domain/HookErrors.ts"
import * as HookStack from "../../services/internal/HookStack.ts"
import type { Probe } from "./DispatchProbe.ts"
import * as EffectCompat from "./EffectCompat.ts"
import * as HandlerContext from "./HandlerContext.ts"
import type { AnyFn, Entry } from "./Registry.ts"

/** The failure a handler's timeout adds to its Cause, told apart from the handler's own failures. */
const TimedOut: unique symbol = Symbol.for("hookbus/TimedOut")

const reasonOf = (cause: Cause.Cause<unknown>): FailureReason => {
  if (cause.reasons.some((r) => Cause.isFailReason(r) && r.error === TimedOut)) return "Timeout"
  if (Cause.hasDies(cause)) return "Defect"
  if (Cause.hasFails(cause)) return "Failure"
  return "Interrupt"
}

/** Marks a Cause that is not a short-circuit. */
export const NotShortCircuit: unique symbol = Symbol.for("hookbus/NotShortCircuit")

/** How many `cause` links a short-circuit may be wrapped in (a cycle of causes ends here too). */
const maxWrapping = 16

type Tagged = { readonly _tag?: unknown; readonly value?: unknown; readonly cause?: unknown } | null

/** The value of a `ShortCircuit` that is `error` or that `error` wraps (through `cause`, or a `Cause` there). */
const wrappedValue = (error: unknown, depth: number): unknown => {
  let current = error
  for (let d = depth; d <= maxWrapping && typeof current === "object" && current !== null; d++) {
    if (Cause.isCause(current)) return failValue(current, d + 1)
    if ((current as Tagged)!._tag === "ShortCircuit") return (current as Tagged)!.value
    current = (current as Tagged)!.cause
  }
  return NotShortCircuit
}

/** The first short-circuit among a Cause's typed failures; none when it also holds a defect or an interruption. */
const failValue = (cause: Cause.Cause<unknown>, depth: number): unknown => {
  if (Cause.hasDies(cause) || Cause.hasInterrupts(cause)) return NotShortCircuit
  for (const reason of cause.reasons) {
    if (!Cause.isFailReason(reason)) continue
    const value = wrappedValue(reason.error, depth)
    if (value !== NotShortCircuit) return value
  }
  return NotShortCircuit
}

/**
 * The value of a `ShortCircuit` failure, or `NotShortCircuit`. Like Go's `errors.Is(err, ErrShortCircuit)`, a
 * short-circuit still counts when wrapped: as the `cause` of the error the handler failed with (any depth up to 16,
 * a `Cause` held there included), or as one of several typed failures in its `Cause`. A defect or an interruption in
 * the Cause wins: then it is a failure.
 */
export const shortCircuitValue = (cause: Cause.Cause<unknown>): unknown => {
  // The common case, a bare `Hook.shortCircuit(v)`, without the search.
  if (cause.reasons.length === 1) {
    const reason = cause.reasons[0]
    if (!Cause.isFailReason(reason)) return NotShortCircuit
    const error = reason.error as Tagged
    if (typeof error === "object" && error !== null && error._tag === "ShortCircuit") return error.value
  }
  // A user's error may have a throwing getter: reading it is the boundary, and a throw means "not a short-circuit".
  try {
    return failValue(cause, 0)
  } catch {
    return NotShortCircuit
  }
}

const timeoutCause = (entry: Entry): Cause.Cause<unknown> =>
  Cause.fromReasons([
    Cause.makeFailReason(TimedOut),
    Cause.makeDieReason(
      new Cause.TimeoutError(`handler "${entry.source}" ran longer than ${Duration.format(entry.timeout!)}`)
    )
  ])

/** What `Schema.is` says of a hook's declared error schema, made once per schema. */
const guards = new WeakMap<HookSchema, (u: unknown) => boolean>()

/** The guard of a declared error schema (`Hook.action(name, { error })`), or `undefined` when there is none. */
export const declaredGuard = (schema: HookSchema | undefined): ((u: unknown) => boolean) | undefined => {
  if (schema === undefined) return undefined
  let guard = guards.get(schema)
  if (guard === undefined) guards.set(schema, guard = Schema.is(schema))
  return guard
}

const undeclared = (reason: Cause.Reason<unknown>, guard: (u: unknown) => boolean): boolean =>
  Cause.isFailReason(reason) && reason.error !== TimedOut && !guard(reason.error)

/**
 * `cause`, with each typed failure the hook's declared error schema does not accept turned into a defect: the
 * handler broke the hook's contract (a plugin's errors, a cast), and `HandlerFailed<E>.error` stays an `E`.
 */
export const undeclaredAsDefects = (
  cause: Cause.Cause<unknown>,
  guard: ((u: unknown) => boolean) | undefined
): Cause.Cause<unknown> =>
  guard === undefined || !cause.reasons.some((r) => undeclared(r, guard))
    ? cause
    : Cause.fromReasons(
      cause.reasons.map((r) => undeclared(r, guard) ? Cause.makeDieReason((r as Cause.Fail<unknown>).error) : r)
    )

/** The typed failure of a handler whose run ended in `cause`. */
export const handlerFailed = (entry: Entry, ended: Cause.Cause<unknown>): HandlerFailed => {
  const cause = undeclaredAsDefects(ended, entry.slot.declared)
  const reason = reasonOf(cause)
  return new HandlerFailed({
    hook: entry.slot.name,
    kind: entry.slot.kind,
    source: entry.source,
    reason,
    cause: reason === "Timeout" ? Cause.fromReasons(cause.reasons.filter((r) => !Cause.isFailReason(r))) : cause
  })
}

/** Calls a filter handler with the value; a throw is a defect, like a throw inside `Effect.sync`. */
export const callFilterHandler = (fn: AnyFn, value: unknown, args: ReadonlyArray<unknown>): unknown => {
  try {
    switch (args.length) {
      case 0:
        return fn(value)
      case 1:
        return fn(value, args[0])
      default:
        return fn(value, ...args)
    }
  } catch (error) {
    return Exit.die(error)
  }
}

/** Calls an action handler; a throw is a defect. */
export const callActionHandler = (fn: AnyFn, args: ReadonlyArray<unknown>): unknown => {
  try {
    switch (args.length) {
      case 0:
        return fn()
      case 1:
        return fn(args[0])
      default:
        return fn(...args)
    }
  } catch (error) {
    return Exit.die(error)
  }
}

/** What `runThunk` returns when the thunk threw: the defect, in a wrapper no handler value can be. */
export class Thrown {
  readonly exit: Exit.Exit<never>
  constructor(error: unknown) {
    this.exit = Exit.die(error)
  }
}

/** Runs the thunk of a handler's `Effect.sync` in place: its value, or `Thrown` (a throw is a defect, as in Effect). */
export const runThunk = (thunk: () => unknown): unknown => {
  try {
    return thunk()
  } catch (error) {
    return new Thrown(error)
  }
}

/**
 * A handler's outcome when it is known without entering the fiber: an already-completed Effect, or an
 * `Effect.sync` run in place (not under a timeout, which runs the handler in the fiber); `undefined` otherwise.
 */
export const exitOnTheSpot = (entry: Entry, returned: unknown): Exit.Exit<unknown, unknown> | undefined => {
  const exit = EffectCompat.completedExit(returned)
  if (exit !== undefined || entry.timeout !== undefined) return exit
  const thunk = EffectCompat.syncThunk(returned)
  if (thunk === undefined) return undefined
  const value = runThunk(thunk)
  return value instanceof Thrown ? value.exit : Exit.succeed(value)
}

const notAnEffect = (entry: Entry, returned: unknown): Exit.Exit<never> =>
  Exit.die(
    new TypeError(
      `handler "${entry.source}" on ${entry.slot.kind} "${entry.slot.name}" returned ${
        returned === null ? "null" : typeof returned
      }, not an Effect`
    )
  )

/**
 * Runs a handler Effect that did not complete on the spot, bounded by its timeout. It runs in the dispatch's
 * context (set once for the whole rest of the chain), switched only when the handler needs services the
 * dispatching fiber lacks, or has its own span.
 */
export const runSlow = (
  entry: Entry,
  returned: unknown,
  caller: Context.Context<never>,
  frame: HookStack.HookFrame,
  probe: Probe | undefined,
  handlerSpan: Tracer.Span | undefined
): Effect.Effect<Exit.Exit<unknown, unknown>> => {
  if (!EffectCompat.isGenuineEffect(returned)) return Effect.succeed(notAnEffect(entry, returned))
  let effect = returned as Effect.Effect<unknown, unknown>
  const lent = HandlerContext.prepare(entry, entry.lent, caller)
  // A lazy dispatch span not yet in the chain's context is made now and set for this handler.
  if (lent !== undefined || handlerSpan !== undefined || probe?.unframedSpan !== undefined) {
    const base = Context.add(lent ?? caller, HookStack.CurrentHookFrame, frame)
    const parentSpan = handlerSpan ?? probe?.span
    const context = parentSpan === undefined ? base : Context.add(base, Tracer.ParentSpan, parentSpan)
    effect = Effect.updateContext(effect, (): Context.Context<never> => context)
  }
  if (entry.timeout !== undefined) {
    const timeout = entry.timeout
    effect = Effect.flatMap(
      Effect.timeoutOption(Effect.exit(effect), timeout),
      (o) => o._tag === "Some" ? o.value : Effect.failCause(timeoutCause(entry))
    )
  }
  return Effect.exit(effect)
}
