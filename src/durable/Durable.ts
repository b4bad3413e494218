/**
 * Durable hook actions: `addAction(hook, handler, { mode: "durable", source })` handlers whose runs are jobs
 * persisted in SQL and executed by effect/workflow on effect/cluster, so they survive a crash or a deploy and can be
 * shared by several runner processes. `doAction` returns once each durable handler's job is stored; the job runs as a
 * workflow execution (its id derived from the dispatch, so the same dispatch submitted twice runs once), each attempt
 * an activity, with exponential backoff between attempts on the durable clock.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as ClusterWorkflowEngine from "effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as SingleRunner from "effect/cluster/SingleRunner"
import * as Context from "effect/Context"
import * as Digest from "effect/crypto/Digest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import * as Tracer from "effect/Tracer"
import * as Activity from "effect/workflow/Activity"
import * as DurableClock from "effect/workflow/DurableClock"
import * as Workflow from "effect/workflow/Workflow"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import {
  DurableArgsRejected,
  DurableJobNotFound,
  DurableJobState,
  DurableNotTransactional,
  DurableScheduleInvalid,
  DurableScheduleNotFound,
  DurableStorageError
} from "../domain/DurableErrors.ts"
import type { DurableJobs } from "../domain/DurableJob.ts"
import { errorMessage } from "../domain/errorMessage.ts"
import type { DurableRetry } from "../domain/Handler.ts"
import type { ActionHook, ArgsOf } from "../domain/Hook.ts"
import type { ActionFailed, RecursionLimit } from "../domain/HookErrors.ts"
import { RegistrationRejected } from "../domain/HookErrors.ts"
import { checkEffect, type InvalidOptions, PositiveInt } from "../domain/InvalidOptions.ts"
import { HookBus } from "../services/HookBus.ts"
import {
  CurrentDurableDispatch,
  CurrentDurableRegistrar,
  type DurableRegistrar,
  RequestedDurableDispatch
} from "../services/internal/DurableRegistrar.ts"
import * as Jobs from "./internal/Jobs.ts"
import * as NodeSqlite from "./internal/NodeSqlite.ts"
import * as Schedules from "./internal/Schedules.ts"

/**
 * What a durable dispatch persisted: the dispatch id and one job id per durable handler.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { DurableReceipt } from "hookbus/durable"
 *
 * const first = (receipt: DurableReceipt) => receipt.jobs[0]
 */
export interface DurableReceipt {
  readonly dispatchId: string
  readonly jobs: ReadonlyArray<string>
}

/**
 * The job an attempt belongs to, for handlers that make their side effects idempotent.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { JobContext } from "hookbus/durable"
 *
 * const key = (job: JobContext) => `${job.id}#${job.attempt}`
 */
export interface JobContext {
  readonly id: string
  readonly hook: string
  readonly source: string
  readonly attempt: number
}

/**
 * When a scheduled action runs: at an instant (epoch milliseconds or a `Date`) or after a delay.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { ScheduleAt } from "hookbus/durable"
 *
 * const inAnHour: ScheduleAt = { delay: "1 hour" }
 */
export type ScheduleAt = { readonly at: number | Date } | { readonly delay: Duration.Input }

/**
 * A recurring schedule: a cron expression (five fields, or six with seconds first) in a time zone. Each tick stores
 * one job per durable handler of the hook, with the dispatch id `<schedule id>#<tick as ISO time>`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Recurring } from "hookbus/durable"
 *
 * const nightly: Recurring = { cron: "0 3 * * *", id: "nightly-digest", tz: "Europe/Paris" }
 */
export interface Recurring {
  readonly cron: string
  /**
   * The schedule's stable id. Declaring the same id again (at every start, say) keeps the schedule as it is, or
   * replaces it when the hook, expression, zone or arguments differ. Default: the hook's name, the expression and
   * the encoded arguments.
   */
  readonly id?: string | undefined
  /** An IANA time zone (`"Europe/Paris"`) or an offset (`"+02:00"`). Default `"UTC"`. */
  readonly tz?: string | undefined
}

/**
 * A recurring schedule as `schedules` shows it.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { ScheduleInfo } from "hookbus/durable"
 *
 * const line = (s: ScheduleInfo) => `${s.id} ${s.cron} next ${new Date(s.nextTickAt).toISOString()}`
 */
export interface ScheduleInfo {
  readonly id: string
  readonly hook: string
  readonly cron: string
  readonly tz: string
  /** Epoch milliseconds. */
  readonly createdAt: number
  readonly updatedAt: number
  /** The latest tick that fired, if one did. */
  readonly lastTickAt: number | undefined
  /** The next tick after now. */
  readonly nextTickAt: number
}

/**
 * The durable runner's operations.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { Durable, type DurableShape } from "hookbus/durable"
 *
 * const failedCount = (durable: DurableShape) => Effect.map(durable.counts, (c) => c.failed)
 * const program = Durable.use(failedCount)
 */
