/**
 * The schema codec at a plugin's boundary: the handlers a plugin's hooks register as. Values are encoded with the
 * dispatching hook's schemas on the way in, and a filter's result is decoded with them on the way out: what a
 * plugin returns is untrusted input. A suspended plugin's handlers are skipped.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Hook from "../../domain/Hook.ts"
import type { ShortCircuit } from "../../domain/HookErrors.ts"
import { BadPayload, type PluginCallError, PluginSuspended, UnencodableValue } from "../../domain/PluginErrors.ts"
import { HookBus } from "../../services/HookBus.ts"
import type * as PluginInstance from "../PluginInstance.ts"

/** What a failed encode or decode says: the schema error's message. */
const schemaFailure = (cause: Cause.Cause<unknown>): string => {
  const reason = cause.reasons[0]
  const error = reason?._tag === "Fail" ? reason.error : reason
  return Schema.isSchemaError(error) ? error.message : String(error)
}

const encodeWith = (
  plugin: string,
  hook: string,
  schema: Hook.HookSchema | undefined,
  value: unknown
): unknown | UnencodableValue => {
  if (schema === undefined) return value
  const exit = Schema.encodeUnknownExit(schema)(value)
  if (Exit.isSuccess(exit)) return exit.value
  return new UnencodableValue({
    plugin,
    hook,
    detail: `does not encode with the hook's schema: ${schemaFailure(exit.cause)}`
  })
}

const encodeArgs = (
  plugin: string,
  hook: string,
  schemas: ReadonlyArray<Hook.HookSchema> | undefined,
  args: ReadonlyArray<unknown>
): ReadonlyArray<unknown> | UnencodableValue => {
  if (schemas === undefined || schemas.length === 0) return args
  const out: Array<unknown> = []
  for (let i = 0; i < args.length; i++) {
    const encoded = encodeWith(plugin, hook, schemas[i], args[i])
    if (encoded instanceof UnencodableValue) return encoded
    out.push(encoded)
  }
  return out
}

/** The hook definition the current dispatch was made with, when there is one. */
const dispatchedHook = HookBus.currentHook

/** What a skipped call answers. */
const skipped: unique symbol = Symbol.for("hookbus/Plugin/skipped")

/**
 * A suspended plugin's handlers are skipped: the call answers `skipped` (a filter passes its value through) instead
 * of failing the dispatch. The instance counts the refusal (`Plugin.status(...).rejected`); it is logged at debug
 * level, the breaker's opening at warning level.
 */
const skipWhenSuspended = <A>(
  call: Effect.Effect<A, PluginCallError>
): Effect.Effect<A | typeof skipped, PluginCallError> =>
  Effect.catchIf(call, (error): error is PluginSuspended => error instanceof PluginSuspended, (error) =>
    Effect.as(
      Effect.logDebug("plugin suspended: handler skipped").pipe(
        Effect.annotateLogs({ plugin: error.plugin, hook: error.hook, until: new Date(error.until).toISOString() })
      ),
      skipped
    ))

/** The body of a plugin's filter handler: one call of the plugin, through the hook's schemas. */
export const filterHandler = (
  instance: PluginInstance.PluginInstance,
  hook: string,
  value: unknown,
  args: ReadonlyArray<unknown>
): Effect.Effect<unknown, PluginCallError | ShortCircuit<unknown>> =>
  Effect.flatMap(dispatchedHook, (definition) => {
    const plugin = instance.plugin
    const schemas = definition?.kind === "filter" ? definition.schemas : {}
    const encoded = encodeWith(plugin, hook, schemas.value, value)
    if (encoded instanceof UnencodableValue) return Effect.fail(encoded)
    const encodedArgs = encodeArgs(plugin, hook, schemas.args, args)
    if (encodedArgs instanceof UnencodableValue) return Effect.fail(encodedArgs)
    return Effect.flatMap(
      skipWhenSuspended(instance.callFilter(hook, encoded, encodedArgs)),
      (outcome): Effect.Effect<
        unknown,
        PluginCallError | ShortCircuit<unknown>
      > => {
        // Suspended, no body, or the value sent back as is: the caller's own value, already of the right type.
        if (outcome === skipped) return Effect.succeed(value)
        let result = outcome.value === encoded ? value : outcome.value
        if (schemas.value !== undefined && outcome.value !== encoded) {
          const decoded = Schema.decodeUnknownExit(schemas.value)(outcome.value)
          if (Exit.isFailure(decoded)) {
            return Effect.fail(
              new BadPayload({
                plugin,
                hook,
                detail: `the result does not decode with the hook's schema: ${schemaFailure(decoded.cause)}`
              })
            )
          }
          result = decoded.value
        }
        return outcome.shortCircuit ? Hook.shortCircuit(result) : Effect.succeed(result)
      }
    )
  })

/** The body of a plugin's action handler: one call of the plugin, its arguments encoded with the hook's schemas. */
export const actionHandler = (
  instance: PluginInstance.PluginInstance,
  hook: string,
  args: ReadonlyArray<unknown>
): Effect.Effect<void, PluginCallError> =>
  Effect.flatMap(dispatchedHook, (definition) => {
    const encodedArgs = encodeArgs(instance.plugin, hook, definition?.schemas.args, args)
    if (encodedArgs instanceof UnencodableValue) return Effect.fail(encodedArgs)
    return Effect.asVoid(skipWhenSuspended(instance.callAction(hook, encodedArgs)))
  })
