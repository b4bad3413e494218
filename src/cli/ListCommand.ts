/**
 * `hookbus list`: each hook the loaded plugins declare, with its handlers in resolved order; and `hookbus inspect`:
 * a plugin checked against the ABI and its manifest.
 *
 * @internal
 */
import { Argument, Command } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Hook from "../domain/Hook.ts"
import type { HookKind } from "../domain/Hook.ts"
import { HookBus } from "../services/HookBus.ts"
import * as Inspect from "../wasm/Inspect.ts"
import { exitCodes, jsonFlag, oneLine, pluginsFlag, reportFailures, withBus } from "./CommandKit.ts"
import { loadAll, SilentExit } from "./PluginSet.ts"
import * as Printable from "./Printable.ts"

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

export const list = Command.make(
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

export const inspect = Command.make(
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