export interface DurableShape extends DurableJobs {
  /** `bus.doAction`, returning the ids of the durable jobs it persisted. */
  readonly doAction: <H extends ActionHook<any>>(
    hook: H,
    ...args: ArgsOf<H>
  ) => Effect.Effect<DurableReceipt, ActionFailed | RecursionLimit, HookBus>
  /** `doAction` under a dispatch id of yours: the same id submitted again persists and runs nothing new. */
  readonly doActionWithId: <H extends ActionHook<any>>(
    dispatchId: string,
    hook: H,
    ...args: ArgsOf<H>
  ) => Effect.Effect<DurableReceipt, ActionFailed | RecursionLimit, HookBus>
  /**
   * With `{ at }` or `{ delay }`: persists a job for each durable handler of `hook` (registered in this process)
   * that starts then. With `{ cron }`: stores a recurring schedule (it survives restarts) whose every tick persists a
   * job for each durable handler of `hook`, once across all runners.
   */
  readonly scheduleAction: {
    <H extends ActionHook<any>>(
      hook: H,
      when: Recurring,
      ...args: ArgsOf<H>
    ): Effect.Effect<ScheduleInfo, DurableArgsRejected | DurableScheduleInvalid | DurableStorageError>
    <H extends ActionHook<any>>(
      hook: H,
      when: ScheduleAt,
      ...args: ArgsOf<H>
    ): Effect.Effect<DurableReceipt, DurableArgsRejected | DurableStorageError>
  }
  /** The recurring schedules, by id. */
  readonly schedules: (
    options?: { readonly hook?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<ScheduleInfo>, DurableStorageError>
  /** Removes a recurring schedule: no tick fires after it (jobs already stored stay). Returns what it was. */
  readonly unschedule: (id: string) => Effect.Effect<ScheduleInfo, DurableScheduleNotFound | DurableStorageError>
}

/**
 * The job the current attempt runs, inside a durable handler (`undefined` elsewhere).
 *
 * @since 0.1.0
 * @category references
 * @example
 * import { Effect } from "effect"
 * import { CurrentJob } from "hookbus/durable"
 *
 * const handler = (postId: string) =>
 *   Effect.flatMap(CurrentJob, (job) => Effect.log(`audit ${postId} in job ${job?.id}`))
 */
export const CurrentJob = Context.Reference<JobContext | undefined>("hookbus/durable/CurrentJob", {
  defaultValue: () => undefined
})

/** The store's client of the current transactional attempt. */
const CurrentJobSql = Context.Reference<SqlClient.SqlClient | undefined>("hookbus/durable/CurrentJobSql", {
  defaultValue: () => undefined
})

/**
 * The job store's `SqlClient`, inside a `transactional: true` durable handler: its queries run in the attempt's
 * transaction, so they commit with the job's done mark or roll back with a failed attempt. Elsewhere it fails with
 * `DurableNotTransactional`.
 *
 * @since 0.1.0
 * @category references
 * @example
 * import { Effect } from "effect"
 * import { JobSql } from "hookbus/durable"
 *
 * const handler = (postId: string) => Effect.flatMap(JobSql, (sql) => sql`INSERT INTO audit (post) VALUES (${postId})`)
 */
export const JobSql: Effect.Effect<SqlClient.SqlClient, DurableNotTransactional> = Effect.withFiber((fiber) => {
  const sql = Context.get(fiber.context, CurrentJobSql)
  return sql === undefined ? Effect.fail(new DurableNotTransactional()) : Effect.succeed(sql)
})

const jobsTotal = Metric.counter("hookbus_durable_jobs_total", {
  description: "Durable job transitions: queued (persisted), started (an attempt), retried, failed, done, cancelled",
  incremental: true
})
const count = (hook: string, event: string) => Metric.update(Metric.withAttributes(jobsTotal, { hook, event }), 1)

const jobsNow = Metric.gauge("hookbus_durable_jobs", {
  description: "Durable jobs in each status now, in the whole store (all runners), as the job table counts them"
})

/** Options of the durable layers. */
interface CommonOptions {
  /** How long `doAction` waits for the store before failing with `DurableStorageError`. Default 5 seconds. */
  readonly enqueueTimeout?: Duration.Input | undefined
  /** How often the runner counts the jobs per status for the `hookbus_durable_jobs` gauge. Default 5 seconds. */
  readonly metricsInterval?: Duration.Input | undefined
}

/**
 * Options of `Durable.layerSqlite`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { SqliteOptions } from "hookbus/durable"
 *
 * const options: SqliteOptions = { filename: "jobs.db", enqueueTimeout: "2 seconds" }
 */
export interface SqliteOptions extends CommonOptions {
  /** The database file (made if missing). */
  readonly filename: string
  /** How often the runner looks for due messages. Default 250 ms. */
  readonly pollInterval?: Duration.Input | undefined
}

/**
 * Options of `Durable.layerPostgres`: the server, and the address this runner listens on for the others.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { PostgresOptions } from "hookbus/durable"
 *
 * const options: PostgresOptions = { url: "postgres://postgres@127.0.0.1:5432/app", runner: { host: "127.0.0.1", port: 34431 } }
 */
export interface PostgresOptions extends CommonOptions {
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** Where other runners reach this one (shard ownership moves between runners over this socket). */
  readonly runner: { readonly host: string; readonly port: number }
  readonly pollInterval?: Duration.Input | undefined
  /**
   * How long a dead runner's shards stay locked before another takes them (refreshed every third of it). Default
   * effect/cluster's: 35 seconds, refreshed every 10.
   */
  readonly shardLockExpiration?: Duration.Input | undefined
}

/** A handler registered in this process. */
interface Registered {
  readonly hook: ActionHook<any>
  readonly source: string
  readonly workflow: Workflow.Any
  readonly argsJson: Schema.Codec<any, any, never, never>
  readonly maxAttempts: number
  /** Submits the workflow execution of a stored job (its args decoded from the row). */
  readonly resubmit: (row: Jobs.JobRow, round: number, runAt: number) => Effect.Effect<void, DurableStorageError>
  /** Starts the ticks of a recurring schedule for this handler from the first tick after `now` (idempotent). */
  readonly startTicks: (row: Schedules.ScheduleRow, now: number) => Effect.Effect<void>
  /** Persists one job (args already encoded). */
  readonly submit: (
    args: ReadonlyArray<unknown>,
    encoded: unknown,
    dispatchId: string,
    runAt: number | undefined,
    again?: boolean
  ) => Effect.Effect<string, DurableStorageError>
}

const render = (cause: Cause.Cause<unknown>): string => {
  const text = Cause.pretty(cause)
  return text.length > 4_000 ? `${text.slice(0, 4_000)}…` : text
}

/** A fresh dispatch id. */
const newId = Effect.sync(() => crypto.randomUUID())

const storageError = (operation: string) => (cause: unknown) =>
  new DurableStorageError({
    operation,
    message: cause instanceof Error ? cause.message : String(cause),
    cause
  })

/** The JSON codec of a hook's arguments (what a job row and a schedule row store); undefined for an untyped hook. */
const argsCodecOf = (hook: ActionHook<any>) => {
  if (hook.schemas.args === undefined) return undefined
  const schema = Schema.Tuple(hook.schemas.args) as unknown as Schema.Codec<
    ReadonlyArray<unknown>,
    ReadonlyArray<unknown>,
    never,
    never
  >
  return { schema, json: Schema.toCodecJson(schema) as unknown as Schema.Codec<any, any, never, never> }
}

/** A hook's arguments encoded for storage, or `DurableArgsRejected` naming the hook and who stores them. */
const encodeArgs = (
  json: Schema.Codec<any, any, never, never>,
  hook: string,
  source: string,
  args: ReadonlyArray<unknown>
): Effect.Effect<unknown, DurableArgsRejected> =>
  Schema.encodeUnknownEffect(json)(args).pipe(
    Effect.mapError((issue) => new DurableArgsRejected({ hook, source, message: issue.message }))
  )

/** Storage calls that fire a tick: retried until the store answers, as a lost tick would end its schedule. */
const untilStored = Schedule.min([Schedule.exponential("200 millis", 1.5), Schedule.spaced("1 minute")])

/** A retry policy with every default filled in. */
interface RetryPolicy {
  readonly maxAttempts: number
  readonly factor: number
  readonly initialDelay: Duration.Input
  readonly maxDelay: Duration.Input
}

const retryOf = (raw: unknown): { readonly value: RetryPolicy } | { readonly problem: string } => {
  const r = (raw ?? {}) as DurableRetry
  if (typeof r !== "object") return { problem: "retry must be an object" }
  const maxAttempts = r.maxAttempts ?? 3
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1_000) {
    return { problem: `retry.maxAttempts must be an integer from 1 to 1000, got ${String(r.maxAttempts)}` }
  }
  const factor = r.factor ?? 2
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
    return { problem: `retry.factor must be a finite number >= 1, got ${String(r.factor)}` }
  }
  for (const key of ["initialDelay", "maxDelay"] as const) {
    if (r[key] === undefined) continue
    const d = Duration.fromInput(r[key])
    if (d._tag === "None" || !Duration.isFinite(d.value)) {
      return { problem: `retry.${key} must be a finite duration, got ${String(r[key])}` }
    }
  }
  return {
    value: {
      maxAttempts,
      factor,
      initialDelay: r.initialDelay ?? "1 second",
      maxDelay: r.maxDelay ?? "10 minutes"
    }
  }
}

