/**
 * The job index: one row per durable job (what `list`, `retry`, `cancel` and `hookbus jobs` read), next to the
 * cluster's own message tables. The row is written when a job is persisted and updated by each attempt; delivery
 * itself (the mailbox, shard ownership, replay) is effect/cluster's, from its `cluster_*` tables.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { JobInfo, JobStatus } from "../../domain/DurableJob.ts"

export type { JobStatus }

/** The statuses, in the order `hookbus jobs` shows them. */
export const statuses: ReadonlyArray<JobStatus> = ["queued", "running", "retrying", "failed", "done", "cancelled"]

/** A job as stored: what `list` shows, its encoded arguments, and a request of `hookbus jobs` if one is open. */
export interface JobRow extends JobInfo {
  readonly args: string
  /** `retry` or `cancel` (asked by `hookbus jobs`), `applying` (a runner took it), or none. */
  readonly request: Request | "applying" | undefined
  readonly requestAt: number | undefined
  /** Why the last request failed, as the runner that took it reported. */
  readonly requestError: string | undefined
}

/** What `hookbus jobs --retry/--cancel` asks the runners to do. */
export type Request = "retry" | "cancel"

/** The job a row shows, without what only the store needs. */
export const toInfo = ({ args: _, request: __, requestAt: ___, requestError: ____, ...info }: JobRow): JobInfo => info

const table = "hookbus_durable_jobs"

const toRow = (r: any): JobRow => ({
  id: String(r.id),
  hook: String(r.hook),
  source: String(r.source),
  status: r.status as JobStatus,
  attempts: Number(r.attempts),
  maxAttempts: Number(r.max_attempts),
  round: Number(r.round),
  lastError: r.last_error === null || r.last_error === undefined ? undefined : String(r.last_error),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  runAt: Number(r.run_at),
  args: String(r.args),
  request: r.request === null || r.request === undefined ? undefined : r.request,
  requestAt: r.request_at === null || r.request_at === undefined ? undefined : Number(r.request_at),
  requestError: r.request_error === null || r.request_error === undefined ? undefined : String(r.request_error)
})

/** A request taken by a runner that has not reported within this long is stale: a new request may replace it. */
const staleRequestMs = 60_000

