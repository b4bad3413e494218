/**
 * Shared test helpers: a structured log capture.
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