/** The wait after the n-th failed attempt. */
const backoff = (retry: RetryPolicy, attempt: number): Duration.Duration => {
  const initial = Duration.toMillis(Duration.fromInputUnsafe(retry.initialDelay))
  const max = Duration.toMillis(Duration.fromInputUnsafe(retry.maxDelay))
  return Duration.millis(Math.min(max, initial * retry.factor ** (attempt - 1)))
}

const makeService = Effect.fnUntraced(function*(options: CommonOptions) {
  const sql = yield* SqlClient.SqlClient
  const engine = yield* WorkflowEngine.WorkflowEngine
  const jobs = Jobs.make(sql)
  const schedules = Schedules.make(sql)
  yield* Effect.andThen(jobs.migrate, schedules.migrate).pipe(Effect.mapError(storageError("connect")))
  // Both checked by the layer's options schema.
  const enqueueTimeout = Duration.fromInputUnsafe(options.enqueueTimeout ?? "5 seconds")
  const metricsInterval = Duration.fromInputUnsafe(options.metricsInterval ?? "5 seconds")
  // The gauge of jobs per status: counted from the store at start and every metricsInterval, not on each
  // transition (a COUNT per transition would cost more than the transition). A store that does not answer leaves
  // the last values.
  yield* Effect.forkScoped(
    jobs.counts.pipe(
      Effect.flatMap((counts) =>
        Effect.forEach(
          Jobs.statuses,
          (status) => Metric.update(Metric.withAttributes(jobsNow, { status }), counts[status]),
          { discard: true }
        )
      ),
      Effect.catchCause((cause) => Effect.logDebug("durable: counting jobs for the metrics failed", cause)),
      Effect.repeat(Schedule.spaced(metricsInterval))
    )
  )
  const registered = new Map<string, Registered>()
  const provideEngine = Effect.provideService(WorkflowEngine.WorkflowEngine, engine)

  const guard = <A, E>(operation: string, effect: Effect.Effect<A, E>) =>
    effect.pipe(
      Effect.catchDefect((defect) => Effect.fail(storageError(operation)(defect))),
      Effect.timeoutOrElse({
        duration: enqueueTimeout,
        orElse: () =>
          Effect.fail(
            new DurableStorageError({
              operation,
              message: `the job store did not answer within ${Duration.format(enqueueTimeout)}`
            })
          )
      })
    )

  const register: DurableRegistrar["register"] = (hook, handler, o) =>
    Effect.gen(function*() {
      const reject = (message: string) =>
        Effect.fail(new RegistrationRejected({ hook: hook.name, reason: "InvalidOption", message }))
      const retry = retryOf(o.retry)
      if ("problem" in retry) return yield* reject(retry.problem)
      const policy = retry.value
      const timeout = o.timeout === undefined ? undefined : Duration.fromInputUnsafe(o.timeout as Duration.Input)
      const name = `hookbus/${hook.name}/${o.source}`
      if (registered.has(name)) {
        return yield* reject(`a durable handler with source "${o.source}" is already registered on "${hook.name}"`)
      }
      const { json: argsJson, schema: argsSchema } = argsCodecOf(hook)!
      const workflow = Workflow.make(name, {
        payload: {
          job: Schema.String,
          round: Schema.Number,
          runAt: Schema.Number,
          args: argsSchema,
          traceId: Schema.optional(Schema.String),
          spanId: Schema.optional(Schema.String)
        },
        idempotencyKey: (p) => `${p.job}#${p.round}`
      })
      // The handler's services: those of the context it was registered from.
      const context = yield* Effect.context<never>()

      const attempt = (p: typeof workflow.payloadSchema.Type, n: number) =>
        Activity.make({
          name: `attempt-${n}`,
          error: Schema.String,
          execute: Effect.gen(function*() {
            // Done (or cancelled) in this round already: a crash lost the attempt's stored result after the job's
            // row was marked, so the replay must not run the handler again.
            const row = yield* jobs.get(p.job).pipe(Effect.orDie)
            if (row !== undefined && row.round === p.round && (row.status === "done" || row.status === "cancelled")) {
              return
            }
            yield* jobs.started(p.job, n, yield* Clock.currentTimeMillis).pipe(Effect.orDie)
            yield* count(hook.name, "started")
            let run = (handler(...(p.args as Array<unknown>)) as Effect.Effect<unknown, unknown>).pipe(
              Effect.provideContext(context),
              Effect.provideService(CurrentJob, { id: p.job, hook: hook.name, source: o.source, attempt: n })
            )
            if (timeout !== undefined) run = Effect.timeout(run, timeout)
            const markDone = Effect.flatMap(Clock.currentTimeMillis, (now) => jobs.done(p.job, now)).pipe(Effect.orDie)
            // Transactional: the handler's writes and the done mark commit together, or neither does.
            const exit = yield* Effect.exit(
              o.transactional
                ? sql.withTransaction(Effect.andThen(Effect.provideService(run, CurrentJobSql, sql), markDone))
                : Effect.andThen(run, markDone)
            )
            const now = yield* Clock.currentTimeMillis
            if (Exit.isSuccess(exit)) {
              yield* count(hook.name, "done")
              return
            }
            if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
            const error = render(exit.cause)
            const final = n >= policy.maxAttempts
            yield* jobs.attemptFailed(p.job, error, final, now).pipe(Effect.orDie)
            yield* count(hook.name, final ? "failed" : "retried")
            return yield* Effect.fail(error)
          }).pipe(
            Effect.withSpan("hookbus.durable.attempt", {
              attributes: { "hook.name": hook.name, "hook.source": o.source, "job.id": p.job, "job.attempt": n },
              links: p.traceId === undefined || p.spanId === undefined
                ? []
                : [{ span: Tracer.externalSpan({ traceId: p.traceId, spanId: p.spanId }), attributes: {} }]
            }, { captureStackTrace: false })
          )
        })

      yield* engine.register(workflow, (p) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          if (p.runAt > now) yield* DurableClock.sleep({ name: "scheduled", duration: Duration.millis(p.runAt - now) })
          for (let n = 1; n <= policy.maxAttempts; n++) {
            const exit = yield* Effect.exit(attempt(p, n))
            if (Exit.isSuccess(exit)) return
            if (n < policy.maxAttempts) {
              yield* DurableClock.sleep({ name: `backoff-${n}`, duration: backoff(policy, n) })
            }
          }
        }))

      const submit: Registered["submit"] = (args, encoded, dispatchId, runAt, again = false) =>
        Effect.gen(function*() {
          const job = `${hook.name}/${o.source}/${dispatchId}`
          const now = yield* Clock.currentTimeMillis
          const span = yield* Effect.currentSpan.pipe(Effect.orElseSucceed(() => undefined))
          const inserted = yield* jobs.insert({
            id: job,
            hook: hook.name,
            source: o.source,
            status: "queued",
            attempts: 0,
            maxAttempts: policy.maxAttempts,
            round: 0,
            createdAt: now,
            runAt: runAt ?? now,
            args: JSON.stringify(encoded)
          })
          // The row's primary key is what makes a dispatch id run once: a second submission (even a concurrent
          // one) finds the row and submits nothing. The engine keeps one execution per id too, but two concurrent
          // submissions of one execution were seen to run it twice on Postgres. `again` (a tick firing a second
          // time, after a timeout or a crash between the row and the message) submits a job still queued again:
          // one execution at a time fires a tick, so this is never concurrent.
          if (!inserted && !(again && (yield* jobs.get(job))?.status === "queued")) return job
          // Detached: a job stored from inside a workflow (a tick, a durable handler) is not that workflow's child.
          yield* workflow.execute({
            job,
            round: 0,
            runAt: runAt ?? now,
            args: args as any,
            ...(span === undefined ? {} : { traceId: span.traceId, spanId: span.spanId })
          }, { discard: true, detached: true }).pipe(provideEngine)
          if (inserted) yield* count(hook.name, "queued")
          return job
        }).pipe(
          Effect.mapError(storageError("enqueue")),
          Effect.withSpan("hookbus.durable.enqueue", {
            attributes: { "hook.name": hook.name, "hook.source": o.source }
          }, { captureStackTrace: false }),
          (effect) => guard("enqueue", effect)
        )

      const resubmit: Registered["resubmit"] = (row, round, runAt) =>
        Schema.decodeUnknownEffect(argsJson)(JSON.parse(row.args)).pipe(
          Effect.flatMap((args) => workflow.execute({ job: row.id, round, runAt, args }, { discard: true })),
          provideEngine,
          Effect.mapError(storageError("resubmit")),
          Effect.asVoid
        )

      // A recurring schedule's ticks for this handler: one execution per tick that sleeps on the durable clock until
      // the tick, stores the tick's job (its id from the schedule and the tick: the job table's primary key makes a
      // tick fire once, whichever runner or replay gets there), then submits the next tick's execution. Each
      // journal stays a few entries long; a schedule removed or replaced ends its waiting tick when it wakes.
      const ticks = Workflow.make(`hookbus-cron/${hook.name}/${o.source}`, {
        payload: { schedule: Schema.String, generation: Schema.String, tick: Schema.Number },
        idempotencyKey: (p) => `${p.schedule}#${p.generation}#${p.tick}`
      })
      const fire = (p: typeof ticks.payloadSchema.Type) =>
        Effect.gen(function*() {
          const row = yield* schedules.get(p.schedule).pipe(Effect.mapError(storageError("schedule")))
          if (row === undefined || row.generation !== p.generation || row.hook !== hook.name) return null
          const cron = Schedules.parse(row.cron, row.tz)
          if (Result.isFailure(cron)) return null
          const encoded = JSON.parse(row.args) as unknown
          const args = yield* Effect.result(Schema.decodeUnknownEffect(argsJson)(encoded))
          if (Result.isFailure(args)) {
            yield* Effect.logWarning(
              `durable: schedule "${row.id}" skips a tick: its arguments no longer decode with "${hook.name}"'s schemas`,
              args.failure.message
            )
          } else {
            yield* submit(args.success, encoded, `${row.id}#${new Date(p.tick).toISOString()}`, p.tick, true)
          }
          yield* schedules.ticked(row.id, row.generation, p.tick).pipe(Effect.mapError(storageError("schedule")))
          return Schedules.nextTick(cron.success, Math.max(p.tick, yield* Clock.currentTimeMillis))
        }).pipe(
          Effect.tapError((error) =>
            Effect.logWarning("durable: a schedule tick could not be stored, retrying", error)
          ),
          Effect.retry(untilStored),
          Effect.orDie
        )
      yield* engine.register(ticks, (p) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          if (p.tick > now) yield* DurableClock.sleep({ name: "tick", duration: Duration.millis(p.tick - now) })
          const next = yield* Activity.make({ name: "fire", success: Schema.NullOr(Schema.Number), execute: fire(p) })
          if (next !== null) yield* ticks.execute({ ...p, tick: next }, { discard: true, detached: true })
        }))
      const startTicks: Registered["startTicks"] = (row, now) => {
        const cron = Schedules.parse(row.cron, row.tz)
        return Result.isFailure(cron) ? Effect.void : ticks.execute(
          { schedule: row.id, generation: row.generation, tick: Schedules.nextTick(cron.success, now) },
          { discard: true, detached: true }
        ).pipe(provideEngine, Effect.asVoid)
      }

      const entry: Registered = {
        hook,
        source: o.source,
        workflow,
        argsJson,
        maxAttempts: policy.maxAttempts,
        startTicks,
        submit,
        resubmit
      }
      registered.set(name, entry)
      yield* Effect.addFinalizer(() => Effect.sync(() => registered.delete(name)))

      // Jobs stored before a crash whose workflow message may not have been (queued, untouched for a minute):
      // submitted again (the engine keeps one execution per id, so a job already delivered is not run twice).
      yield* Effect.forkScoped(
        Effect.gen(function*() {
          const stale = (yield* Clock.currentTimeMillis) - 60_000
          for (const row of yield* jobs.queuedOf(hook.name, o.source, stale)) yield* resubmit(row, row.round, row.runAt)
        }).pipe(Effect.catchCause((cause) => Effect.logWarning("durable: resubmitting queued jobs failed", cause)))
      )
      // The stored schedules of this hook tick for this handler from now on (a tick already waiting is the same
      // execution, so this starts nothing twice).
      yield* Effect.forkScoped(
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          for (const row of yield* schedules.list(hook.name)) yield* startTicks(row, now)
        }).pipe(Effect.catchCause((cause) => Effect.logWarning("durable: starting schedules failed", cause)))
      )

      return (...args: Array<unknown>) =>
        Effect.withFiber((fiber) => {
          const dispatch = Context.get(fiber.context, CurrentDurableDispatch)
          return encodeArgs(argsJson, hook.name, o.source, args).pipe(
            Effect.flatMap((encoded) =>
              Effect.flatMap(
                dispatch === undefined ? newId : Effect.succeed(dispatch.id),
                (id) => submit(args, encoded, id, undefined)
              )
            ),
            Effect.tap((job) => Effect.sync(() => dispatch?.jobs.push(job)))
          )
        })
    }).pipe(Effect.provideService(WorkflowEngine.WorkflowEngine, engine)) as Effect.Effect<
      any,
      RegistrationRejected,
      Scope.Scope
    >

  const doActionWithId: DurableShape["doActionWithId"] = (dispatchId, hook, ...args) =>
    Effect.map(
      Effect.provideService(
        HookBus.use((bus) => bus.doAction(hook, ...args)),
        RequestedDurableDispatch,
        { id: dispatchId, hook: hook.name, claimed: false }
      ),
      (ids): DurableReceipt => ({ dispatchId, jobs: ids })
    )

  const toInfo = Jobs.toInfo

  const find = (id: string, operation: string) =>
    jobs.get(id).pipe(
      Effect.mapError(storageError(operation)),
      Effect.flatMap((row) => row === undefined ? Effect.fail(new DurableJobNotFound({ id })) : Effect.succeed(row))
    )

  const handlerOf = (row: Jobs.JobRow, operation: string) => {
    const entry = registered.get(`hookbus/${row.hook}/${row.source}`)
    return entry === undefined
      ? Effect.fail(
        new DurableJobState({
          id: row.id,
          status: row.status,
          message:
            `cannot ${operation}: no durable handler "${row.source}" on "${row.hook}" is registered in this process`
        })
      )
      : Effect.succeed(entry)
  }

  const scheduleRecurring = (hook: ActionHook<any>, when: Recurring, args: ReadonlyArray<unknown>) =>
    Effect.gen(function*() {
      const tz = when.tz ?? "UTC"
      const expression = typeof when.cron === "string" ? when.cron.trim().split(/\s+/).join(" ") : when.cron
      yield* Effect.fromResult(Schedules.parse(expression, tz))
      const codec = argsCodecOf(hook)
      if (codec === undefined) {
        return yield* new DurableArgsRejected({
          hook: hook.name,
          source: "schedule",
          message: `"${hook.name}" defines no args schemas, so its arguments cannot be stored`
        })
      }
      const encoded = yield* encodeArgs(codec.json, hook.name, "schedule", args)
      const id = when.id ?? `${hook.name} ${expression}${args.length === 0 ? "" : ` ${JSON.stringify(encoded)}`}`
      if (typeof id !== "string" || id.trim().length === 0) {
        return yield* new DurableScheduleInvalid({
          cron: expression,
          tz,
          message: `the schedule id must be a non-empty string, got ${JSON.stringify(id)}`
        })
      }
      const now = yield* Clock.currentTimeMillis
      const row = yield* guard(
        "schedule",
        schedules.put({
          id,
          hook: hook.name,
          cron: expression,
          tz,
          args: JSON.stringify(encoded),
          generation: crypto.randomUUID()
        }, now).pipe(Effect.mapError(storageError("schedule")))
      )
      for (const entry of registered.values()) {
        if (entry.hook.name === hook.name) yield* guard("schedule", entry.startTicks(row, now))
      }
      return Schedules.toInfo(row, now)
    })

  const scheduleOnce = (hook: ActionHook<any>, when: ScheduleAt, args: ReadonlyArray<unknown>) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const runAt = "at" in when
        ? (typeof when.at === "number" ? when.at : when.at.getTime())
        : now + Duration.toMillis(Duration.fromInputUnsafe(when.delay))
      const dispatchId = yield* newId
      const out: Array<string> = []
      for (const entry of registered.values()) {
        if (entry.hook.name !== hook.name) continue
        const encoded = yield* encodeArgs(entry.argsJson, hook.name, entry.source, args)
        out.push(yield* entry.submit(args, encoded, dispatchId, runAt))
      }
      return { dispatchId, jobs: out } satisfies DurableReceipt
    })

  const service: DurableShape = {
    doAction: (hook, ...args) =>
      Effect.flatMap(newId, (id) => doActionWithId(id, hook, ...(args as ArgsOf<typeof hook>))),
    doActionWithId,
    scheduleAction: ((hook: ActionHook<any>, when: Recurring | ScheduleAt, ...args: ReadonlyArray<unknown>) =>
      "cron" in when ? scheduleRecurring(hook, when, args) : scheduleOnce(hook, when, args)) as DurableShape[
        "scheduleAction"
      ],
    schedules: (o) =>
      Effect.flatMap(
        schedules.list(o?.hook).pipe(Effect.mapError(storageError("schedules"))),
        (rows) =>
          Effect.map(Clock.currentTimeMillis, (now) => rows.map((row) => Schedules.toInfo(row, now)))
      ),
    unschedule: (id) =>
      Effect.gen(function*() {
        const row = yield* schedules.get(id).pipe(Effect.mapError(storageError("unschedule")))
        if (row === undefined) return yield* new DurableScheduleNotFound({ id })
        const removed = yield* schedules.remove(id).pipe(Effect.mapError(storageError("unschedule")))
        if (!removed) return yield* new DurableScheduleNotFound({ id })
        return Schedules.toInfo(row, yield* Clock.currentTimeMillis)
      }),
    list: (o) =>
      jobs.list({
        ...(o?.status === undefined ? {} : { statuses: typeof o.status === "string" ? [o.status] : o.status }),
        ...(o?.hook === undefined ? {} : { hook: o.hook }),
        limit: o?.limit ?? 100
      }).pipe(Effect.map((rows) => rows.map(toInfo)), Effect.mapError(storageError("list"))),
    get: (id) => Effect.map(find(id, "get"), toInfo),
    counts: jobs.counts.pipe(Effect.mapError(storageError("counts"))),
    retry: (id) =>
      Effect.gen(function*() {
        const row = yield* find(id, "retry")
        if (row.status !== "failed" && row.status !== "cancelled") {
          return yield* new DurableJobState({ id, status: row.status, message: "only failed or cancelled jobs retry" })
        }
        const entry = yield* handlerOf(row, "retry")
        const now = yield* Clock.currentTimeMillis
        const round = row.round + 1
        const moved = yield* jobs.requeue(id, round, now).pipe(Effect.mapError(storageError("retry")))
        if (!moved) return yield* new DurableJobState({ id, status: row.status, message: "changed while retrying" })
        yield* guard("retry", entry.resubmit(row, round, now))
        yield* count(row.hook, "queued")
        return toInfo(yield* find(id, "retry"))
      }),
    cancel: (id) =>
      Effect.gen(function*() {
        const row = yield* find(id, "cancel")
        const now = yield* Clock.currentTimeMillis
        const cancelled = yield* jobs.cancel(id, now).pipe(Effect.mapError(storageError("cancel")))
        if (!cancelled) return yield* new DurableJobState({ id, status: row.status, message: "the job already ended" })
        const name = `hookbus/${row.hook}/${row.source}`
        // The execution id depends on the workflow's name and idempotency key only, not on the payload's schema.
        const executionId = yield* Workflow.make(name, {
          payload: { job: Schema.String, round: Schema.Number },
          idempotencyKey: (p) => `${p.job}#${p.round}`
        }).executionId({ job: id, round: row.round })
        const workflow = registered.get(name)?.workflow ??
          Workflow.make(name, { payload: {}, idempotencyKey: () => id })
        yield* guard("cancel", engine.interrupt(workflow, executionId))
        yield* count(row.hook, "cancelled")
        return toInfo(yield* find(id, "cancel"))
      })
  }
  // Requests of `hookbus jobs --retry/--cancel` (it runs no handler, so it asks through the job row): every
  // second, this runner takes those of jobs whose handler it registered and applies them as `retry`/`cancel` do
  // here, reporting an error on the row. Taking a request is a conditional update, so one runner applies it.
  const applyRequests = Effect.gen(function*() {
    for (const row of yield* jobs.requested) {
      if (!registered.has(`hookbus/${row.hook}/${row.source}`)) continue
      const request = row.request as Jobs.Request
      if (!(yield* jobs.claim(row.id, request, yield* Clock.currentTimeMillis))) continue
      const exit = yield* Effect.exit(request === "retry" ? service.retry(row.id) : service.cancel(row.id))
      yield* jobs.settle(row.id, Exit.isSuccess(exit) ? undefined : errorMessage(Cause.squash(exit.cause)))
    }
  })
  yield* Effect.forkScoped(
    applyRequests.pipe(
      Effect.catchCause((cause) => Effect.logDebug("durable: applying hookbus jobs requests failed", cause)),
      Effect.repeat(Schedule.spaced("1 second"))
    )
  )

  return { service, registrar: { register, jobs: service } satisfies DurableRegistrar }
})

