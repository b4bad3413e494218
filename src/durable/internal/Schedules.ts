/**
 * The schedule table: one row per recurring (cron) schedule, next to the job table. A schedule's ticks are workflow
 * executions (one per tick and handler, see Durable.ts); the row is what they read when they wake, so removing or
 * replacing it stops the ticks already waiting. `generation` changes when a schedule is replaced, and a waiting
 * tick of an older generation ends without firing.
 *
 * @internal
 */
import * as Cron from "effect/Cron"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { DurableScheduleInvalid } from "../../domain/DurableErrors.ts"
import type { ScheduleInfo } from "../Durable.ts"

/** A schedule as stored. */
export interface ScheduleRow {
  readonly id: string
  readonly hook: string
  readonly cron: string
  readonly tz: string
  /** The encoded arguments, JSON. */
  readonly args: string
  readonly generation: string
  readonly createdAt: number
  readonly updatedAt: number
  /** The latest tick that fired (epoch milliseconds). */
  readonly lastTickAt: number | undefined
}

const table = "hookbus_durable_schedules"

const toRow = (r: any): ScheduleRow => ({
  id: String(r.id),
  hook: String(r.hook),
  cron: String(r.cron),
  tz: String(r.tz),
  args: String(r.args),
  generation: String(r.generation),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  lastTickAt: r.last_tick === null || r.last_tick === undefined ? undefined : Number(r.last_tick)
})

/**
 * Parses a cron expression in a time zone, and checks that it ever fires (`0 0 31 2 *` parses but never does), as
 * `DurableScheduleInvalid`.
 */
export const parse = (expression: string, tz: string): Result.Result<Cron.Cron, DurableScheduleInvalid> => {
  const invalid = (reason: string) =>
    Result.fail(
      new DurableScheduleInvalid({
        cron: String(expression),
        tz,
        message: `invalid cron "${String(expression)}"${tz === "UTC" ? "" : ` in ${tz}`}: ${reason}`
      })
    )
  if (typeof expression !== "string") return invalid(`the cron expression must be a string, got ${typeof expression}`)
  const parsed = Cron.parse(expression, tz)
  if (Result.isFailure(parsed)) {
    return invalid(parsed.failure.input === tz ? `unknown time zone "${tz}"` : parsed.failure.message)
  }
  try {
    Cron.next(parsed.success, 0)
  } catch {
    return invalid("it matches no date")
  }
  return Result.succeed(parsed.success)
}

/** The first tick strictly after `after` (epoch milliseconds). */
export const nextTick = (cron: Cron.Cron, after: number): number => Cron.next(cron, after).getTime()

/** A stored schedule as `Durable.schedules` and `hookbus jobs --schedules` show it, with its next tick after `now`. */
export const toInfo = ({ args: _, generation: __, ...row }: ScheduleRow, now: number): ScheduleInfo => {
  const cron = parse(row.cron, row.tz)
  return { ...row, nextTickAt: Result.isFailure(cron) ? Number.NaN : nextTick(cron.success, now) }
}

/** The schedule table's statements over one client. */
export const make = (sql: SqlClient.SqlClient) => {
  const t = sql(table)
  const migrate: Effect.Effect<void, SqlError> = sql`CREATE TABLE IF NOT EXISTS ${t} (
      id TEXT PRIMARY KEY,
      hook TEXT NOT NULL,
      cron TEXT NOT NULL,
      tz TEXT NOT NULL,
      args TEXT NOT NULL,
      generation TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      last_tick BIGINT
    )`.pipe(Effect.asVoid, Effect.retry({ times: 2 }))
  const get = (id: string) =>
    Effect.map(sql`SELECT * FROM ${t} WHERE id = ${id}`, (rows) => rows.length === 0 ? undefined : toRow(rows[0]))
  return {
    migrate,
    get,
    /**
     * Stores a schedule: a new row, or, when `id` is stored with another hook, expression, zone or arguments, a
     * replacement with a new generation. The same definition again keeps the row (and its waiting ticks) as it is.
     */
    put: (row: Omit<ScheduleRow, "createdAt" | "updatedAt" | "lastTickAt">, now: number) =>
      Effect.gen(function*() {
        yield* sql`INSERT INTO ${t} (id, hook, cron, tz, args, generation, created_at, updated_at)
          VALUES (${row.id}, ${row.hook}, ${row.cron}, ${row.tz}, ${row.args}, ${row.generation}, ${now}, ${now})
          ON CONFLICT (id) DO UPDATE SET hook = ${row.hook}, cron = ${row.cron}, tz = ${row.tz}, args = ${row.args},
            generation = ${row.generation}, updated_at = ${now}
          WHERE ${t}.hook <> ${row.hook} OR ${t}.cron <> ${row.cron} OR ${t}.tz <> ${row.tz}
            OR ${t}.args <> ${row.args}`
        return (yield* get(row.id))!
      }),
    list: (hook: string | undefined) =>
      Effect.map(
        hook === undefined
          ? sql`SELECT * FROM ${t} ORDER BY id`
          : sql`SELECT * FROM ${t} WHERE hook = ${hook} ORDER BY id`,
        (rows) => rows.map(toRow)
      ),
    /** Deletes a schedule; false if there was none. */
    remove: (id: string) => Effect.map(sql`DELETE FROM ${t} WHERE id = ${id} RETURNING id`, (rows) => rows.length > 0),
    /** Records that a tick fired (the latest one wins: handlers' ticks fire independently). */
    ticked: (id: string, generation: string, tick: number) =>
      sql`UPDATE ${t} SET last_tick = ${tick}
        WHERE id = ${id} AND generation = ${generation} AND (last_tick IS NULL OR last_tick < ${tick})`
  }
}