/** The job table's statements over one client. */
export const make = (sql: SqlClient.SqlClient) => {
  const t = sql(table)
  const migrate: Effect.Effect<void, SqlError> = Effect.gen(function*() {
    yield* sql`CREATE TABLE IF NOT EXISTS ${t} (
      id TEXT PRIMARY KEY,
      hook TEXT NOT NULL,
      source TEXT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      max_attempts INTEGER NOT NULL,
      round INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      run_at BIGINT NOT NULL,
      args TEXT NOT NULL,
      request TEXT,
      request_at BIGINT,
      request_error TEXT
    )`
    // Tables made before requests existed get their columns (each ALTER fails harmlessly if a concurrent runner
    // added the column first; the SELECT then finds it).
    const hasRequests = yield* Effect.isSuccess(sql`SELECT request, request_at, request_error FROM ${t} WHERE 1 = 0`)
    if (!hasRequests) {
      yield* Effect.ignore(sql`ALTER TABLE ${t} ADD COLUMN request TEXT`)
      yield* Effect.ignore(sql`ALTER TABLE ${t} ADD COLUMN request_at BIGINT`)
      yield* Effect.ignore(sql`ALTER TABLE ${t} ADD COLUMN request_error TEXT`)
      yield* sql`SELECT request, request_at, request_error FROM ${t} WHERE 1 = 0`
    }
    yield* sql`CREATE INDEX IF NOT EXISTS hookbus_durable_jobs_status ON ${t} (status, hook, source)`
    yield* sql`CREATE INDEX IF NOT EXISTS hookbus_durable_jobs_request ON ${t} (request) WHERE request IS NOT NULL`
  }).pipe(
    // Two runners starting on one Postgres race on CREATE ... IF NOT EXISTS (a unique violation in pg_type): the
    // loser's second try finds the table.
    Effect.retry({ times: 2 })
  )
  return {
    migrate,
    /** Stores a new job; false when the id is already stored (the same dispatch submitted again). */
    insert: (row: Omit<JobRow, "lastError" | "updatedAt" | "request" | "requestAt" | "requestError">) =>
      Effect.map(
        sql`INSERT INTO ${t} (id, hook, source, status, attempts, max_attempts, round, created_at, updated_at, run_at, args)
          VALUES (${row.id}, ${row.hook}, ${row.source}, ${row.status}, ${row.attempts}, ${row.maxAttempts}, ${row.round},
            ${row.createdAt}, ${row.createdAt}, ${row.runAt}, ${row.args})
          ON CONFLICT (id) DO NOTHING RETURNING id`,
        (rows) => rows.length > 0
      ),
    get: (id: string) =>
      Effect.map(sql`SELECT * FROM ${t} WHERE id = ${id}`, (rows) => rows.length === 0 ? undefined : toRow(rows[0])),
    list: (filter: { readonly statuses?: ReadonlyArray<JobStatus>; readonly hook?: string; readonly limit: number }) =>
      Effect.map(
        sql`SELECT * FROM ${t} WHERE ${
          sql.and([
            ...(filter.statuses === undefined || filter.statuses.length === 0
              ? []
              : [sql.in("status", filter.statuses)]),
            ...(filter.hook === undefined ? [] : [sql`hook = ${filter.hook}`])
          ])
        } ORDER BY created_at DESC, id LIMIT ${filter.limit}`,
        (rows) => rows.map(toRow)
      ),
    counts: Effect.map(
      sql`SELECT status, COUNT(*) AS n FROM ${t} GROUP BY status`,
      (rows) => {
        const out: Record<JobStatus, number> = { queued: 0, running: 0, retrying: 0, failed: 0, done: 0, cancelled: 0 }
        for (const r of rows) out[r.status as JobStatus] = Number(r.n)
        return out
      }
    ),
    /** The jobs of one handler waiting for their first attempt since before `before` (resubmitted at start). */
    queuedOf: (hook: string, source: string, before: number) =>
      Effect.map(
        sql`SELECT * FROM ${t}
          WHERE status = 'queued' AND hook = ${hook} AND source = ${source} AND updated_at < ${before}`,
        (rows) => rows.map(toRow)
      ),
    /** An attempt starts (unless the job was cancelled meanwhile). */
    started: (id: string, attempt: number, now: number) =>
      sql`UPDATE ${t} SET status = 'running', attempts = ${attempt}, updated_at = ${now}
        WHERE id = ${id} AND status <> 'cancelled'`,
    done: (id: string, now: number) =>
      sql`UPDATE ${t} SET status = 'done', last_error = NULL, updated_at = ${now} WHERE id = ${id} AND status <> 'cancelled'`,
    attemptFailed: (id: string, error: string, final: boolean, now: number) =>
      sql`UPDATE ${t} SET status = ${final ? "failed" : "retrying"}, last_error = ${error}, updated_at = ${now}
        WHERE id = ${id} AND status <> 'cancelled'`,
    /** Moves a failed or cancelled job to a new round (a new workflow execution); false if it was not in one of those. */
    requeue: (id: string, round: number, now: number) =>
      Effect.map(
        sql`UPDATE ${t} SET status = 'queued', attempts = 0, round = ${round}, updated_at = ${now}
          WHERE id = ${id} AND status IN ('failed', 'cancelled') AND round = ${round - 1} RETURNING id`,
        (rows) => rows.length > 0
      ),
    cancel: (id: string, now: number) =>
      Effect.map(
        sql`UPDATE ${t} SET status = 'cancelled', updated_at = ${now}
          WHERE id = ${id} AND status IN ('queued', 'running', 'retrying') RETURNING id`,
        (rows) => rows.length > 0
      ),
    /** Opens a request on a job (`hookbus jobs`); false when another one is open. */
    request: (id: string, request: Request, now: number) =>
      Effect.map(
        sql`UPDATE ${t} SET request = ${request}, request_at = ${now}, request_error = NULL
          WHERE id = ${id} AND (request IS NULL OR (request = 'applying' AND request_at < ${now - staleRequestMs}))
          RETURNING id`,
        (rows) => rows.length > 0
      ),
    /** The jobs with an open request no runner has taken. */
    requested: Effect.map(sql`SELECT * FROM ${t} WHERE request IN ('retry', 'cancel')`, (rows) => rows.map(toRow)),
    /** A runner takes a request; false if another runner (or a withdrawal) got there first. */
    claim: (id: string, request: Request, now: number) =>
      Effect.map(
        sql`UPDATE ${t} SET request = 'applying', request_at = ${now}
          WHERE id = ${id} AND request = ${request} RETURNING id`,
        (rows) => rows.length > 0
      ),
    /** The runner that took a request reports how it went (`error` undefined: applied). */
    settle: (id: string, error: string | undefined) =>
      sql`UPDATE ${t} SET request = NULL, request_at = NULL, request_error = ${error ?? null} WHERE id = ${id}`,
    /** `hookbus jobs` gives up on a request no runner took; false if one took it meanwhile. */
    withdraw: (id: string, request: Request) =>
      Effect.map(
        sql`UPDATE ${t} SET request = NULL, request_at = NULL WHERE id = ${id} AND request = ${request} RETURNING id`,
        (rows) => rows.length > 0
      )
  }
}

/** The statements of `make`. */
export type Jobs = ReturnType<typeof make>
