/**
 * A small tour of the hook bus: define hooks, register handlers in a Layer, dispatch, handle errors.
 * Run it with `npm run quickstart` (`npm start` runs the plugin demo instead).
 */
import { Console, Effect, Layer, Option, Schema } from "effect"
import { Hook, HookBus } from "../src/index.ts"

// Hooks are plain definitions; two definitions with the same kind and name address the same handlers.
const TheContent = Hook.filter("the_content", { value: Schema.String })
const PostSaved = Hook.action("post.saved", { args: [Schema.String] })

// Handlers are Effects, registered for the life of a scope: here, the life of a Layer.
const ContentHandlers = Layer.effectDiscard(Effect.gen(function*() {
  const bus = yield* HookBus
  yield* bus.addFilter(TheContent, (text) => Effect.succeed(text.trim()), { source: "trim", priority: 5 })
  yield* bus.addFilter(TheContent, (text) => Effect.succeed(`<p>${text}</p>`), { source: "paragraph" })
  yield* bus.addFilter(
    TheContent,
    (text) => text.includes("<p></p>") ? Hook.shortCircuit("(empty post)") : Effect.succeed(text),
    { source: "empty-guard", after: ["paragraph"] }
  )
  yield* bus.addAction(PostSaved, (id) => Console.log(`  [audit] post ${id} saved`), {
    source: "audit",
    mode: "async"
  })
  yield* bus.addAction(PostSaved, (id) => id === "draft" ? Effect.fail("drafts are not indexed") : Effect.void, {
    source: "search-index"
  })
}))

const program = Effect.gen(function*() {
  const bus = yield* HookBus
  yield* Console.log("the_content handlers:", (yield* bus.handlers(TheContent)).map((h) => h.source).join(" -> "))
  yield* Console.log("filtered:", yield* bus.applyFilters(TheContent, "  Hello, hooks!  "))
  const result = yield* bus.applyFiltersResult(TheContent, "   ")
  yield* Console.log(
    "short-circuited by:",
    Option.getOrElse(result.shortCircuitedBy, () => "nobody"),
    "value:",
    result.value
  )

  yield* bus.doAction(PostSaved, "42")
  const failed = yield* Effect.flip(bus.doAction(PostSaved, "draft"))
  yield* Console.log(`doAction failed: ${failed.message}`)
  yield* bus.awaitIdle
  yield* Console.log("post.saved dispatched", yield* bus.dispatchCount(PostSaved), "times")
})

program.pipe(
  Effect.provide(ContentHandlers.pipe(Layer.provideMerge(HookBus.layer))),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
