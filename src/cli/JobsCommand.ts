/**
 * `hookbus jobs`: the durable jobs in a store (a SQLite file or a Postgres database), with their status, attempts
 * and last error, or (`--schedules`) its recurring schedules with their last and next ticks. It starts no runner, so it takes no shard and runs nothing: `--retry <id>` and `--cancel <id>`
 * write a request on the job's row, which a runner with the job's handler applies (runners look about once a
 * second), and wait for its outcome.
 *
 * @internal
 */
import { Command, Flag } from "effect/cli"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as SqlClient from "effect/sql/SqlClient"
import * as SqlClientTag from "effect/sql/SqlClient"
import { existsSync } from "node:fs"
import { errorMessage } from "../domain/errorMessage.ts"
import type * as JobsTypes from "../durable/internal/Jobs.ts"
import type * as SchedulesTypes from "../durable/internal/Schedules.ts"
import { exitCodes, jsonFlag, oneLine } from "./CommandKit.ts"
import { CliFailure, CliInputError } from "./PluginSet.ts"

const statuses = ["queued", "running", "retrying", "failed", "done", "cancelled"] as const

/** The job store's client: SQLite through node:sqlite, Postgres through @effect/sql-pg, loaded only when asked. */
const storeLayer = (
  sqlite: Option.Option<string>,
  postgres: Option.Option<string>
): Effect.Effect<Layer.Layer<SqlClient.SqlClient, unknown>, CliInputError | CliFailure> =>
  Effect.gen(function*() {
    if (Option.isSome(sqlite) === Option.isSome(postgres)) {
      return yield* new CliInputError({ message: "pass one of --sqlite <file> or --postgres <url>" })
    }
    if (Option.isSome(sqlite)) {
      // node:sqlite would make an empty database for a mistyped name.
      if (!existsSync(sqlite.value)) return yield* new CliInputError({ message: `no such file: ${sqlite.value}` })
      const NodeSqlite = yield* Effect.promise(() => import("../durable/internal/NodeSqlite.ts"))
      return NodeSqlite.layer({ filename: sqlite.value })
    }
    const url = Option.getOrThrow(postgres)
    const PgClient = yield* Effect.tryPromise({
      try: () => import("@effect/sql-pg/PgClient"),
      catch: () => new CliFailure({ message: "--postgres needs @effect/sql-pg: npm install @effect/sql-pg" })
    })
    return PgClient.layer({ url: Redacted.make(url), connectTimeout: "5 seconds" })
  })

/** `--wait`: `10s`, `500ms`, `2m`, or an effect duration (`10 seconds`). */
const waitOf = (text: string): Effect.Effect<Duration.Duration, CliInputError> => {
  const short = /^(\d+(?:\.\d+)?)\s*(ms|s|m)$/.exec(text.trim())
  const duration = short === null
    ? Duration.fromInput(text as Duration.Input)
    : Option.some(Duration.millis(Number(short[1]) * { ms: 1, s: 1_000, m: 60_000 }[short[2] as "ms" | "s" | "m"]))
  return Option.isSome(duration) && Duration.isFinite(duration.value)
    ? Effect.succeed(duration.value)
    : Effect.fail(new CliInputError({ message: `--wait must be a duration such as 10s, 500ms or 2m, got "${text}"` }))
}

/** The job table module (loaded by the command only, so `hookbus --help` does not load SQL code). */
type JobsModule = typeof JobsTypes

/**
 * `--retry`/`--cancel`: checks the job can take the request, opens it on the row, and waits until a runner reports
 * (or withdraws it after `wait`, so that no runner applies it later by surprise).
 */
