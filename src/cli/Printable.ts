/**
 * What the CLI prints is safe for a terminal: text that came from a plugin (an error detail, a log line) cannot
 * carry escape sequences, carriage returns, bidi overrides or lone surrogates that would forge or reorder output.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

// oxlint-disable-next-line no-control-regex -- matching control characters is the point
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu

// oxlint-disable-next-line no-control-regex -- matching control characters is the point
const unsafeOrBreak = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu

const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`

/**
 * `text` with every unprintable character written as a `\uXXXX` escape; newlines and tabs are kept (the CLI's
 * own output has several lines).
 *
 * @example
 * import { text } from "./Printable.ts"
 *
 * text("ok\u001b[2J") // "ok\\u001b[2J"
 */
export const text = (value: string): string => value.replace(unsafe, escape)

/**
 * `text` on one line: newlines are escaped too, for a value printed inside a line of the CLI's own.
 *
 * @example
 * import { line } from "./Printable.ts"
 *
 * line("a\nPASS  forged") // "a\\u000aPASS  forged"
 */
export const line = (value: string): string => value.replace(unsafeOrBreak, escape)

const args = (values: ReadonlyArray<unknown>): Array<unknown> => values.map((v) => typeof v === "string" ? text(v) : v)

/**
 * Runs `effect` with a `Console` whose every string argument goes through `text`.
 *
 * @example
 * import { Console } from "effect"
 * import { console } from "./Printable.ts"
 *
 * const program = Console.log("from a plugin: \u001b[2J").pipe(console) // printed as \u001b[2J
 */
export const console = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((inner) =>
    Effect.provideService(
      effect,
      Console.Console,
      Object.assign(Object.create(inner) as Console.Console, {
        log: (...values: ReadonlyArray<unknown>) => inner.log(...args(values)),
        error: (...values: ReadonlyArray<unknown>) => inner.error(...args(values)),
        warn: (...values: ReadonlyArray<unknown>) => inner.warn(...args(values)),
        info: (...values: ReadonlyArray<unknown>) => inner.info(...args(values)),
        debug: (...values: ReadonlyArray<unknown>) => inner.debug(...args(values))
      })
    )
  )
