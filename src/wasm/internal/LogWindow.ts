/**
 * The per-second `gn_log` cap of one plugin: a window per wall-clock second, over every call and instance of the
 * plugin. Lines over the cap are counted and dropped, and reported in one warning line when they start and when
 * the second ends.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Executor from "../Executor.ts"

const logLevel = (level: number) =>
  level === 0 ? "Debug" as const : level === 2 ? "Warn" as const : level === 3 ? "Error" as const : "Info" as const

/** Logs a call's `gn_log` lines (those within the plugin's per-second cap), annotated with plugin and hook. */
export type FlushLogs = (hook: string, lines: Executor.Answer["logs"]) => Effect.Effect<void>

/** A plugin's log window: `linesPerSecond` lines and `charsPerSecond` characters per wall-clock second. */
export const make = (plugin: string, linesPerSecond: number, charsPerSecond: number): FlushLogs => {
  let logWindow = Number.NEGATIVE_INFINITY
  let windowLines = 0
  let windowChars = 0
  let windowDropped = 0
  let windowDroppedChars = 0
  const overCap = `over the plugin's cap of ${linesPerSecond} lines and ${charsPerSecond} characters per second`

  return (hook, lines) =>
    Effect.withFiber((fiber) => {
      const second = Math.floor(Context.get(fiber.context, Clock.Clock).currentTimeMillisUnsafe() / 1000)
      const notes: Array<string> = []
      if (second !== logWindow) {
        if (windowDropped > 0) {
          notes.push(`dropped ${windowDropped} gn_log lines (${windowDroppedChars} characters) ${overCap}`)
        }
        logWindow = second
        windowLines =
          windowChars =
          windowDropped =
          windowDroppedChars =
            0
      }
      const kept: Array<readonly [number, string]> = []
      const droppedBefore = windowDropped
      for (const line of lines) {
        const size = line[1].length
        if (windowLines >= linesPerSecond || windowChars + size > charsPerSecond) {
          windowDropped++
          windowDroppedChars += size
        } else {
          windowLines++
          windowChars += size
          kept.push(line)
        }
      }
      if (droppedBefore === 0 && windowDropped > 0) {
        notes.push(`gn_log ${overCap}: dropping lines until the second ends`)
      }
      const logged = Effect.forEach(kept, ([level, text]) => Effect.logWithLevel(logLevel(level))(text), {
        discard: true
      })
      return (notes.length === 0
        ? logged
        : Effect.andThen(logged, Effect.forEach(notes, (note) => Effect.logWarning(note), { discard: true }))).pipe(
          Effect.annotateLogs({ plugin, hook })
        )
    })
}