const request = (Jobs: JobsModule, id: string, kind: "retry" | "cancel", wait: Duration.Duration) =>
  Effect.gen(function*() {
    const store = Jobs.make(yield* SqlClientTag.SqlClient)
    const row = yield* store.get(id)
    if (row === undefined) return yield* new CliInputError({ message: `no durable job with id "${id}"` })
    const allowed = kind === "retry" ? ["failed", "cancelled"] : ["queued", "running", "retrying"]
    if (!allowed.includes(row.status)) {
      return yield* new CliInputError({
        message: `cannot ${kind} ${id}: it is ${row.status} (${
          kind === "retry" ? "only a failed or cancelled job retries" : "it already ended"
        })`
      })
    }
    if (!(yield* store.request(id, kind, yield* Clock.currentTimeMillis))) {
      return yield* new CliFailure({ message: `${id} already has a request open (${row.request}): try again later` })
    }
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(wait)
    const handler = `the durable handler "${row.source}" on "${row.hook}"`
    while (true) {
      yield* Effect.sleep("100 millis")
      const now = yield* store.get(id)
      if (now === undefined) return yield* new CliFailure({ message: `${id} was deleted while waiting` })
      if (now.request === undefined) {
        if (now.requestError !== undefined) {
          return yield* new CliFailure({ message: `the runner could not ${kind} ${id}: ${now.requestError}` })
        }
        return Jobs.toInfo(now)
      }
      const time = yield* Clock.currentTimeMillis
      if (time < deadline) continue
      if (yield* store.withdraw(id, kind)) {
        return yield* new CliFailure({
          message: `no runner applied the ${kind} of ${id} within ${
            Duration.format(wait)
          }: is a runner with ${handler} running on this store? (the request was withdrawn)`
        })
      }
      // A runner took it just now: give it a little longer to report.
      if (time > deadline + 10_000) {
        return yield* new CliFailure({ message: `a runner took the ${kind} of ${id} but did not report back` })
      }
    }
  })

/** `--schedules`: the stored schedules (of `hook`, when given), as `Durable.schedules` shows them. */
const listSchedules = (Schedules: typeof SchedulesTypes, hook: string | undefined, json: boolean) =>
  Effect.gen(function*() {
    const rows = yield* Schedules.make(yield* SqlClientTag.SqlClient).list(hook)
    const now = yield* Clock.currentTimeMillis
    const schedules = rows.map((row) => Schedules.toInfo(row, now))
    if (json) return yield* Console.log(JSON.stringify({ schedules }, null, 2))
    yield* Console.log(`${schedules.length} schedule${schedules.length === 1 ? "" : "s"}`)
    if (schedules.length === 0) return
    const time = (ms: number | undefined) => ms === undefined || Number.isNaN(ms) ? "-" : new Date(ms).toISOString()
    const columns = [
      ["id", ...schedules.map((s) => s.id)],
      ["hook", ...schedules.map((s) => s.hook)],
      ["cron", ...schedules.map((s) => s.cron)],
      ["tz", ...schedules.map((s) => s.tz)],
      ["last tick", ...schedules.map((s) => time(s.lastTickAt))],
      ["next tick", ...schedules.map((s) => time(s.nextTickAt))]
    ]
    const widths = columns.map((column) => Math.max(...column.map((cell) => cell.length)))
    for (let i = 0; i <= schedules.length; i++) {
      yield* Console.log(columns.map((column, c) => column[i].padEnd(widths[c])).join("  ").trimEnd())
    }
  })

const firstLine = (text: string | undefined, width: number) => {
  if (text === undefined) return ""
  const line = text.split("\n").find((l) => l.trim().length > 0)?.trim() ?? ""
  return line.length > width ? `${line.slice(0, width - 1)}…` : line
}

