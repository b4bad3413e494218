/**
 * `hookbus jobs`: the durable jobs in a store (a SQLite file or a Postgres database), with their status, attempts
 * and last error. It reads the job table only: it starts no runner, so it takes no shard and runs nothing.
 *
 * @internal
 */
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as SqlClient from "effect/sql/SqlClient"
import * as SqlClientTag from "effect/sql/SqlClient"
import { existsSync } from "node:fs"
import { errorMessage } from "../domain/errorMessage.ts"
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
    json: jsonFlag
  },
  (input) =>
    oneLine(Effect.gen(function*() {
      if (input.limit < 1) {
        return yield* new CliInputError({ message: `--limit must be at least 1, got ${input.limit}` })
      }
      const layer = yield* storeLayer(input.sqlite, input.postgres)
      const Jobs = yield* Effect.promise(() => import("../durable/internal/Jobs.ts"))
      const where = Option.isSome(input.sqlite) ? input.sqlite.value : "the Postgres database"
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
        Effect.mapError((error) => {
          const message = errorMessage(error)
          return new CliFailure({
            message: /no such table|does not exist/.test(message)
              ? `no durable jobs in ${where}: no runner has used it (${message})`
              : `cannot read the jobs in ${where}: ${message}`
          })
        })
      )
      if (input.json) {
        return yield* Console.log(JSON.stringify({ counts, jobs: rows.map(({ args: _, ...job }) => job) }, null, 2))
      }
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
    `The durable jobs in a store (pending, running, retrying, failed, done, cancelled) with attempts and last error. Reads only: it runs nothing. ${exitCodes}`
  ),
  Command.withExamples([
    { command: "hookbus jobs --sqlite jobs.db --status failed", description: "The failed jobs of a SQLite store" },
    {
      command: "hookbus jobs --postgres postgres://postgres@127.0.0.1:5432/app --json",
      description: "Every job of a Postgres store, as JSON"
    }
  ])
)
