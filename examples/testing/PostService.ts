/**
 * A user's service built on the hook bus: saving a post runs it through `post.content` filters and announces it
 * with the `post.saved` action. Tested in `PostService.test.ts` against `HookBus.layerTest`.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { Hook, HookBus } from "../../src/index.ts"

export const PostContent = Hook.filter("post.content", { value: Schema.String })
export const PostSaved = Hook.action("post.saved", { args: [Schema.String, Schema.String] })

export class PostService extends Context.Service<PostService, {
  readonly save: (id: string, body: string) => Effect.Effect<string>
}>()("example/PostService") {
  static readonly layer = Layer.effect(
    PostService,
    Effect.gen(function*() {
      const bus = yield* HookBus
      return PostService.of({
        save: (id, body) =>
          Effect.gen(function*() {
            // A failing filter leaves the body as it was; the failure is logged, not fatal.
            const content = yield* bus.applyFilters(PostContent, body).pipe(
              Effect.catchTag("FilterFailed", (e) => Effect.as(Effect.logWarning(e.message), e.value)),
              Effect.catchTag("RecursionLimit", () => Effect.succeed(body))
            )
            yield* bus.doAction(PostSaved, id, content).pipe(Effect.catch((e) => Effect.logWarning(e.message)))
            return content
          })
      })
    })
  )
}
