/**
 * How to test your own code against the hook bus: provide `HookBus.layerTest`, stub hooks with a Layer that
 * registers fake handlers, and assert on the dispatches the `HookRecorder` saw.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HookBus, HookRecorder } from "../../src/index.ts"
import { PostContent, PostSaved, PostService } from "./PostService.ts"

// A stub: a Layer that registers a fake handler for as long as the test runs.
const ShoutingContent = Layer.effectDiscard(
  HookBus.use((bus) => bus.addFilter(PostContent, (body) => Effect.succeed(body.toUpperCase()), { source: "stub" }))
)

const TestLayer = PostService.layer.pipe(Layer.provideMerge(ShoutingContent), Layer.provideMerge(HookBus.layerTest))

describe("PostService", () => {
  it.effect("runs the content filters and announces the save", () =>
    Effect.gen(function*() {
      const posts = yield* PostService
      const recorder = yield* HookRecorder
      assert.strictEqual(yield* posts.save("42", "hello"), "HELLO")

      const [filtered] = yield* recorder.recordsOf(PostContent.name, "filter")
      assert.strictEqual(filtered.value, "hello")
      assert.strictEqual(filtered.result, "HELLO")
      assert.deepStrictEqual(filtered.handlers, ["stub"])

      const saved = yield* recorder.recordsOf(PostSaved.name)
      assert.deepStrictEqual(saved.map((r) => r.args), [["42", "HELLO"]])
      assert.strictEqual(saved[0].outcome, "ok")
    }).pipe(Effect.provide(Layer.fresh(TestLayer))))

  it.effect("keeps the body when a content filter fails", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(PostContent, () => Effect.fail("spam check unavailable"), { source: "spam", priority: 20 })
      const posts = yield* PostService
      assert.strictEqual(yield* posts.save("7", "hi"), "HI")
      const [record] = yield* HookRecorder.use((r) => r.recordsOf(PostContent.name))
      assert.strictEqual(record.outcome, "failed")
      assert.deepStrictEqual(record.failures.map((f) => f.source), ["spam"])
    }).pipe(Effect.provide(Layer.fresh(TestLayer))))
})

// No bus at all: `HookBus.layerStub` answers each hook from a table, by name.
const StubbedBus = HookBus.layerStub({
  filters: { [PostContent.name]: (body: string) => Effect.succeed(`[${body}]`) },
  actions: { [PostSaved.name]: () => Effect.fail("audit log down") }
})

describe("PostService on a stub bus", () => {
  it.effect("gets the stub's answer, and the stub's failure as the action's", () =>
    Effect.gen(function*() {
      const posts = yield* PostService
      assert.strictEqual(yield* posts.save("1", "hi"), "[hi]") // the failing audit stub is logged by save
      const bus = yield* HookBus
      const error = yield* Effect.flip(bus.doAction(PostSaved, "1", "hi"))
      assert.deepStrictEqual(error._tag === "ActionFailed" && error.failures.map((f) => f.source), ["stub"])
      assert.strictEqual(yield* bus.dispatchCount(PostContent), 1)
    }).pipe(Effect.provide(PostService.layer.pipe(Layer.provideMerge(StubbedBus)))))
})
