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

/** A job as stored: what `list` shows, and its encoded arguments. */
export interface JobRow extends JobInfo {
  readonly args: string
}

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
  args: String(r.args)
})

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
      args TEXT NOT NULL
    )`
    yield* sql`CREATE INDEX IF NOT EXISTS hookbus_durable_jobs_status ON ${t} (status, hook, source)`
  }).pipe(
    // Two runners starting on one Postgres race on CREATE ... IF NOT EXISTS (a unique violation in pg_type): the
    // loser's second try finds the table.
    Effect.retry({ times: 2 })
  )
  return {
    migrate,
    /** Stores a new job; false when the id is already stored (the same dispatch submitted again). */
    insert: (row: Omit<JobRow, "lastError" | "updatedAt">) =>
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
      )
  }
}

/** The statements of `make`. */
export type Jobs = ReturnType<typeof make>
