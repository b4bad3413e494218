/**
 * hookbus/durable: durable hook actions on effect/workflow and effect/cluster with SQL storage. Provide
 * `Durable.layerSqlite` (one process, a file) or `Durable.layerPostgres` (several runners) next to `HookBus.layer`,
 * and register handlers with `{ mode: "durable", source }`. The `hookbus` entry point does not load this module.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Schema } from "effect"
 * import { Hook, HookBus } from "hookbus"
 * import { Durable } from "hookbus/durable"
 *
 * const PostSaved = Hook.action("post.saved", { args: [Schema.String] })
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.addAction(PostSaved, (id) => Effect.log(`audit ${id}`), { mode: "durable", source: "audit" })
 *   yield* bus.doAction(PostSaved, "post-1") // returns once the job is stored
 * })
 * Effect.runPromise(
 *   program.pipe(Effect.scoped, Effect.provide(Layer.mergeAll(HookBus.layer, Durable.layerSqlite({ filename: "jobs.db" }))))
 * )
 * ```
 *
 * @since 0.1.0
 */
export * from "../domain/DurableErrors.ts"
export type * from "../domain/DurableJob.ts"
export * from "./Durable.ts"
