/**
 * The tagged errors of durable hook actions, exported by `hookbus` (what `bus.durable` fails with) and by
 * `hookbus/durable`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A durable dispatch's arguments do not encode with the hook's `args` schemas; nothing was persisted.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { DurableArgsRejected } from "hookbus"
 *
 * const line = (e: DurableArgsRejected) => `${e.hook} (${e.source}): ${e.message}`
 */
export class DurableArgsRejected extends Data.TaggedError("DurableArgsRejected")<{
  readonly hook: string
  readonly source: string
  readonly message: string
}> {}

/**
 * The job store could not be reached or answered with an error (or did not answer within the timeout).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { DurableStorageError } from "hookbus"
 *
 * const line = (e: DurableStorageError) => `${e.operation}: ${e.message}`
 */
export class DurableStorageError extends Data.TaggedError("DurableStorageError")<{
  /** What was being done: "enqueue", "list", "retry", "cancel", "connect", ... */
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * No job has this id.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { DurableJobNotFound } from "hookbus"
 *
 * const line = (e: DurableJobNotFound) => `no job ${e.id}`
 */
export class DurableJobNotFound extends Data.TaggedError("DurableJobNotFound")<{
  readonly id: string
}> {
  override get message(): string {
    return `no durable job with id "${this.id}"`
  }
}

/**
 * The job is in a state the operation does not apply to (retrying a job that did not fail, cancelling a finished
 * one, or acting on a job whose handler is not registered in this process).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { DurableJobState } from "hookbus"
 *
 * const line = (e: DurableJobState) => `${e.id} is ${e.status}: ${e.message}`
 */
export class DurableJobState extends Data.TaggedError("DurableJobState")<{
  readonly id: string
  readonly status: string
  readonly message: string
}> {}

/**
 * `bus.durable` was used where no durable runner is provided (`Durable.layerSqlite` or `Durable.layerPostgres` from
 * `hookbus/durable`).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { DurableUnavailable } from "hookbus"
 *
 * const line = (e: DurableUnavailable) => e.message
 */
export class DurableUnavailable extends Data.TaggedError("DurableUnavailable")<{
  /** What was asked: "list", "get", "counts", "retry" or "cancel". */
  readonly operation: string
}> {
  override get message(): string {
    return `bus.durable.${this.operation} needs a durable runner: provide Durable.layerSqlite or Durable.layerPostgres from hookbus/durable`
  }
}

/**
 * `JobSql` was used outside a `transactional: true` durable handler's attempt.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { DurableNotTransactional } from "hookbus"
 *
 * const line = (e: DurableNotTransactional) => e.message
 */
export class DurableNotTransactional extends Data.TaggedError("DurableNotTransactional")<{}> {
  override get message(): string {
    return "JobSql is available inside a transactional durable handler only: register it with { mode: \"durable\", transactional: true }"
  }
}

/**
 *  * A recurring schedule's cron expression or time zone is not valid, or the expression matches no date; nothing was
 * stored.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { DurableScheduleInvalid } from "hookbus/durable"
 *
 * const line = (e: DurableScheduleInvalid) => e.message // invalid cron "61 * * * *": Expected a value between 0 and 59
 */
export class DurableScheduleInvalid extends Data.TaggedError("DurableScheduleInvalid")<{
  readonly cron: string
  readonly tz: string
  readonly message: string
}> {}

/**
 * No recurring schedule has this id.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import type { DurableScheduleNotFound } from "hookbus/durable"
 *
 * const line = (e: DurableScheduleNotFound) => e.message
 */
export class DurableScheduleNotFound extends Data.TaggedError("DurableScheduleNotFound")<{
  readonly id: string
}> {
  override get message(): string {
    return `no durable schedule with id "${this.id}"`
  }
}
