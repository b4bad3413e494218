/**
 * A tiny blog API on the hook bus: posts are served through `the_content` filters (the bundled WebAssembly plugins
 * plus an in-process one), every view fires `post.viewed` as an async action, `/metrics` serves Prometheus text,
 * and traces go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
import { NodeHttpServer, NodeServices } from "@effect/platform-node"
import { Console, Effect, Layer, Option, Ref, Schema } from "effect"
import { FetchHttpClient, HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { OtlpSerialization, OtlpTracer, PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { bundledPlugins } from "../../src/cli/Cli.ts"
import { loadAll } from "../../src/cli/PluginSet.ts"
import { Hook, HookBus } from "../../src/index.ts"

export const TheContent = Hook.filter("the_content", { value: Schema.String })
export const PostViewed = Hook.action("post.viewed", { args: [Schema.String] })

const posts: ReadonlyMap<string, { readonly title: string; readonly body: string }> = new Map([
  ["1", { title: "Hello, hooks", body: "hooks let a backend grow without rewiring it." }],
  ["2", {
    title: "Plugins in WebAssembly",
    body: "plugins bring their own behaviour, sandboxed by fuel and memory caps."
  }]
])

/** Views per post, counted by an in-process async handler. */
export const views = Ref.makeUnsafe(new Map<string, number>())

/** The bundled plugins, an in-process content filter and a view counter, registered for the server's life. */
const Hooks = Layer.effectDiscard(Effect.gen(function*() {
  const bus = yield* HookBus
  const set = yield* loadAll(bundledPlugins)
  for (const failure of set.failures) yield* Effect.logWarning(`plugin failed to load: ${failure.message}`)
  yield* bus.addFilter(TheContent, (html) => Effect.succeed(`<article>${html}</article>`), {
    source: "blog:article",
    after: ["plugin:reading-time"]
  })
  yield* bus.addAction(
    PostViewed,
    (id) => Ref.update(views, (m) => new Map(m).set(id, (m.get(id) ?? 0) + 1)),
    { source: "blog:view-counter", mode: "async" }
  )
}))

const Routes = Layer.mergeAll(
  HttpRouter.add(
    "GET",
    "/posts/:id",
    Effect.gen(function*() {
      const bus = yield* HookBus
      const { id } = yield* HttpRouter.params
      const post = id === undefined ? undefined : posts.get(id)
      if (post === undefined || id === undefined) {
        return HttpServerResponse.jsonUnsafe({ error: "no such post" }, { status: 404 })
      }
      const html = yield* bus.applyFilters(TheContent, post.body).pipe(
        Effect.catch((error) => Effect.as(Effect.logWarning(error.message), post.body))
      )
      yield* bus.doAction(PostViewed, id).pipe(Effect.catch((error) => Effect.logWarning(error.message)))
      return HttpServerResponse.jsonUnsafe({ id, title: post.title, html })
    })
  ),
  HttpRouter.add(
    "GET",
    "/metrics",
    Effect.map(
      PrometheusMetrics.format(),
      (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" })
    )
  )
)

/** OTLP tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set, nothing otherwise. */
const Tracing = Layer.unwrap(Effect.sync(() => {
  const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (endpoint === undefined || endpoint === "") return Layer.empty
  return OtlpTracer.layer({
    url: `${endpoint.replace(/\/$/, "")}/v1/traces`,
    resource: { serviceName: "hookbus-blog" }
  }).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )
}))

/** Built before the bus, so its finalizer runs after the bus has drained its async handlers. */
const Stopped = Layer.effectDiscard(
  Effect.addFinalizer(() => Console.log("blog-server: stopped; async handlers drained"))
)

/** The routes, served, with the hooks and the bus they need. */
const App = HttpRouter.serve(Routes, { disableListenLog: true }).pipe(
  Layer.provide(Hooks),
  Layer.provideMerge(HookBus.layerWith({ asyncShutdownGrace: "5 seconds" }).pipe(Layer.provide(Stopped)))
)

/** Says where the server listens, once the routes are served (so the first request never races the startup). */
const Ready = Layer.effectDiscard(
  HttpServer.addressFormattedWith((address) => Console.log(`blog-server listening on ${address}`))
)

/** The server on `port` (0 for an ephemeral one). */
export const server = (port: number) =>
  Ready.pipe(
    Layer.provide(App),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
    Layer.provide(NodeServices.layer),
    Layer.provide(Tracing)
  )

/** Reads the port from PORT (default 3000). */
export const portFromEnv = (): number =>
  Option.getOrElse(Option.fromUndefinedOr(process.env.PORT).pipe(Option.map(Number)), () => 3000)
