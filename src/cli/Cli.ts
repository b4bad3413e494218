/**
 * The `hookbus` command: run a hook through the plugins in a directory, list hooks and handlers, inspect a plugin,
 * and a short scripted demo (what `npm start` runs).
 *
 * @since 0.1.0
 */
import { Argument, Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { PrometheusMetrics } from "effect/observability"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { fileURLToPath } from "node:url"
import { errorMessage } from "../domain/errorMessage.ts"
import * as Hook from "../domain/Hook.ts"
import type { HookKind } from "../domain/Hook.ts"
import { HookBus } from "../services/HookBus.ts"
import * as Inspect from "../wasm/Inspect.ts"
import { buildAdvice, CliInputError, loadAll, type PluginSet, SilentExit } from "./PluginSet.ts"
import * as Printable from "./Printable.ts"
import { commands as authoring } from "./Scaffold.ts"
import * as TraceTree from "./TraceTree.ts"

/** The plugins bundled with hookbus. */
export const bundledPlugins = fileURLToPath(new URL("../../examples/plugins", import.meta.url))

const pluginsFlag = Flag.String("plugins").pipe(
  Flag.withDescription("Directory of plugin folders (default: the bundled examples/plugins)"),
  Flag.withDefault(bundledPlugins)
)

const parseJson = (flag: string, text: string): Effect.Effect<unknown, CliInputError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) =>
      new CliInputError({
        message: `invalid JSON for --${flag}: ${errorMessage(error)}`
      })
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

/** Runs one hook and prints its result; returns whether it succeeded. */
const runHook = (name: string, kind: HookKind, value: unknown, args: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const bus = yield* HookBus
    if (kind === "filter") {
      const result = yield* Effect.result(bus.applyFiltersResult(Hook.filter<unknown>(name), value, ...args))
      if (result._tag === "Failure") {
        yield* Console.error(`hookbus: ${result.failure.message}`)
        return false
      }
      yield* Console.log(JSON.stringify(result.success.value))
      if (Option.isSome(result.success.shortCircuitedBy)) {
        yield* Console.log(`(short-circuited by ${result.success.shortCircuitedBy.value})`)
      }
      return true
    }
    const result = yield* Effect.result(bus.doAction(Hook.action(name), ...args))
    yield* bus.awaitIdle
    if (result._tag === "Failure") {
      yield* Console.error(`hookbus: ${result.failure.message}`)
      return false
    }
    yield* Console.log(
      `ok: action "${name}" dispatched to ${(yield* bus.handlers(Hook.action(name))).length} handler(s)`
    )
    return true
  })

/** Fails the command with one line on stderr (the exit code is then non-zero); plugin text is printed escaped. */
const oneLine = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Printable.console(Effect.tapError(
    effect,
    (error) => error instanceof CliInputError ? Console.error(`hookbus: ${error.message}`) : Effect.void
  ))

const withBus = <A, E, R>(effect: Effect.Effect<A, E, R>, tracing: "off" | "handlers") =>
  Effect.scoped(effect).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing }))))

const run = Command.make(
  "run",
  {
    hook: Flag.String("hook").pipe(Flag.withDescription("The hook to fire (action) or apply (filter)")),
    value: Flag.String("value").pipe(Flag.withDescription("A filter's input value, as JSON"), Flag.optional),
    args: Flag.String("args").pipe(Flag.withDescription("The hook's arguments, as a JSON array"), Flag.optional),
    kind: Flag.Literals("kind", ["action", "filter"]).pipe(
      Flag.withDescription("The hook's kind, when plugins declare both"),
      Flag.optional
    ),
    plugins: pluginsFlag,
    trace: Flag.Boolean("trace").pipe(
      Flag.withDescription("Print the dispatch as a span tree"),
      Flag.withDefault(false)
    )
  },
  (input) =>
    oneLine(Effect.gen(function*() {
      const value = Option.isSome(input.value) ? yield* parseJson("value", input.value.value) : null
      const args = Option.isSome(input.args) ? yield* parseJson("args", input.args.value) : []
      if (!Array.isArray(args)) return yield* new CliInputError({ message: "--args must be a JSON array" })
      const { spans, tracer } = TraceTree.recorder()
      const ok = yield* withBus(
        Effect.gen(function*() {
          const set = yield* loadAll(input.plugins)
          yield* reportFailures(set)
          const kind = yield* kindOf(set, input.hook, input.kind)
          const ran = yield* runHook(input.hook, kind, value, args)
          return ran && set.failures.length === 0
        }),
        input.trace ? "handlers" : "off"
      ).pipe(Effect.provideService(Tracer.Tracer, tracer))
      if (input.trace) {
        yield* Console.log(`\ntrace:\n${TraceTree.format(spans.filter((s) => s.name.startsWith("hook.")))}`)
      }
      // The reason was already printed; only the exit code is left to set.
      if (!ok) return yield* new SilentExit()
    }))
).pipe(Command.withDescription("Fire an action or apply a filter through the plugins in a directory"))

