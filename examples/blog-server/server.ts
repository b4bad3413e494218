/**
 * A tiny blog API on the hook bus: posts are served through `the_content` filters (the bundled WebAssembly plugins
 * plus an in-process one), every view fires `post.viewed` as an async action, `/metrics` serves Prometheus text,
 * and traces go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set. `GET /` lists what there is to see. The hook
 * inspector (`hookbus/inspector`) runs next to it, on INSPECTOR_PORT (default 4400) of 127.0.0.1.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Data, Effect, Layer, Ref, Schema } from "effect"
import { FetchHttpClient, HttpRouter, HttpServer, HttpServerError, HttpServerResponse } from "effect/http"
import { OtlpSerialization, OtlpTracer, PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { bundledPlugins } from "../../src/cli/Cli.ts"
import { loadAll } from "../../src/cli/PluginSet.ts"
import { errorMessage } from "../../src/domain/errorMessage.ts"
import { Hook, HookBus } from "../../src/index.ts"
import {
  HookInspector,
  type HookInspectorOptions,
  type InspectedPlugin,
  InspectorListenFailed
} from "../../src/inspector/index.ts"

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

/** The plugins that loaded, with their folders, for the inspector's plugins panel. */
const loaded = Ref.makeUnsafe<ReadonlyArray<InspectedPlugin>>([])

