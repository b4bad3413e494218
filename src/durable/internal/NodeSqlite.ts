/**
 * A `SqlClient` for SQLite on `node:sqlite`, built with effect/sql's public constructors (`SqlClient.make`,
 * `SqlClient.makeSqliteAcquirers`, `Statement.makeCompilerSqlite`), as effect's own SQLite packages do. This is the
 * thin adapter `@effect/sql-sqlite-node` 4.0.0-beta.102 is (it wraps `node:sqlite` the same way), rewritten on the
 * `effect/sql` and `effect/reactivity` paths that effect 4.1 exports: the beta imports `effect/unstable/*`, which 4.1
 * does not ship. No SQL is parsed or executed here; `node:sqlite` (SQLite itself) does that.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Semaphore from "effect/Semaphore"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import { classifySqliteError, SqlError } from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"
import * as Stream from "effect/Stream"
import type { DatabaseSync, StatementSync } from "node:sqlite"

/** @internal */
export interface NodeSqliteConfig {
  readonly filename: string
  /** How long a writer waits for another process's lock before SQLITE_BUSY. Default 5,000 ms. */
  readonly busyTimeoutMs?: number | undefined
}

const sqlError = (cause: unknown, message: string, operation: string): SqlError => {
  const withErrno = typeof cause === "object" && cause !== null && "errcode" in cause && !("errno" in cause)
    ? Object.assign(cause, { errno: (cause as { readonly errcode: unknown }).errcode })
    : cause
  return new SqlError({ reason: classifySqliteError(withErrno, { message, operation }) })
}

const open = (config: NodeSqliteConfig) =>
  Effect.tryPromise({
    // node:sqlite is loaded only by a bus that asks for SQLite storage.
    try: () => import("node:sqlite"),
    catch: (cause) => sqlError(cause, "node:sqlite is not available (Node 22.13+ is needed)", "connect")
  }).pipe(
    Effect.flatMap(({ DatabaseSync: Database }) =>
      Effect.acquireRelease(
        Effect.try({
          try: () => {
            const db: DatabaseSync = new Database(config.filename, { timeout: config.busyTimeoutMs ?? 5_000 })
            db.exec("PRAGMA journal_mode = WAL")
            db.exec("PRAGMA synchronous = NORMAL")
            return db
          },
          catch: (cause) => sqlError(cause, `Failed to open ${config.filename}`, "connect")
        }),
        (db) => Effect.sync(() => db.isOpen && db.close())
      )
    )
  )

/** @internal */
export const make = Effect.fnUntraced(function*(config: NodeSqliteConfig) {
  const db = yield* open(config)
  const cache = new Map<string, StatementSync>()
  const prepare = (sql: string): StatementSync => {
    let statement = cache.get(sql)
    if (statement === undefined) {
      statement = db.prepare(sql)
      if (cache.size >= 200) cache.delete(cache.keys().next().value!)
      cache.set(sql, statement)
    }
    return statement
  }
  const run = (sql: string, params: ReadonlyArray<unknown>, values: boolean, raw: boolean) =>
    Effect.try({
      try: () => {
        const statement = prepare(sql)
        statement.setReturnArrays(values)
        if (statement.columns().length > 0) return statement.all(...(params as Array<any>)) as ReadonlyArray<any>
        const result = statement.run(...(params as Array<any>))
        return raw ? ({ changes: result.changes, lastInsertRowid: result.lastInsertRowid } as any) : []
      },
      catch: (cause) => sqlError(cause, "Failed to execute statement", "execute")
    })
  const connection: SqlConnection.Connection = {
    execute: (sql, params, transformRows) =>
      transformRows ? Effect.map(run(sql, params, false, false), transformRows) : run(sql, params, false, false),
    executeRaw: (sql, params) => run(sql, params, false, true),
    executeValues: (sql, params) => run(sql, params, true, false),
    executeValuesUnprepared: (sql, params) => run(sql, params, true, false),
    executeUnprepared: (sql, params, transformRows) =>
      transformRows ? Effect.map(run(sql, params, false, false), transformRows) : run(sql, params, false, false),
    executeStream: () => Stream.die(new Error("node:sqlite: streaming queries are not supported"))
  }
  const { acquirer, onCommitFailure, transactionAcquirer } = SqlClient.makeSqliteAcquirers({
    connection: Effect.succeed(connection),
    semaphore: yield* Semaphore.make(1),
    isTransaction: () => db.isTransaction
  })
  return yield* SqlClient.make({
    acquirer,
    compiler: Statement.makeCompilerSqlite(),
    transactionAcquirer,
    onCommitFailure,
    isTransaction: () => db.isTransaction,
    beginTransaction: "BEGIN IMMEDIATE",
    releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`,
    driver: "sqlite-node",
    spanAttributes: [["db.system.name", "sqlite"]]
  })
})

/** @internal */
export const layer = (config: NodeSqliteConfig): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.effect(SqlClient.SqlClient, make(config)).pipe(Layer.provide(Reactivity.layer))
