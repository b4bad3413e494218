/**
 * Durable jobs as the bus shows them: their status, what `list` and `get` return, and `bus.durable`, the
 * operations on the jobs of the durable runner in the calling context. Types only: the runner itself is in
 * `hookbus/durable`, which the `hookbus` entry point does not load.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { DurableJobNotFound, DurableJobState, DurableStorageError, DurableUnavailable } from "./DurableErrors.ts"

/**
 * Where a job is: waiting for its first attempt, running, waiting to retry, failed for good, done, or cancelled.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { JobStatus } from "hookbus"
 *
 * const open: ReadonlyArray<JobStatus> = ["queued", "running", "retrying"]
 */
export type JobStatus = "queued" | "running" | "retrying" | "failed" | "done" | "cancelled"

/**
 * A durable job as `list` and `get` show it.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { JobInfo } from "hookbus"
 *
 * const line = (job: JobInfo) => `${job.id} ${job.status} ${job.attempts}/${job.maxAttempts} ${job.lastError ?? ""}`
 */
export interface JobInfo {
  readonly id: string
  readonly hook: string
  readonly source: string
  readonly status: JobStatus
  /** Attempts started in the current round. */
  readonly attempts: number
  readonly maxAttempts: number
  /** How many times `retry` restarted the job. */
  readonly round: number
  /** The last failed attempt's cause, rendered. */
  readonly lastError: string | undefined
  /** Epoch milliseconds. */
  readonly createdAt: number
  readonly updatedAt: number
  /** When the first attempt may start (later than `createdAt` for scheduled jobs). */
  readonly runAt: number
}

/**
 * The filter of `list`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { ListOptions } from "hookbus"
 *
 * const failed: ListOptions = { status: "failed", hook: "post.saved", limit: 20 }
 */
export interface ListOptions {
  readonly status?: JobStatus | ReadonlyArray<JobStatus> | undefined
  readonly hook?: string | undefined
  /** Default 100. */
  readonly limit?: number | undefined
}

/**
 * The operations on stored jobs: `bus.durable` (each fails with `DurableUnavailable` where no durable runner is
 * provided) and the `Durable` service of `hookbus/durable`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { HookBus } from "hookbus"
 *
 * const retryFailed = HookBus.use((bus) =>
 *   Effect.flatMap(bus.durable.list({ status: "failed" }), (jobs) => Effect.forEach(jobs, (job) => bus.durable.retry(job.id)))
 * )
 */
export interface DurableJobs<E = never> {
  /** Jobs, newest first. */
  readonly list: (options?: ListOptions) => Effect.Effect<ReadonlyArray<JobInfo>, DurableStorageError | E>
  readonly get: (id: string) => Effect.Effect<JobInfo, DurableJobNotFound | DurableStorageError | E>
  /** How many jobs are in each status. */
  readonly counts: Effect.Effect<Readonly<Record<JobStatus, number>>, DurableStorageError | E>
  /** Runs a failed or cancelled job again, from attempt 1 (a new round: a new workflow execution). */
  readonly retry: (id: string) => Effect.Effect<JobInfo, DurableJobNotFound | DurableJobState | DurableStorageError | E>
  /** Cancels a job not yet finished: it does not start again; an attempt in flight is interrupted. */
  readonly cancel: (
    id: string
  ) => Effect.Effect<JobInfo, DurableJobNotFound | DurableJobState | DurableStorageError | E>
}

/**
 * `bus.durable`: the jobs of the durable runner provided where the operation runs.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import type { BusDurableJobs } from "hookbus"
 *
 * const failedCount = (jobs: BusDurableJobs) => Effect.map(jobs.counts, (c) => c.failed)
 */
export type BusDurableJobs = DurableJobs<DurableUnavailable>
