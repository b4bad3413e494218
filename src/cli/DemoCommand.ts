/**
 * `hookbus demo` (what `npm start` runs): a short scripted tour of hooks and plugins on the bundled examples.
 *
 * @internal
 */
import { Command } from "effect/cli"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { PrometheusMetrics } from "effect/observability"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Hook from "../domain/Hook.ts"
import { HookBus } from "../services/HookBus.ts"
import { exitCodes, oneLine, pluginsFlag, reportFailures, withBus } from "./CommandKit.ts"
import { buildAdvice, CliFailure, loadAll } from "./PluginSet.ts"
import * as TraceTree from "./TraceTree.ts"

/**
 * `post.saved` with a durable audit next to the audit plugin: the job is stored in a SQLite file (hookbus/durable,
 * loaded only here) before `doAction` returns, and runs in this process's runner.
 */
const durableAudit = (bus: typeof HookBus.Service) =>
  Effect.scoped(Effect.gen(function*() {
    const { Durable } = yield* Effect.promise(() => import("../durable/index.ts"))
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "hookbus-demo-"))),
      (made) => Effect.sync(() => rmSync(made, { recursive: true, force: true }))
    )
    const filename = join(dir, "jobs.db")
    const context = yield* Layer.build(Durable.layerSqlite({ filename, pollInterval: "20 millis" }))
    const durable = Context.get(context, Durable)
    const PostSaved = Hook.action("post.saved", { args: [Schema.String, Schema.String] })
    yield* bus.addAction(
      PostSaved,
      (postId, author) => Console.log(`  durable audit: post ${postId} saved by ${author}, stored and run as a job`),
      { mode: "durable", source: "durable-audit" }
    ).pipe(Effect.provideContext(context))
    const receipt = yield* durable.doAction(PostSaved, "42", "ada").pipe(
      Effect.provideService(HookBus, bus),
      Effect.withSpan("demo: save a post")
    )
    yield* bus.awaitIdle
    yield* Console.log(`post.saved fired; the audit plugin logged it asynchronously`)
    for (let i = 0; i < 500 && (yield* durable.get(receipt.jobs[0])).status !== "done"; i++) {
      yield* Effect.sleep("10 millis")
    }
    const job = yield* durable.get(receipt.jobs[0])
    yield* Console.log(
      `durable job ${job.id}: ${job.status} after ${job.attempts} attempt(s), stored in a temporary SQLite file (docs/durable.md)\n`
    )
  }))

const sampleText = "hooks let a backend grow without rewiring it. plugins bring their own behaviour, sandboxed."

export const demo = Command.make("demo", { plugins: pluginsFlag }, (input) =>
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
        yield* durableAudit(bus)
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