/** The bundled plugins, an in-process content filter and a view counter, registered for the server's life. */
const Hooks = Layer.effectDiscard(Effect.gen(function*() {
  const bus = yield* HookBus
  const set = yield* loadAll(bundledPlugins)
  // The bundled plugins' folders are named after them.
  yield* Ref.set(loaded, set.handles.map((handle) => ({ handle, dir: `${bundledPlugins}/${handle.name}` })))
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

/** GET routes; every other method on their paths answers 405 with `Allow: GET`. */
const get = (
  path: `/${string}`,
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HookBus | HttpRouter.RouteContext>
) =>
  Layer.mergeAll(
    HttpRouter.add("GET", path, handler),
    ...(["POST", "PUT", "PATCH", "DELETE"] as const).map((method) =>
      HttpRouter.add(
        method,
        path,
        HttpServerResponse.jsonUnsafe({ error: `${method} is not allowed on ${path}; use GET` }, {
          status: 405,
          headers: { allow: "GET" }
        })
      )
    )
  )

const postUrl = (id: string) => `/posts/${id}`

const index = `<!doctype html>
<meta charset="utf-8">
<title>hookbus blog demo</title>
<h1>hookbus blog demo</h1>
<p>Posts are served through the <code>the_content</code> filters: the bundled WebAssembly plugins
<code>uppercase</code> and <code>reading-time</code>, then an in-process filter that wraps the text in
<code>&lt;article&gt;</code>. Every view fires <code>post.viewed</code>, an async action that counts views.</p>
<ul>
${[...posts].map(([id, post]) => `  <li><a href="${postUrl(id)}">${post.title}</a> (${postUrl(id)})</li>`).join("\n")}
  <li><a href="/posts">/posts</a>: every post, as JSON</li>
  <li><a href="/metrics">/metrics</a>: Prometheus metrics (<code>hookbus_dispatch_total</code>, fuel per plugin, ...)</li>
  <li><a href="/health">/health</a>: liveness</li>
</ul>
<p>Traces go over OTLP when <code>OTEL_EXPORTER_OTLP_ENDPOINT</code> is set.</p>
`

const Routes = Layer.mergeAll(
  get("/", Effect.succeed(HttpServerResponse.html(index))),
  get(
    "/posts",
    Effect.succeed(
      HttpServerResponse.jsonUnsafe([...posts].map(([id, post]) => ({ id, title: post.title, url: postUrl(id) })))
    )
  ),
  get(
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
  get("/health", Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ok" }))),
  get(
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

/** The routes, served, with the hooks, the inspector (unless off) and the bus they need. */
const app = (inspector: Omit<HookInspectorOptions, "plugins"> | undefined) =>
  HttpRouter.serve(Routes, { disableListenLog: true }).pipe(
    Layer.provide(Hooks),
    Layer.provide(
      inspector === undefined ? Layer.empty : HookInspector.layer({ ...inspector, plugins: Ref.get(loaded) })
    ),
    Layer.provideMerge(HookBus.layerWith({ asyncShutdownGrace: "5 seconds" }).pipe(Layer.provide(Stopped)))
  )

/** Says where the server listens, once the routes are served (so the first request never races the startup). */
const Ready = Layer.effectDiscard(
  HttpServer.addressFormattedWith((address) => Console.log(`blog-server listening on ${address}`))
)

/** The server on `port` (0 for an ephemeral one), and the inspector with these options (`undefined`: none). */
export const server = (port: number, inspector?: Omit<HookInspectorOptions, "plugins"> | undefined) =>
  Ready.pipe(
    Layer.provide(app(inspector)),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
    Layer.provide(NodeServices.layer),
    Layer.provide(Tracing)
  )

/** PORT is not a port number. */
export class InvalidPort extends Data.TaggedError("InvalidPort")<{
  readonly value: string
  readonly variable?: "PORT" | "INSPECTOR_PORT"
}> {
  override get message(): string {
    const variable = this.variable ?? "PORT"
    return `${variable} must be a whole number from 0 to 65535${
      variable === "INSPECTOR_PORT" ? " (or \"off\")" : ""
    }, got ${JSON.stringify(this.value)} (e.g. ${variable}=${variable === "PORT" ? 3001 : 4401} npm run demo:server)`
  }
}

/** Reads the port from PORT (default 3000; 0 for an ephemeral one). */
export const portFromEnv: Effect.Effect<number, InvalidPort> = Effect.suspend(() => {
  const value = process.env.PORT
  if (value === undefined || value === "") return Effect.succeed(3000)
  const port = Number(value)
  return /^\d+$/.test(value.trim()) && port <= 65535 ? Effect.succeed(port) : Effect.fail(new InvalidPort({ value }))
})

/**
 * The inspector's options from INSPECTOR_PORT (default 4400; 0 for an ephemeral one; "off" for none),
 * INSPECTOR_HOST (default 127.0.0.1; any other address needs the token it prints) and INSPECTOR_RELOAD=1 (the
 * plugins panel's reload buttons).
 */
export const inspectorFromEnv: Effect.Effect<Omit<HookInspectorOptions, "plugins"> | undefined, InvalidPort> = Effect
  .suspend(() => {
    const value = process.env.INSPECTOR_PORT
    if (value === "off") return Effect.succeed(undefined)
    const port = value === undefined || value === "" ? 4400 : Number(value)
    if (value !== undefined && value !== "" && !(/^\d+$/.test(value.trim()) && port <= 65535)) {
      return Effect.fail(new InvalidPort({ value, variable: "INSPECTOR_PORT" }))
    }
    const host = process.env.INSPECTOR_HOST
    return Effect.succeed({
      port,
      ...(host === undefined || host === "" ? {} : { host }),
      allowReload: process.env.INSPECTOR_RELOAD === "1"
    })
  })

/** One line for why the server could not start: the port, and what to do about it. */
export const startupError = (port: number, error: { readonly _tag: string; readonly message: string }): string => {
  if (error instanceof InspectorListenFailed && error.reason === "EADDRINUSE") {
    return `the inspector's port ${error.port} on ${error.host} is in use: set INSPECTOR_PORT to a free port (e.g. INSPECTOR_PORT=${
      error.port + 1
    } npm run demo:server), or INSPECTOR_PORT=off`
  }
  if (!(error instanceof HttpServerError.ServeError)) return error.message
  const code = (error.cause as { readonly code?: unknown } | undefined)?.code
  if (code === "EADDRINUSE") {
    return `port ${port} on 127.0.0.1 is in use: stop what is listening there, or set PORT to a free port (e.g. PORT=${
      port + 1
    } npm run demo:server)`
  }
  if (code === "EACCES") return `no permission to listen on port ${port}: set PORT to a port above 1023`
  return `cannot listen on 127.0.0.1:${port}: ${errorMessage(error.cause)}`
}
