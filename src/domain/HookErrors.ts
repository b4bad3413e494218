/**
 * The tagged errors of the hook bus. Every failure a caller can meet is one of these, and each names the hook. They
 * are schema classes (`Schema.TaggedError`), so they encode and cross a worker boundary like the plugin errors; as
 * JSON with `Schema.toCodecJson(ActionFailed)`. A `Cause` encodes as its list of reasons, whose errors and defects
 * encode as `Schema.Defect` does (an `Error` as `{ name, message }`); values (`ShortCircuit.value`,
 * `FilterFailed.value`) as they are.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Schema from "effect/Schema"

/**
 * A filter handler stops the chain with `value`. Raised by {@link Hook.shortCircuit}; from an action handler it is
 * an ordinary failure. It still stops the chain when wrapped: as the `cause` of the error a handler fails with
 * (up to 16 links), or among the typed failures of its `Cause` (docs/concepts.md).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { Hook, ShortCircuit } from "hookbus"
 *
 * const stop = Hook.shortCircuit("cached") // fails with a ShortCircuit the bus turns into the chain's result
 * const isStop = (u: unknown): u is ShortCircuit => u instanceof ShortCircuit
 * const value = Effect.flip(stop).pipe(Effect.map((e) => e.value)) // "cached"
 */
export class ShortCircuit<out A = unknown> extends Schema.TaggedError<ShortCircuit<any>>()("ShortCircuit", {
  value: Schema.Unknown
}) {
  declare readonly value: A
  // oxlint-disable-next-line no-useless-constructor -- it types the props, so `new X({ ... })` infers the parameters
  constructor(props: { readonly value: A }, options?: Schema.MakeOptions) {
    super(props, options)
  }
  override get message(): string {
    return "a filter handler short-circuited the chain"
  }
}

/**
 * Why a handler did not complete.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { FailureReason, HandlerFailed } from "hookbus"
 *
 * const reasonOf = (failure: HandlerFailed): FailureReason => failure.reason // "Failure" | "Defect" | ...
 */
export type FailureReason = "Failure" | "Defect" | "Interrupt" | "Timeout"

const FailureReasonSchema = Schema.Literals(["Failure", "Defect", "Interrupt", "Timeout"])
const HookKindSchema = Schema.Literals(["action", "filter"])
/** A handler's `Cause`: its typed errors and defects encode as `Schema.Defect` does. */
const CauseSchema = Schema.Cause(Schema.Defect(), Schema.Defect())

/**
 * One handler that did not complete: it failed, died (threw or `Effect.die`), was interrupted, or overran its
 * timeout. `cause` keeps the full `Cause`. `E` is the hook's declared error type (`Hook.action(name, { error })`),
 * `unknown` when it declares none.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { HandlerFailed } from "hookbus"
 *
 * const line = (f: HandlerFailed) => `${f.source} on ${f.hook}: ${f.reason} (${String(f.error ?? "no typed error")})`
 */
export class HandlerFailed<out E = unknown> extends Schema.TaggedError<HandlerFailed<any>>()("HandlerFailed", {
  hook: Schema.String,
  kind: HookKindSchema,
  source: Schema.String,
  reason: FailureReasonSchema,
  cause: CauseSchema
}) {
  /** The typed error the handler failed with, when `reason` is "Failure". */
  get error(): E | undefined {
    const reason = this.cause.reasons.find(Cause.isFailReason)
    return reason?.error as E | undefined
  }
  override get message(): string {
    return bounded(
      `${this.kind} handler "${this.source}" on hook "${this.hook}" ${describeReason(this.reason)}: ${
        describeCause(this.cause)
      }`
    )
  }
}

/**
 * `doAction` ran every sync handler, and these failed (in chain order); `E` is the hook's declared error type.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { Hook, HookBus } from "hookbus"
 *
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.doAction(Hook.action("init")).pipe(
 *     Effect.catchTag("ActionFailed", (e) => Effect.logWarning(`${e.failures.length} init handler(s) failed`))
 *   )
 * })
 */
export class ActionFailed<out E = unknown> extends Schema.TaggedError<ActionFailed<any>>()("ActionFailed", {
  hook: Schema.String,
  failures: Schema.Array(HandlerFailed)
}) {
  declare readonly failures: ReadonlyArray<HandlerFailed<E>>
  // oxlint-disable-next-line no-useless-constructor -- it types the props, so `new X({ ... })` infers the parameters
  constructor(
    props: { readonly hook: string; readonly failures: ReadonlyArray<HandlerFailed<E>> },
    options?: Schema.MakeOptions
  ) {
    super(props, options)
  }
  override get message(): string {
    const sources = this.failures.map((f) => `${f.source} (${f.reason})`).join(", ")
    return bounded(`action "${this.hook}": ${this.failures.length} handler(s) failed: ${sources}`)
  }
}

/**
 * A filter chain stopped at a failing handler; `value` is the last value a handler accepted, `E` the hook's declared
 * error type.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { Hook, HookBus } from "hookbus"
 *
 * const TheContent = Hook.filter<string>("the_content")
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   // On failure, keep the last value a handler accepted.
 *   return yield* bus.applyFilters(TheContent, "text").pipe(Effect.catchTag("FilterFailed", (e) => Effect.succeed(e.value)))
 * })
 */