const list = Command.make(
  "list",
  { plugins: pluginsFlag },
  (input) =>
    oneLine(withBus(
      Effect.gen(function*() {
        const bus = yield* HookBus
        const set = yield* loadAll(input.plugins)
        yield* reportFailures(set)
        const pluginOf = new Map(
          set.handles.flatMap((h) =>
            h.manifest.hooks.map((hook) => [`${hook.kind}:${hook.name}:plugin:${h.name}` as string, h.name] as const)
          )
        )
        const hooks = [
          ...new Map(
            set.handles.flatMap((h) => h.manifest.hooks.map((hook) => [`${hook.kind}:${hook.name}`, hook] as const))
          ).values()
        ].sort((a, b) => a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind))
        for (const hook of hooks) {
          const definition = hook.kind === "filter" ? Hook.filter(hook.name) : Hook.action(hook.name)
          yield* Console.log(`${hook.name} (${hook.kind})`)
          for (const h of yield* bus.handlers(definition)) {
            const plugin = pluginOf.get(`${hook.kind}:${hook.name}:${h.source}`) ?? "-"
            yield* Console.log(
              `  ${h.source.padEnd(24)} priority ${String(h.priority).padEnd(4)} ${h.mode.padEnd(5)}  plugin ${plugin}`
            )
          }
        }
        if (set.failures.length > 0) return yield* new SilentExit()
      }),
      "off"
    ))
).pipe(Command.withDescription("List each hook with its handlers in resolved order"))

const inspect = Command.make(
  "inspect",
  { path: Argument.String("path").pipe(Argument.withDescription("A plugin folder or a .wasm file")) },
  (input) =>
    Printable.console(Effect.gen(function*() {
      const report = yield* Inspect.inspect(input.path)
      // A check's detail can quote the plugin (its error message): one line each, escaped.
      yield* Console.log(Inspect.format({
        ...report,
        checks: report.checks.map((c) => ({ ...c, detail: Printable.line(c.detail) }))
      }))
      if (!report.ok) return yield* new SilentExit()
    }))
).pipe(Command.withDescription("Check a plugin against the ABI and its manifest, and probe it"))

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
          return yield* new CliInputError({
            message: `the demo needs all its plugins, and ${set.failures.length} failed to load: ${buildAdvice}`
          })
        }
        yield* Console.log(`loaded: ${set.handles.map((h) => `${h.name}@${h.version}`).join(", ")}\n`)
        const content = Hook.filter<string>("the_content")
        yield* Console.log(`the_content handlers: ${(yield* bus.handlers(content)).map((h) => h.source).join(" -> ")}`)
        yield* Console.log(`input:  ${JSON.stringify(sampleText)}`)
        const output = yield* bus.applyFilters(content, sampleText).pipe(Effect.withSpan("demo"))
        yield* Console.log(`output: ${JSON.stringify(output)}\n`)
        const slug = yield* bus.applyFilters(Hook.filter<string>("post.slug"), "Crème Brûlée: a Déjà-vu Story!")
        yield* Console.log(`post.slug("Crème Brûlée: a Déjà-vu Story!") = ${JSON.stringify(slug)}`)
        yield* bus.doAction(Hook.action("post.saved"), "42", "ada").pipe(Effect.withSpan("demo"))
        yield* bus.awaitIdle
        yield* Console.log(`post.saved fired; the audit plugin logged it asynchronously\n`)
      }),
      "handlers"
    ).pipe(Effect.provideService(Tracer.Tracer, tracer))
    yield* Console.log(
      `trace:\n${TraceTree.format(spans.filter((s) => s.name === "demo" || s.name.startsWith("hook.")))}\n`
    )
    const metrics = (yield* PrometheusMetrics.format()).split("\n").filter((line) =>
      /^hookbus_(dispatch_total|dispatch_duration_seconds_count|plugin_fuel_used_count)/.test(line)
    )
    yield* Console.log(`metrics:\n${metrics.map((l) => `  ${l}`).join("\n")}`)
  }))).pipe(Command.withDescription("A short scripted tour of hooks and plugins (what npm start runs)"))

/** The root command. */
export const hookbus = Command.make("hookbus").pipe(
  Command.withDescription("Hook bus and WebAssembly plugins for Effect backends"),
  Command.withSubcommands([run, list, inspect, demo, ...authoring])
)