/** A finite, positive duration (a poll or refresh interval, a timeout). */
const PositiveDuration = Schema.Unknown.check(
  Schema.makeFilter((u) => {
    const d = Duration.fromInput(u as Duration.Input)
    return (Option.isSome(d) && Duration.isFinite(d.value) && Duration.toMillis(d.value) > 0) ||
      `must be a finite, positive duration ("5 seconds", a number of milliseconds or a Duration)`
  })
).pipe(Schema.decodeTo(Schema.declare((u): u is Duration.Input => u !== undefined)))

const commonOptions = {
  enqueueTimeout: Schema.optional(PositiveDuration),
  metricsInterval: Schema.optional(PositiveDuration),
  pollInterval: Schema.optional(PositiveDuration)
}
const SqliteOptionsSchema = Schema.Struct({ filename: Schema.String, ...commonOptions })
const PostgresOptionsSchema = Schema.Struct({
  url: Schema.optional(Schema.String),
  host: Schema.optional(Schema.String),
  port: Schema.optional(PositiveInt),
  database: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  password: Schema.optional(Schema.String),
  runner: Schema.Struct({ host: Schema.String, port: PositiveInt }),
  shardLockExpiration: Schema.optional(PositiveDuration),
  ...commonOptions
})

/** `layer()`, once `options` pass `schema`; otherwise a layer failing with `InvalidOptions` naming the option. */
const checked = <A>(
  of: string,
  schema: Schema.Decoder<unknown>,
  options: unknown,
  layer: () => Layer.Layer<A, DurableStorageError>
): Layer.Layer<A, DurableStorageError | InvalidOptions> =>
  Layer.unwrap(Effect.map(checkEffect(of, schema, options), layer))

