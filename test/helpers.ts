/**
 * Shared test helpers: a structured log capture, and plugin manifests.
 */
import { Effect, Logger, References } from "effect"
import { spawnSync } from "node:child_process"
import { join } from "node:path"

export interface LogEntry {
  readonly level: string
  readonly message: unknown
  readonly annotations: Record<string, unknown>
  readonly cause: string | undefined
}

/** Runs `effect` with every log line captured into `entries` (and nothing printed). */
export const captureLogs = (entries: Array<LogEntry>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(
    effect,
    References.CurrentLoggers,
    new Set([Logger.map(Logger.formatStructured, (entry) => {
      entries.push(entry)
    })])
  )

/** The message of a log entry as one string. */
export const messageOf = (entry: LogEntry): string =>
  Array.isArray(entry.message) ? entry.message.map(String).join(" ") : String(entry.message)

/** A plugin manifest (ABI 1, version 1.0.0) with these hooks and any extra fields. */
export const manifest = (
  name: string,
  hooks: ReadonlyArray<Record<string, unknown>>,
  extra: Record<string, unknown> = {}
) => ({
  abi: 1,
  name,
  version: "1.0.0",
  hooks,
  ...extra
})

/**
 * Runs the project's compiler (`tsc --noEmit`) on a tsconfig of generated sample files named `<origin>_<n>_<i>.ts`;
 * the exit status and the report, each error named by `where(file)` (where the sample came from) when it knows.
 */
export const typecheckSamples = (
  root: string,
  config: string,
  where: (file: string) => string | undefined
): { readonly status: number | null; readonly report: string } => {
  const tsc = join(root, "node_modules/typescript/bin/tsc")
  const result = spawnSync(process.execPath, [tsc, "--noEmit", "-p", config], {
    cwd: root,
    encoding: "utf8",
    timeout: 150_000
  })
  const report = `${result.stdout}${result.stderr}`.replace(
    /[^\s(]*?([\w.]+_\d+_\d+\.ts)\((\d+),/g,
    (_, file: string, line: string) => {
      const origin = where(file)
      return origin === undefined ? `${file}(${line},` : `${origin} (${line},`
    }
  )
  return { status: result.status, report }
}