export class FilterFailed<out A = unknown, out E = unknown> extends Schema.TaggedError<FilterFailed<any, any>>()(
  "FilterFailed",
  { hook: Schema.String, value: Schema.Unknown, failure: HandlerFailed }
) {
  declare readonly value: A
  declare readonly failure: HandlerFailed<E>
  // oxlint-disable-next-line no-useless-constructor -- it types the props, so `new X({ ... })` infers the parameters
  constructor(
    props: { readonly hook: string; readonly value: A; readonly failure: HandlerFailed<E> },
    options?: Schema.MakeOptions
  ) {
    super(props, options)
  }
  override get message(): string {
    return bounded(`filter "${this.hook}" stopped: ${this.failure.message}`)
  }
}

/**
 * Why a registration was refused.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { RegistrationRejected, RejectionReason } from "hookbus"
 *
 * const why = (e: RegistrationRejected): RejectionReason => e.reason // "Cycle", "InvalidPriority", ...
 */
export type RejectionReason =
  | "InvalidPriority"
  | "InvalidHookName"
  | "InvalidOption"
  | "Cycle"
  | "SelfConstraint"
  | "UntypedHook"
  | "DurableUnavailable"

/**
 * A registration was refused; the chain is unchanged.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { Hook, HookBus } from "hookbus"
 *
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   const error = yield* Effect.flip(bus.addAction(Hook.action("init"), () => Effect.void, { priority: Number.NaN }))
 *   return error.reason // "InvalidPriority"
 * })
 */
export class RegistrationRejected extends Schema.TaggedError<RegistrationRejected>()("RegistrationRejected", {
  hook: Schema.String,
  reason: Schema.Literals([
    "InvalidPriority",
    "InvalidHookName",
    "InvalidOption",
    "Cycle",
    "SelfConstraint",
    "UntypedHook",
    "DurableUnavailable"
  ]) satisfies Schema.Codec<RejectionReason>,
  message: Schema.String
}) {}

/**
 * Nested dispatch went deeper than the bus's `maxDepth`.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { HookBus, type RecursionLimit } from "hookbus"
 *
 * const layer = HookBus.layerWith({ maxDepth: 8 }) // a dispatch nested deeper fails with RecursionLimit
 * const line = (e: RecursionLimit) => `${e.hook} at depth ${e.depth}`
 */
export class RecursionLimit extends Schema.TaggedError<RecursionLimit>()("RecursionLimit", {
  hook: Schema.String,
  depth: Schema.Number
}) {
  override get message(): string {
    return `hook "${this.hook}" dispatched at nesting depth ${this.depth}, over the bus's maxDepth`
  }
}

const describeReason = (reason: FailureReason): string => {
  switch (reason) {
    case "Failure":
      return "failed"
    case "Defect":
      return "died"
    case "Interrupt":
      return "was interrupted"
    case "Timeout":
      return "timed out"
  }
}

const firstLine = (text: string): string => {
  const end = text.indexOf("\n")
  return end === -1 ? text : text.slice(0, end)
}

/**
 * The longest message an error of the bus builds, in UTF-16 code units.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { maxMessageLength, type ActionFailed } from "hookbus"
 *
 * const fits = (e: ActionFailed) => e.message.length <= maxMessageLength // always true
 */
export const maxMessageLength = 2048

/** Caps a message at `maxMessageLength`: nested failures (a recursion 64 deep) stay readable and cheap to log. */
const bounded = (text: string): string =>
  text.length <= maxMessageLength ? text : `${text.slice(0, maxMessageLength - 1)}…`

/**
 * The first line of what went wrong, reading each nested error's `message` once: `Cause.pretty` reads it (and the
 * stack, which reads it again) at every level, which is exponential in the nesting depth.
 */
const describeCause = (cause: Cause.Cause<unknown>): string => {
  const reason = cause.reasons[0]
  if (reason === undefined) return "no cause"
  if (Cause.isInterruptReason(reason)) return "interrupted"
  const error = Cause.isFailReason(reason) ? reason.error : reason.defect
  if (typeof error === "object" && error !== null) {
    // Read once: a nested error's message getter builds its own message.
    const message: unknown = (error as { message?: unknown }).message
    if (typeof message === "string") {
      const name: unknown = (error as { name?: unknown }).name
      return typeof name === "string" && name.length > 0 ? `${name}: ${firstLine(message)}` : firstLine(message)
    }
  }
  return firstLine(typeof error === "string" ? error : String(error))
}

/**
 * A hook was defined with a name that breaks the rules in `HookName` (thrown by `Hook.action`/`Hook.filter`).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Hook, InvalidHookName } from "hookbus"
 *
 * try {
 *   Hook.action("")
 * } catch (error) {
 *   if (error instanceof InvalidHookName) console.log(error.message)
 * }
 */
export class InvalidHookName extends Schema.TaggedError<InvalidHookName>()("InvalidHookName", {
  name: Schema.String,
  message: Schema.String
}) {}