export const jobs = Command.make(
  "jobs",
  {
    sqlite: Flag.String("sqlite").pipe(Flag.withDescription("The SQLite file of Durable.layerSqlite"), Flag.optional),
    postgres: Flag.String("postgres").pipe(
      Flag.withDescription("The Postgres URL of Durable.layerPostgres (postgres://user@host:port/db)"),
      Flag.optional
    ),
    status: Flag.Literals("status", statuses).pipe(Flag.withDescription("Only jobs in this status"), Flag.optional),
    hook: Flag.String("hook").pipe(Flag.withDescription("Only jobs of this hook"), Flag.optional),
    limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many jobs, newest first"), Flag.withDefault(50)),
    retry: Flag.String("retry").pipe(
      Flag.withDescription("Run this failed or cancelled job again (a runner with its handler applies it)"),
      Flag.optional
    ),
    cancel: Flag.String("cancel").pipe(
      Flag.withDescription("Cancel this queued, running or retrying job (a runner with its handler applies it)"),
      Flag.optional
    ),
    schedules: Flag.Boolean("schedules").pipe(
      Flag.withDescription(
        "List the recurring schedules (id, hook, cron, zone, last and next tick) instead of the jobs"
      ),
      Flag.withDefault(false)
    ),
    wait: Flag.String("wait").pipe(
      Flag.withDescription("How long --retry/--cancel wait for a runner to apply the request (10s, 500ms, 2m)"),
      Flag.withDefault("10s")
    ),
    json: jsonFlag
  },
  (input) =>
    oneLine(Effect.gen(function*() {
      if (input.limit < 1) {
        return yield* new CliInputError({ message: `--limit must be at least 1, got ${input.limit}` })
      }
      if (Option.isSome(input.retry) && Option.isSome(input.cancel)) {
        return yield* new CliInputError({ message: "pass --retry or --cancel, not both" })
      }
      if (
        input.schedules && (Option.isSome(input.retry) || Option.isSome(input.cancel) || Option.isSome(input.status))
      ) {
        return yield* new CliInputError({
          message: `--schedules lists schedules: it takes --hook and --json, not ${
            Option.isSome(input.status) ? "--status" : Option.isSome(input.retry) ? "--retry" : "--cancel"
          }`
        })
      }
      const wait = yield* waitOf(input.wait)
      const layer = yield* storeLayer(input.sqlite, input.postgres)
      const Jobs = yield* Effect.promise(() => import("../durable/internal/Jobs.ts"))
      const where = Option.isSome(input.sqlite) ? input.sqlite.value : "the Postgres database"
      const storeFailure = (error: unknown) => {
        const message = errorMessage(error)
        return new CliFailure({
          message: /no such table|does not exist/.test(message)
            ? `no durable jobs in ${where}: no runner has used it (${message})`
            : `cannot read the jobs in ${where}: ${message}`
        })
      }
      const asked = Option.isSome(input.retry)
        ? { kind: "retry" as const, id: input.retry.value }
        : Option.isSome(input.cancel)
        ? { kind: "cancel" as const, id: input.cancel.value }
        : undefined
      if (input.schedules) {
        const Schedules = yield* Effect.promise(() => import("../durable/internal/Schedules.ts"))
        return yield* listSchedules(Schedules, Option.getOrUndefined(input.hook), input.json).pipe(
          Effect.provide(layer),
          Effect.timeout("10 seconds"),
          Effect.mapError(storeFailure)
        )
      }
      if (asked !== undefined) {
        const job = yield* request(Jobs, asked.id, asked.kind, wait).pipe(
          Effect.provide(layer),
          Effect.catchIf(
            (error) => !(error instanceof CliInputError || error instanceof CliFailure),
            (error) => Effect.fail(storeFailure(error))
          )
        )
        if (input.json) return yield* Console.log(JSON.stringify(job, null, 2))
        return yield* Console.log(
          asked.kind === "retry"
            ? `retried ${job.id} (round ${job.round}): ${job.status}`
            : `cancelled ${job.id}: ${job.status}`
        )
      }
      const { counts, rows } = yield* Effect.gen(function*() {
        const sql = yield* SqlClientTag.SqlClient
        const store = Jobs.make(sql)
        const listed = yield* store.list({
          ...(Option.isSome(input.status) ? { statuses: [input.status.value] } : {}),
          ...(Option.isSome(input.hook) ? { hook: input.hook.value } : {}),
          limit: input.limit
        })
        return { rows: listed, counts: yield* store.counts }
      }).pipe(
        Effect.provide(layer),
        Effect.timeout("10 seconds"),
        Effect.mapError(storeFailure)
      )
      if (input.json) return yield* Console.log(JSON.stringify({ counts, jobs: rows.map(Jobs.toInfo) }, null, 2))
      yield* Console.log(statuses.map((s) => `${s} ${counts[s]}`).join(" · "))
      if (rows.length === 0) return
      const id = Math.max(2, ...rows.map((r) => r.id.length))
      yield* Console.log(`${"id".padEnd(id)}  ${"status".padEnd(9)}  attempts  updated                   last error`)
      for (const r of rows) {
        yield* Console.log(
          `${r.id.padEnd(id)}  ${r.status.padEnd(9)}  ${`${r.attempts}/${r.maxAttempts}`.padEnd(8)}  ${
            new Date(r.updatedAt).toISOString()
          }  ${firstLine(r.lastError, 80)}`.trimEnd()
        )
      }
    }))
).pipe(
  Command.withDescription(
    `The durable jobs in a store (queued, running, retrying, failed, done, cancelled) with attempts and last error, or with --schedules its recurring schedules. It runs nothing: --retry and --cancel ask the runners, and wait for one with the job's handler to apply it. ${exitCodes}`
  ),
  Command.withExamples([
    { command: "hookbus jobs --sqlite jobs.db --status failed", description: "The failed jobs of a SQLite store" },
    {
      command: "hookbus jobs --sqlite jobs.db --retry post.saved/audit/order-42",
      description: "Run a failed job again (a runner must be running)"
    },
    {
      command: "hookbus jobs --sqlite jobs.db --schedules",
      description: "The recurring schedules and their next ticks"
    },
    {
      command: "hookbus jobs --postgres postgres://postgres@127.0.0.1:5432/app --json",
      description: "Every job of a Postgres store, as JSON"
    }
  ])
)
