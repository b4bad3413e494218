/**
 * Type tests, checked by tsc in `npm test` (not run by vitest): these lines must compile, and each
 * `@ts-expect-error` line must not; an expected error that stops occurring fails the type check.
 */
import { Effect, Schema } from "effect"
import { Hook, type HookBusShape } from "../../src/index.ts"

const TheContent = Hook.filter("the_content", { value: Schema.String, args: [Schema.Number] })
const Saved = Hook.action("post.saved", { args: [Schema.String, Schema.Number] })
const Untyped = Hook.filter("anything")

export const typeChecks = (bus: HookBusShape) => {
  // Values and args flow from the hook definition.
  bus.applyFilters(TheContent, "text", 1) satisfies Effect.Effect<string, unknown>
  bus.addFilter(TheContent, (text, postId) => Effect.succeed(`${text}${postId.toFixed(0)}`))
  bus.addAction(Saved, (id, revision) => Effect.log(id.toUpperCase(), revision + 1))
  bus.doAction(Saved, "id", 2)
  bus.applyFilters(Untyped, { anything: true })

  // @ts-expect-error the value of the_content is a string
  bus.applyFilters(TheContent, 1, 1)
  // @ts-expect-error the_content takes one number argument
  bus.applyFilters(TheContent, "text", "1")
  // @ts-expect-error a filter handler must return the value type
  bus.addFilter(TheContent, () => Effect.succeed(1))
  // @ts-expect-error post.saved takes (string, number)
  bus.doAction(Saved, 1, "id")
  // @ts-expect-error an action hook is not a filter hook
  bus.applyFilters(Saved, "x")
  // @ts-expect-error shortCircuit with the wrong value type
  bus.addFilter(TheContent, () => Hook.shortCircuit(42))
}
