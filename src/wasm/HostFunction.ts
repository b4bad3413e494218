/**
 * User-defined host functions (ABI v1.1, Extism's host functions): a host service a plugin may call, with
 * Schema-typed arguments and result that cross the ABI's memory as JSON. A plugin imports one as
 * `(import "host" "<name>" (func (param i32 i32) (result i64)))`; the host provides it with
 * `Plugin.load(dir, { hostFunctions })`, and a `PluginPolicy` must grant it (`allowHostFunctions`).
 *
 * The function runs synchronously inside the guest's call, on the host's thread, in the context the plugin was
 * loaded in. In worker mode too: the guest's worker waits (`Atomics.wait` on a buffer shared with it) while the host
 * thread runs the function, and gets the same answer, in chunks when it is longer than the buffer; the call's
 * `timeoutMs` covers the wait. Its Effect must complete without suspending (reading a `Ref`, the `Clock`, a cache,
 * computing); one that suspends answers the guest with an `async` error. Whatever happens, the guest gets a body:
 * `{"value": <result>}`, or `{"error": {"message", "code"}}` with code `bad_args` (the arguments are not JSON or do
 * not decode), the failure's `_tag` (or `failed`), `async`, `defect` or `bad_result` (the result does not encode).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { errorMessage } from "../domain/errorMessage.ts"
import * as Abi from "./Abi.ts"

const TypeId = "~hookbus/HostFunction"

/**
 * A host function, opaque: made by `HostFunction.make`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { HostFunction } from "hookbus/wasm"
 *
 * const names = (fns: ReadonlyArray<HostFunction.HostFunction>) => fns.map((f) => f.name)
 */
export interface HostFunction {
  readonly [TypeId]: typeof TypeId
  /** The import name, in module `host`. */
  readonly name: string
  /** One call: the arguments' JSON text in, the result body's JSON text out. Never throws. */
  readonly call: (context: Context.Context<never>, input: string) => string
}

/**
 * Whether a value is a `HostFunction`.
 *
 * @since 0.1.0
 * @category guards
 * @example
 * import { HostFunction } from "hookbus/wasm"
 *
 * HostFunction.isHostFunction({ name: "kv_get" }) // false
 */
export const isHostFunction = (u: unknown): u is HostFunction => Predicate.hasProperty(u, TypeId)

/**
 * What a host function name must look like: lowercase letters, digits and underscores, starting with a letter or
 * an underscore, at most 64 characters.
 *
 * @since 0.1.0
 * @category validation
 * @example
 * import { HostFunction } from "hookbus/wasm"
 *
 * HostFunction.namePattern.test("kv_get") // true
 */
export const namePattern = /^[a-z_][a-z0-9_]{0,63}$/

const errorBody = (code: string, message: string): string => JSON.stringify({ error: { message, code } })

/**
 * A host function named `name`: the guest's JSON arguments are decoded with `args`, `run` computes the result,
 * which is encoded with `result` and handed back as `{"value": ...}`.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Effect, Schema } from "effect"
 * import { HostFunction, Plugin } from "hookbus/wasm"
 *
 * const prices = new Map([["apple", 3]])
 * const priceOf = HostFunction.make("price_of", {
 *   args: Schema.Struct({ item: Schema.String }),
 *   result: Schema.NullOr(Schema.Number),
 *   run: ({ item }) => Effect.sync(() => prices.get(item) ?? null)
 * })
 * const program = Plugin.load("plugins/shop", { hostFunctions: [priceOf] })
 */
export const make = <A, AI, B, BI, E>(
  name: string,
  options: {
    readonly args: Schema.Codec<A, AI>
    readonly result: Schema.Codec<B, BI>
    readonly run: (args: A) => Effect.Effect<B, E>
  }
): HostFunction => {
  const decode = Schema.decodeUnknownExit(options.args)
  const encode = Schema.encodeUnknownExit(options.result)
  return {
    [TypeId]: TypeId,
    name,
    call: (context, input) => {
      let json: unknown
      try {
        json = JSON.parse(input)
      } catch (error) {
        return errorBody("bad_args", `the arguments of host function "${name}" are not JSON: ${errorMessage(error)}`)
      }
      const args = decode(json)
      if (Exit.isFailure(args)) {
        return errorBody("bad_args", `host function "${name}": ${Cause.pretty(args.cause)}`)
      }
      const exit = Effect.runSyncExitWith(context)(options.run(args.value))
      if (Exit.isFailure(exit)) {
        const failure = Cause.findErrorOption(exit.cause)
        if (failure._tag === "Some") {
          const error = failure.value
          const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : "failed"
          return errorBody(tag, errorMessage(error))
        }
        const message = Cause.pretty(exit.cause)
        return /async|synchronous/i.test(message)
          ? errorBody("async", `host function "${name}" did not complete synchronously`)
          : errorBody("defect", `host function "${name}" died: ${message.split("\n")[0]}`)
      }
      const encoded = encode(exit.value)
      if (Exit.isFailure(encoded)) {
        return errorBody(
          "bad_result",
          `the result of host function "${name}" does not encode: ${Cause.pretty(encoded.cause)}`
        )
      }
      const text = Abi.toJson(encoded.value)
      return typeof text === "string"
        ? `{"value":${text}}`
        : errorBody("bad_result", `the result of host function "${name}" has no JSON form: ${text.error}`)
    }
  }
}
