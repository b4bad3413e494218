/**
 * `hookbus run`: fire an action or apply a filter through the plugins in a directory, wait for the async handlers
 * it started, and report (as text or `--json`, with `--trace` a span tree).
 *
 * @internal
 */
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Tracer from "effect/Tracer"
import * as Hook from "../domain/Hook.ts"
import type { HookKind } from "../domain/Hook.ts"
import { HookBus } from "../services/HookBus.ts"
import {
  exitCodes,
  jsonFlag,
  kindOf,
  oneLine,
  parseJson,
  pluginsFlag,
  readValue,
  reportFailures,
  withBus
} from "./CommandKit.ts"
import { CliFailure, CliInputError, loadAll, SilentExit } from "./PluginSet.ts"
import * as TraceTree from "./TraceTree.ts"

/** What one `run` did, as `--json` prints it. */
interface RunReport {
  readonly ok: boolean
  readonly hook: string
  readonly kind: HookKind
  /** Filters: the result (the last accepted value when the chain failed). */
  readonly value?: unknown
  readonly shortCircuitedBy?: string | null
  /** Actions: the handlers the dispatch reached, async ones included. */
  readonly handlers?: number
  /** What failed: the dispatch, then each async handler the dispatch started. */
  readonly errors: ReadonlyArray<string>
}

/** Log lines as JSON on stderr, so that with `--json` stdout holds nothing but the result. */
const stderrJson = Logger.withConsoleError(Logger.formatJson)

/**
 * Keeps the bus's "async handler failed" log lines (message, cause and stack) out of the terminal and collects them
 * as one line each; every other log line is printed as usual (on stderr as JSON with `--json`).
 */
const collectAsyncFailures = (failures: Array<string>, json: boolean) => {
  const others = json ? stderrJson : Logger.defaultLogger
  return Logger.make<unknown, void>((options) => {
    const parts = Array.isArray(options.message) ? options.message : [options.message]
    if (parts[0] === "async handler failed") {
      failures.push(parts.slice(1).filter((part) => typeof part === "string").join(": "))
      return
    }
    others.log(options)
  })
}

/** Runs one hook and waits for the async handlers it started: what `run` reports. */
const runHook = (name: string, kind: HookKind, value: unknown, args: ReadonlyArray<unknown>, json: boolean) =>
  Effect.gen(function*() {
    const bus = yield* HookBus
    const asyncFailures: Array<string> = []
    const report = yield* Effect.gen(function*() {
      if (kind === "filter") {
        const result = yield* Effect.result(bus.applyFiltersResult(Hook.filter<unknown>(name), value, ...args))
        return result._tag === "Failure"
          ? {
            ok: false,
            hook: name,
            kind,
            value: "value" in result.failure ? result.failure.value : value,
            errors: [result.failure.message]
          }
          : {
            ok: true,
            hook: name,
            kind,
            value: result.success.value,
            shortCircuitedBy: Option.getOrNull(result.success.shortCircuitedBy),
            errors: []
          }
      }
      const result = yield* Effect.result(bus.doAction(Hook.action(name), ...args))
      // A command line has no later: wait for the async handlers this dispatch started, so their failures count.
      yield* bus.awaitIdle
      const handlers = (yield* bus.handlers(Hook.action(name))).length
      return result._tag === "Failure"
        ? { ok: false, hook: name, kind, handlers, errors: [result.failure.message] }
        : { ok: true, hook: name, kind, handlers, errors: [] }
    }).pipe(Effect.provideService(References.CurrentLoggers, new Set([collectAsyncFailures(asyncFailures, json)])))
    const errors = [...report.errors, ...asyncFailures.map((f) => `async handler failed: ${f}`)]
    return { ...report, ok: errors.length === 0, errors } satisfies RunReport
  })

const printRun = (report: RunReport): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (const error of report.errors) yield* Console.error(`hookbus: ${error}`)
    if (!report.ok) return
    if (report.kind === "action") {
      return yield* Console.log(`ok: action "${report.hook}" dispatched to ${report.handlers} handler(s)`)
    }
    yield* Console.log(JSON.stringify(report.value))
    if (report.shortCircuitedBy != null) yield* Console.log(`(short-circuited by ${report.shortCircuitedBy})`)
  })

export const run = Command.make(
  "run",
  {
    hook: Flag.String("hook").pipe(Flag.withDescription("The hook to fire (action) or apply (filter)")),
    value: Flag.String("value").pipe(
      Flag.withDescription("A filter's input value, as JSON; - reads it from stdin"),
      Flag.optional
    ),
    valueFile: Flag.String("value-file").pipe(
      Flag.withDescription("Read the filter's input value (JSON) from this file"),
      Flag.optional
    ),
    args: Flag.String("args").pipe(Flag.withDescription("The hook's arguments, as a JSON array"), Flag.optional),
    kind: Flag.Literals("kind", ["action", "filter"]).pipe(
      Flag.withDescription("The hook's kind, when plugins declare both"),
      Flag.optional
    ),
    plugins: pluginsFlag,
    trace: Flag.Boolean("trace").pipe(
      Flag.withDescription("Print the dispatch as a span tree"),
      Flag.withDefault(false)
    ),
    json: jsonFlag
  },
  (input) =>
    oneLine(Effect.gen(function*() {
      const value = yield* readValue(input.value, input.valueFile)
      const args = Option.isSome(input.args) ? yield* parseJson("args", input.args.value) : []
      if (!Array.isArray(args)) return yield* new CliInputError({ message: "--args must be a JSON array" })
      const { spans, tracer } = TraceTree.recorder()
      const { report, set } = yield* withBus(
        Effect.gen(function*() {
          const loaded = yield* loadAll(input.plugins)
          if (!input.json) yield* reportFailures(loaded)
          // A hook unknown because its plugin failed to load is that plugin's failure (exit 1), not a usage error.
          const kind = yield* kindOf(loaded, input.hook, input.kind).pipe(
            Effect.mapError((error) => loaded.failures.length > 0 ? new CliFailure({ message: error.message }) : error)
          )
          return { report: yield* runHook(input.hook, kind, value, args, input.json), set: loaded }
        }),
        input.trace ? "handlers" : "off"
      ).pipe(Effect.provideService(Tracer.Tracer, tracer))
      const trace = input.trace ? TraceTree.format(spans.filter((s) => s.name.startsWith("hook."))) : undefined
      if (input.json) {
        yield* Console.log(JSON.stringify({
          ...report,
          pluginFailures: set.failures,
          ...(trace === undefined ? {} : { trace: trace.split("\n") })
        }))
      } else {
        yield* printRun(report)
        if (trace !== undefined) yield* Console.log(`\ntrace:\n${trace}`)
      }
      // The reasons were already printed; only the exit code is left to set.
      if (!report.ok || set.failures.length > 0) return yield* new SilentExit()
    }))
).pipe(
  Command.withDescription(
    `Fire an action or apply a filter through the plugins in a directory, and wait for the async handlers it started. ${exitCodes}`
  ),
  Command.withExamples([{
    command: `hookbus run --hook the_content --value '"hello"' --trace`,
    description: "Apply the_content through the bundled plugins and print the span tree"
  }])
)
