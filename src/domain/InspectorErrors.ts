/**
 * The typed error of the hook inspector (`hookbus/inspector`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The inspector could not listen on its address: the port is in use, the host is not an address of this machine,
 * or the process may not bind there. `reason` is the system's code (`EADDRINUSE`, `EACCES`, ...) when it gave one.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect, Layer } from "effect"
 * import { HookInspector } from "hookbus/inspector"
 *
 * const Inspector = HookInspector.layer({ port: 4400 }).pipe(
 *   Layer.catchTag("InspectorListenFailed", (error) => Layer.effectDiscard(Effect.logWarning(error.message)))
 * )
 */
export class InspectorListenFailed extends Schema.TaggedError<InspectorListenFailed>()("InspectorListenFailed", {
  host: Schema.String,
  port: Schema.Number,
  reason: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `the hook inspector cannot listen on ${this.host}:${this.port}: ${this.reason} (${this.detail})`
  }
}
