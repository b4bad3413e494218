/**
 * The typed error of a configuration mistake: options of `HookBus.layerWith`, `Plugin.load`/`fromBytes` or
 * `PluginInstance.make` that are out of range or of the wrong type. It names the option and what is wrong with it.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

/**
 * Options that cannot be used, named: `of` is what they configure (`"HookBus"`, `"Plugin"`, `"PluginInstance"`),
 * `option` the option's path (`async.concurrency`, `limits.fuel`), `detail` what is wrong, with the value given.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect, Layer } from "effect"
 * import { HookBus } from "hookbus"
 *
 * const bus = HookBus.layerWith({ maxDepth: 0 }).pipe(
 *   Layer.catchTag("InvalidOptions", (error) =>
 *     Layer.effectDiscard(Effect.logError(error.message)) // "invalid HookBus option maxDepth: ..."
 *       .pipe(Layer.provideMerge(HookBus.layer)))
 * )
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  of: Schema.String,
  option: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.of} option ${this.option}: ${this.detail}`
  }
}

/** A positive integer (a count, a size, a bound). @internal */
export const PositiveInt = Schema.Unknown.check(
  Schema.makeFilter((u) => (typeof u === "number" && Number.isInteger(u) && u >= 1) || "must be a positive integer")
).pipe(Schema.decodeTo(Schema.Number))

/** Anything `Duration.fromInput` reads: `"5 seconds"`, a number of milliseconds, a `Duration`. @internal */
export const DurationInput = Schema.Unknown.check(
  Schema.makeFilter((u) =>
    Option.isSome(Duration.fromInput(u as Duration.Input)) ||
    `must be a duration ("5 seconds", a number of milliseconds or a Duration)`
  )
).pipe(Schema.decodeTo(Schema.declare((u): u is Duration.Input => u !== undefined)))

const identifier = /^[A-Za-z_$][\w$]*$/

/** `async.concurrency`, `filterErrors["post.saved"]`, `pool.size`. */
const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0
    ? "(options)"
    : path.map((p, i) =>
      typeof p === "number"
        ? `[${p}]`
        : typeof p === "string" && identifier.test(p)
        ? (i === 0 ? p : `.${p}`)
        : `[${JSON.stringify(String(p))}]`
    ).join("")

/** The value at `path` in `input`, for the message (bounded: options are small, but a user's object may not be). */
const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): string => {
  let value = input
  for (const p of path) {
    if (typeof value !== "object" || value === null) return "nothing"
    value = (value as Record<PropertyKey, unknown>)[p]
  }
  let text: string
  if (typeof value === "string") text = JSON.stringify(value)
  else if (typeof value === "function") text = "a function"
  else if (typeof value === "object" && value !== null) text = Array.isArray(value) ? "an array" : "an object"
  else text = String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

const toStandard = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Checks `input` against an options schema: the decoded options, or an `InvalidOptions` naming the first bad
 * option (excess keys included: a misspelt option is a mistake, not a default). @internal
 */
export const check = <S extends Schema.Decoder<unknown>>(
  of: string,
  schema: S,
  input: unknown
): Exit.Exit<S["Type"], InvalidOptions> => {
  const exit = Schema.decodeUnknownExit(schema)(input, { onExcessProperty: "error" })
  if (Exit.isSuccess(exit)) return Exit.succeed(exit.value)
  const reason = exit.cause.reasons[0]
  const error = reason?._tag === "Fail" ? reason.error : undefined
  const issue = Schema.isSchemaError(error) ? toStandard(error.issue).issues[0] : undefined
  const path = (issue?.path ?? []).map((p) => typeof p === "object" ? p.key : p)
  const detail = issue?.message === "Expected no excess property"
    ? "is not an option"
    : `${(issue?.message ?? "is invalid").replace(/^Expected /, "must be ")}, got ${valueAt(input, path)}`
  return Exit.fail(new InvalidOptions({ of, option: formatPath(path), detail }))
}

/** `check` as an Effect. @internal */
export const checkEffect = <S extends Schema.Decoder<unknown>>(
  of: string,
  schema: S,
  input: unknown
): Effect.Effect<S["Type"], InvalidOptions> => Effect.suspend(() => check(of, schema, input))