/** A layer that failed to build fails with `DurableStorageError` "connect", whatever the cause. */
const failToConnect = <E, R>(layer: Layer.Layer<Durable, E, R>): Layer.Layer<Durable, DurableStorageError, R> =>
  Layer.catchCause(layer, (cause) => Layer.effect(Durable, Effect.fail(storageError("connect")(Cause.squash(cause)))))

const fromEngine = (options: CommonOptions) =>
  Layer.effectContext(
    Effect.map(makeService(options), ({ registrar, service }) =>
      Context.make(Durable, service).pipe(Context.add(CurrentDurableRegistrar, registrar)))
  )

/**
 * The durable runner of this process: persists jobs and runs those its shards own. Provide it next to
 * `HookBus.layer`; `addAction(..., { mode: "durable" })` then registers durable handlers.
 *
 * @since 0.1.0
 * @category services
 * @example
 * import { Effect, Layer, Schema } from "effect"
 * import { Hook, HookBus } from "hookbus"
 * import { Durable } from "hookbus/durable"
 *
 * const PostSaved = Hook.action("post.saved", { args: [Schema.String] })
 * const program = Effect.gen(function*() {
 *   const bus = yield* HookBus
 *   yield* bus.addAction(PostSaved, (id) => Effect.log(`audit ${id}`), { mode: "durable", source: "audit" })
 *   const durable = yield* Durable
 *   const receipt = yield* durable.doAction(PostSaved, "post-1")
 *   return receipt.jobs
 * })
 * const layer = Layer.mergeAll(HookBus.layer, Durable.layerSqlite({ filename: "jobs.db" }))
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layer)))
 */
