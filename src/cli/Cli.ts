/**
 * The `hookbus` command: run a hook through the plugins in a directory, list hooks and handlers, inspect a plugin,
 * and a short scripted demo (what `npm start` runs).
 *
 * Exit codes: 0 success; 1 a hook, a handler or a plugin failed; 2 a usage error (bad flags or input). Usage errors
 * are one line on stderr with a pointer to `--help`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import { Argument, CliError, CliOutput, Command, Flag, TerminalCapabilities } from "effect/cli"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { PrometheusMetrics } from "effect/observability"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Stdio from "effect/Stdio"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { fileURLToPath } from "node:url"
import { errorMessage } from "../domain/errorMessage.ts"
import * as Hook from "../domain/Hook.ts"
import type { HookKind } from "../domain/Hook.ts"
import { HookBus } from "../services/HookBus.ts"
import * as Inspect from "../wasm/Inspect.ts"
import { buildAdvice, CliFailure, CliInputError, loadAll, type PluginSet, SilentExit } from "./PluginSet.ts"
import * as Printable from "./Printable.ts"
import { commands as authoring } from "./Scaffold.ts"
import * as TraceTree from "./TraceTree.ts"

/**
 * The plugins bundled with hookbus.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { Effect } from "effect"
 * import { HookBus } from "hookbus"
 * import { bundledPlugins, loadAll } from "hookbus/cli"
 *
 * const program = loadAll(bundledPlugins).pipe(Effect.provide(HookBus.layer))
 */
export const bundledPlugins = fileURLToPath(new URL("../../examples/plugins", import.meta.url))

/** What every `--help` ends its description with. */
const exitCodes = "Exit codes: 0 ok, 1 a hook or plugin failed, 2 usage error."

const pluginsFlag = Flag.String("plugins").pipe(
  Flag.withDescription("A directory of plugin folders, or one plugin folder (default: the bundled examples/plugins)"),
  Flag.withDefault(bundledPlugins)
)

const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDescription("Print the result as one JSON document on stdout"),
  Flag.withDefault(false)
)

const parseJson = (flag: string, text: string): Effect.Effect<unknown, CliInputError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) =>
      new CliInputError({
        message: `invalid JSON for --${flag}: ${errorMessage(error)}`
      })
  })

/** A filter's value from `--value TEXT`, `--value -` (stdin) or `--value-file PATH` (for values past argv limits). */
const readValue = (
  value: Option.Option<string>,
  file: Option.Option<string>
): Effect.Effect<unknown, CliInputError, FileSystem.FileSystem | Stdio.Stdio> =>
  Effect.gen(function*() {
    if (Option.isSome(value) && Option.isSome(file)) {
      return yield* new CliInputError({ message: "pass --value or --value-file, not both" })
    }
    if (Option.isSome(file)) {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(file.value).pipe(
        Effect.mapError((error) =>
          new CliInputError({ message: `cannot read --value-file ${file.value}: ${error.message}` })
        )
      )
      return yield* parseJson("value-file", text)
    }
    if (Option.isNone(value)) return null
    if (value.value !== "-") return yield* parseJson("value", value.value)
    const stdio = yield* Stdio.Stdio
    const text = yield* stdio.stdin.pipe(Stream.decodeText, Stream.mkString).pipe(
      Effect.mapError((error) => new CliInputError({ message: `cannot read --value - from stdin: ${error.message}` }))
    )
    return yield* parseJson("value", text)
  })

const reportFailures = (set: PluginSet): Effect.Effect<void> =>
  Effect.forEach(set.failures, (f) => Console.error(`hookbus: plugin failed to load: ${f.message}`), { discard: true })

/** Which kind a hook name is, from the loaded manifests (or `--kind`). */
const kindOf = (
  set: PluginSet,
  name: string,
  kind: Option.Option<HookKind>
): Effect.Effect<HookKind, CliInputError> => {
  const declared = new Set(
    set.handles.flatMap((h) => h.manifest.hooks.filter((hook) => hook.name === name).map((hook) => hook.kind))
  )
  if (Option.isSome(kind)) {
    return declared.has(kind.value)
      ? Effect.succeed(kind.value)
      : Effect.fail(new CliInputError({ message: `unknown hook: no loaded plugin handles ${kind.value} "${name}"` }))
  }
  if (declared.size === 1) return Effect.succeed([...declared][0])
  if (declared.size === 2) {
    return Effect.fail(new CliInputError({ message: `hook "${name}" is both an action and a filter: pass --kind` }))
  }
  const known = [...new Set(set.handles.flatMap((h) => h.manifest.hooks.map((hook) => hook.name)))].sort()
  return Effect.fail(
    new CliInputError({
      message: `unknown hook: no loaded plugin handles "${name}" (known hooks: ${known.join(", ") || "none"})`
    })
  )
}

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

