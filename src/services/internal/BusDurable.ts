/**
 * `bus.durable`: each operation forwards to the job operations of the durable runner in the calling fiber's context
 * (the registrar `hookbus/durable`'s layer provides), or fails with `DurableUnavailable`. Read at the call, as durable
 * registration reads it, so the bus and the runner are composed side by side (`Layer.mergeAll`).
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { DurableUnavailable } from "../../domain/DurableErrors.ts"
import type { BusDurableJobs, DurableJobs } from "../../domain/DurableJob.ts"
import { CurrentDurableRegistrar } from "./DurableRegistrar.ts"

const withJobs = <A, E>(
  operation: string,
  f: (jobs: DurableJobs) => Effect.Effect<A, E>
): Effect.Effect<A, E | DurableUnavailable> =>
  Effect.withFiber<A, E | DurableUnavailable>((fiber) => {
    const registrar = Context.get(fiber.context, CurrentDurableRegistrar)
    return registrar === undefined ? Effect.fail(new DurableUnavailable({ operation })) : f(registrar.jobs)
  })

/** The `durable` field of every bus. */
export const busDurable: BusDurableJobs = {
  list: (options) => withJobs("list", (jobs) => jobs.list(options)),
  get: (id) => withJobs("get", (jobs) => jobs.get(id)),
  counts: withJobs("counts", (jobs) => jobs.counts),
  retry: (id) => withJobs("retry", (jobs) => jobs.retry(id)),
  cancel: (id) => withJobs("cancel", (jobs) => jobs.cancel(id))
}