export class Durable extends Context.Service<Durable, DurableShape>()("hookbus/Durable") {
  /**
   * One process, a SQLite file (WAL), no server: effect/cluster's `SingleRunner` with its SQL message storage over
   * `node:sqlite`.
   */
  static readonly layerSqlite = (options: SqliteOptions): Layer.Layer<Durable, DurableStorageError | InvalidOptions> =>
    checked("Durable.layerSqlite", SqliteOptionsSchema, options, () =>
      fromEngine(options).pipe(
        Layer.provide(
          ClusterWorkflowEngine.layer.pipe(
            Layer.provideMerge(
              SingleRunner.layer({
                runnerStorage: "sql",
                shardingConfig: { entityMessagePollInterval: options.pollInterval ?? "250 millis" }
              })
            ),
            Layer.provide(Digest.layerWebCrypto)
          )
        ),
        Layer.provide(NodeSqlite.layer({ filename: options.filename })),
        failToConnect
      ))

  /**
   * Several runner processes on one Postgres (`@effect/sql-pg`, loaded only here), sharing the work by shards:
   * each listens on `runner` for the others (effect/cluster's socket runner).
   */
  static readonly layerPostgres = (
    options: PostgresOptions
  ): Layer.Layer<Durable, DurableStorageError | InvalidOptions> =>
    checked("Durable.layerPostgres", PostgresOptionsSchema, options, () =>
      Layer.unwrap(
        Effect.tryPromise({
          try: () =>
            Promise.all([import("@effect/sql-pg/PgClient"), import("@effect/platform-node/NodeClusterSocket")]),
          catch: storageError("connect")
        }).pipe(
          Effect.map(([PgClient, NodeClusterSocket]) =>
            fromEngine(options).pipe(
              Layer.provide(
                ClusterWorkflowEngine.layer.pipe(
                  Layer.provideMerge(NodeClusterSocket.layer({
                    storage: "sql",
                    shardingConfig: {
                      runnerAddress: Option.some(RunnerAddress.make(options.runner.host, options.runner.port)),
                      entityMessagePollInterval: options.pollInterval ?? "250 millis",
                      refreshAssignmentsInterval: "1 second",
                      // A lock is refreshed three times within its expiration, or a busy runner loses shards it is
                      // still working on and another runs the same messages.
                      ...(options.shardLockExpiration === undefined ? {} : {
                        shardLockExpiration: options.shardLockExpiration,
                        shardLockRefreshInterval: Duration.divideUnsafe(
                          Duration.fromInputUnsafe(options.shardLockExpiration),
                          3
                        )
                      })
                    }
                  }))
                )
              ),
              Layer.provide(PgClient.layer({
                ...(options.url === undefined ? {} : { url: Redacted.make(options.url) }),
                ...(options.host === undefined ? {} : { host: options.host }),
                ...(options.port === undefined ? {} : { port: options.port }),
                ...(options.database === undefined ? {} : { database: options.database }),
                ...(options.username === undefined ? {} : { username: options.username }),
                ...(options.password === undefined ? {} : { password: Redacted.make(options.password) }),
                connectTimeout: options.enqueueTimeout ?? "5 seconds"
              }))
            )
          )
        )
      ).pipe(failToConnect))
}