/** Prints the one line of a usage error or a failure the command names (the exit code is set by `exitCode`). */
const oneLine = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Printable.console(Effect.tapError(
    effect,
    (error) =>
      error instanceof CliInputError || error instanceof CliFailure
        ? Console.error(`hookbus: ${error.message}`)
        : Effect.void
  ))

const withBus = <A, E, R>(effect: Effect.Effect<A, E, R>, tracing: "off" | "handlers") =>
  Effect.scoped(effect).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing }))))

const run = Command.make(
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

/** One hook of `list`, with its handlers in run order. */
interface ListedHook {
  readonly name: string
  readonly kind: HookKind
  readonly handlers: ReadonlyArray<
    { readonly source: string; readonly priority: number; readonly mode: string; readonly plugin: string | null }
  >
}

const printList = (hooks: ReadonlyArray<ListedHook>): Effect.Effect<void> =>
  Effect.gen(function*() {
    const all = hooks.flatMap((h) => h.handlers)
    // Columns as wide as their longest entry, so long names do not push the rest out of line.
    const source = Math.max(24, ...all.map((h) => h.source.length))
    const priority = Math.max(4, ...all.map((h) => String(h.priority).length))
    for (const hook of hooks) {
      yield* Console.log(`${hook.name} (${hook.kind})`)
      for (const h of hook.handlers) {
        yield* Console.log(
          `  ${h.source.padEnd(source)} priority ${String(h.priority).padEnd(priority)} ${h.mode.padEnd(5)}  plugin ${
            h.plugin ?? "-"
          }`
        )
      }
    }
  })

const list = Command.make(
  "list",
  { plugins: pluginsFlag, json: jsonFlag },
  (input) =>
    oneLine(withBus(
      Effect.gen(function*() {
        const bus = yield* HookBus
        const set = yield* loadAll(input.plugins)
        if (!input.json) yield* reportFailures(set)
        const pluginOf = new Map(
          set.handles.flatMap((h) =>
            h.manifest.hooks.map((hook) => [`${hook.kind}:${hook.name}:plugin:${h.name}` as string, h.name] as const)
          )
        )
        const declared = [
          ...new Map(
            set.handles.flatMap((h) => h.manifest.hooks.map((hook) => [`${hook.kind}:${hook.name}`, hook] as const))
          ).values()
        ].sort((a, b) => a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind))
        const hooks: Array<ListedHook> = []
        for (const hook of declared) {
          const definition = hook.kind === "filter" ? Hook.filter(hook.name) : Hook.action(hook.name)
          hooks.push({
            name: hook.name,
            kind: hook.kind,
            handlers: (yield* bus.handlers(definition)).map((h) => ({
              source: h.source,
              priority: h.priority,
              mode: h.mode,
              plugin: pluginOf.get(`${hook.kind}:${hook.name}:${h.source}`) ?? null
            }))
          })
        }
        if (input.json) yield* Console.log(JSON.stringify({ hooks, pluginFailures: set.failures }))
        else yield* printList(hooks)
        if (set.failures.length > 0) return yield* new SilentExit()
      }),
      "off"
    ))
).pipe(
  Command.withDescription(`List each hook with its handlers in resolved order. ${exitCodes}`),
  Command.withExamples([{ command: "hookbus list --plugins ./plugins", description: "The hooks of your plugins" }])
)

const inspect = Command.make(
  "inspect",
  { path: Argument.String("path").pipe(Argument.withDescription("A plugin folder or a .wasm file")), json: jsonFlag },
  (input) =>
    Printable.console(Effect.gen(function*() {
      const report = yield* Inspect.inspect(input.path)
      // A check's detail can quote the plugin (its error message): one line each, escaped (JSON escapes its own).
      yield* Console.log(
        input.json ? JSON.stringify(report) : Inspect.format({
          ...report,
          checks: report.checks.map((c) => ({ ...c, detail: Printable.line(c.detail) }))
        })
      )
      if (!report.ok) return yield* new SilentExit()
    }))
).pipe(
  Command.withDescription(`Check a plugin against the ABI and its manifest, and probe it. ${exitCodes}`),
  Command.withExamples([{
    command: "hookbus inspect examples/plugins/uppercase",
    description: "One line per check; exit 1 if any fails"
  }])
)

const sampleText = "hooks let a backend grow without rewiring it. plugins bring their own behaviour, sandboxed."

