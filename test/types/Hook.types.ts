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

  // A declared error type: handlers must fail with it; the dispatch's error carries it.
  bus.addAction(Login, () => Effect.fail(new Denied({ user: "ada" })))
  bus.addFilter(Greeting, (text) =>
    Effect.gen(function*() {
      if (text === "") return yield* new Denied({ user: "" })
      return yield* Hook.shortCircuit(text)
    }))
  bus.doAction(Login, "ada").pipe(
    Effect.catchTag("ActionFailed", (e) => Effect.succeed(e.failures.map((f) => f.error?.user)))
  ) satisfies Effect.Effect<void | ReadonlyArray<string | undefined>, unknown>
  bus.applyFilters(Greeting, "hi").pipe(
    Effect.catchTag("FilterFailed", (e) => Effect.succeed(e.failure.error?.user ?? e.value))
  ) satisfies Effect.Effect<string, unknown>
  // Any error on a hook that declares none.
  bus.addAction(Saved, () => Effect.fail(new Error("x")))
  // @ts-expect-error Login's handlers fail with Denied only
  bus.addAction(Login, () => Effect.fail("nope"))
  // @ts-expect-error Greeting's handlers fail with Denied (or short-circuit) only
  bus.addFilter(Greeting, () => Effect.fail(new Error("x")))
}

class Denied extends Schema.TaggedError<Denied>()("Denied", { user: Schema.String }) {}
const Login = Hook.action("user.login", { args: [Schema.String], error: Denied })
const Greeting = Hook.filter("greeting", { value: Schema.String, error: Denied })
