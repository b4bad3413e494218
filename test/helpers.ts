/**
 * Shared test helpers: a structured log capture, and plugin manifests.
 */
import { Effect, Logger, References } from "effect"

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