const demo = Command.make("demo", { plugins: pluginsFlag }, (input) =>
  oneLine(Effect.gen(function*() {
    const { spans, tracer } = TraceTree.recorder()
    yield* Console.log("hookbus demo: the bundled plugins on a fresh bus\n")
    yield* withBus(
      Effect.gen(function*() {
        const bus = yield* HookBus
        const set = yield* loadAll(input.plugins)
        yield* reportFailures(set)
        if (set.failures.length > 0) {
          // The tour needs every plugin; going on would print unchanged output and claims that are not true.
          return yield* new CliFailure({
            message: `the demo needs all its plugins, and ${set.failures.length} failed to load: ${buildAdvice}`
          })
        }
        yield* Console.log(`loaded: ${set.handles.map((h) => `${h.name}@${h.version}`).join(", ")}\n`)
        const content = Hook.filter<string>("the_content")
        yield* Console.log(`the_content handlers: ${(yield* bus.handlers(content)).map((h) => h.source).join(" -> ")}`)
        yield* Console.log(`input:  ${JSON.stringify(sampleText)}`)
        // Each step is a request of its own, with its own root span: one tree per request in the trace.
        const output = yield* bus.applyFilters(content, sampleText).pipe(Effect.withSpan("demo: render a post"))
        yield* Console.log(`output: ${JSON.stringify(output)}\n`)
        const slug = yield* bus.applyFilters(Hook.filter<string>("post.slug"), "Crème Brûlée: a Déjà-vu Story!").pipe(
          Effect.withSpan("demo: make a slug")
        )
        yield* Console.log(`post.slug("Crème Brûlée: a Déjà-vu Story!") = ${JSON.stringify(slug)}`)
        yield* bus.doAction(Hook.action("post.saved"), "42", "ada").pipe(Effect.withSpan("demo: save a post"))
        yield* bus.awaitIdle
        yield* Console.log(`post.saved fired; the audit plugin logged it asynchronously\n`)
      }),
      "handlers"
    ).pipe(Effect.provideService(Tracer.Tracer, tracer))
    yield* Console.log(
      `trace:\n${TraceTree.format(spans.filter((s) => s.name.startsWith("demo: ") || s.name.startsWith("hook.")))}\n`
    )
    const metrics = (yield* PrometheusMetrics.format()).split("\n").filter((line) =>
      /^hookbus_(dispatch_total|dispatch_duration_seconds_count|plugin_fuel_used_count)/.test(line)
    )
    yield* Console.log(`metrics:\n${metrics.map((l) => `  ${l}`).join("\n")}`)
  }))).pipe(
    Command.withDescription(`A short scripted tour of hooks and plugins (what npm start runs). ${exitCodes}`),
    Command.withExamples([{ command: "hookbus demo", description: "Run the tour on the bundled plugins" }])
  )

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 * @example
 * import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
 * import * as NodeServices from "@effect/platform-node/NodeServices"
 * import { Effect } from "effect"
 * import { Command } from "effect/cli"
 * import { hookbus } from "hookbus/cli"
 *
 * hookbus.pipe(Command.run({ version: "1.0.0" }), Effect.provide(NodeServices.layer), NodeRuntime.runMain)
 */
export const hookbus = Command.make("hookbus").pipe(
  Command.withDescription(`Hook bus and WebAssembly plugins for Effect backends. ${exitCodes}`),
  Command.withExamples([{ command: "hookbus run --help", description: "Flags and an example for one command" }]),
  Command.withSubcommands([run, list, inspect, demo, ...authoring])
)

/** Help that marks required flags, since the default help shows them like the optional ones. */
const markRequired = (doc: CliOutput.Presenter.Help["helpDoc"]): CliOutput.Presenter.Help["helpDoc"] => ({
  ...doc,
  flags: doc.flags.map((flag) =>
    flag.required
      ? { ...flag, description: Option.some(`(required) ${Option.getOrElse(flag.description, () => "")}`.trim()) }
      : flag
  )
})

/**
 * Help as usual, but a usage error is one line on stderr with a pointer to `--help`, rather than the whole help
 * followed by the error.
 */
export const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      const formatter = Context.getOrUndefined(context, CliOutput.Formatter) ??
        CliOutput.defaultFormatter({ colors: Context.get(context, TerminalCapabilities.TerminalCapabilities).canColor })
      switch (event._tag) {
        case "Help":
          return yield* Console.log(formatter.formatHelpDoc(markRequired(event.helpDoc)))
        case "InvalidInvocation":
          return yield* Console.error(
            `hookbus: ${event.errors.map((e) => e.message).join("; ")} (see \`${event.commandPath.join(" ")} --help\`)`
          )
        case "Version":
          return yield* Console.log(formatter.formatVersion(event.name, event.version))
      }
    })
}

/** The process exit code for how the command ended: 0 ok, 1 a failure, 2 a usage error, 130 interrupted. */
export const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.hasInterruptsOnly(exit.cause)) return 130
  const error = Cause.squash(exit.cause)
  return error instanceof CliInputError || CliError.isCliError(error) ? 2 : 1
}
