/**
 * The hook inspector: a web page and a small JSON + Server-Sent Events API that show a running bus: its hooks, each
 * hook's resolved chain, live dispatches and plugin health. Opt-in (`HookInspector.layer`) and in its own entry point
 * (`hookbus/inspector`), so an application that does not import it pays nothing.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import { randomBytes, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import type { HookKind } from "../domain/Hook.ts"
import { InspectorListenFailed } from "../domain/InspectorErrors.ts"
import { InvalidOptions } from "../domain/InvalidOptions.ts"
import { HookBus } from "../services/HookBus.ts"
import type * as Plugin from "../wasm/Plugin.ts"
import { type DispatchView, Model, type PluginView } from "./internal/Model.ts"
import { clientScript, pageHtml } from "./internal/Page.ts"

/**
 * Where a value the inspector shows comes from: the hook (or, for a plugin's last error, the plugin) and the field.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { RedactContext } from "hookbus/inspector"
 *
 * const isArgument = (context: RedactContext) => context.field === "args"
 */
export interface RedactContext {
  /** The hook's name, or the plugin's for a plugin's last error. */
  readonly hook: string
  readonly kind: HookKind | "plugin"
  /** "value" (a filter's input), "result" (its output), "args" (one argument), "failure" (a failure's message). */
  readonly field: "value" | "result" | "args" | "failure"
}

/**
 * The user's redaction: what to show instead of a value (the value itself, a masked copy, a string, a `Redacted`).
 * Its result is rendered with every `Redacted` inside it shown as `<redacted>`; if it throws, the value is hidden.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { Redact } from "hookbus/inspector"
 *
 * const redact: Redact = (value, { hook }) => (hook.startsWith("user.") ? "[user data]" : value)
 */
export type Redact = (value: unknown, context: RedactContext) => unknown

/**
 * A plugin the inspector shows: its handle, and the folder it was loaded from (what the reload button reloads).
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import type { InspectedPlugin } from "hookbus/inspector"
 * import { Plugin } from "hookbus/wasm"
 *
 * const program = Effect.map(Plugin.load("plugins/seo"), (handle): InspectedPlugin => ({ handle, dir: "plugins/seo" }))
 */
export interface InspectedPlugin {
  readonly handle: Plugin.PluginHandle
  /** The plugin's folder: `Plugin.reload` reads the new version from it. Without it, the plugin cannot be reloaded. */
  readonly dir?: string | undefined
}

/**
 * Settings of the inspector.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Redacted } from "effect"
 * import type { HookInspectorOptions } from "hookbus/inspector"
 *
 * const options: HookInspectorOptions = {
 *   port: 4400,
 *   redact: (value, { hook }) => (hook === "user.login" ? Redacted.make(value) : value),
 *   maxValueLength: 120
 * }
 */
export interface HookInspectorOptions {
  /** The port to listen on (0: an ephemeral one; the address is printed and in `HookInspector`'s `url`). */
  readonly port: number
  /**
   * The address to bind (default "127.0.0.1"). On any address but loopback (127.0.0.0/8, ::1, localhost) every
   * request must carry the token printed at start.
   */
  readonly host?: string | undefined
  /** What to show instead of each value (filter values in and out, action arguments, failure messages). */
  readonly redact?: Redact | undefined
  /** The longest rendering of a value, in characters (default 200); longer ones are truncated. */
  readonly maxValueLength?: number | undefined
  /** How many recent dispatches are kept for the page (default 200). */
  readonly history?: number | undefined
  /** The plugins to show in the plugins panel: a list, or an Effect read on every request. */
  readonly plugins?:
    | ReadonlyArray<InspectedPlugin>
    | Effect.Effect<ReadonlyArray<InspectedPlugin>>
    | undefined
  /** Show a reload button that calls `Plugin.reload` from the plugin's folder (default false). */
  readonly allowReload?: boolean | undefined
  /** Print the address (and the token) once at start (default true). */
  readonly announce?: boolean | undefined
}

/**
 * A running inspector: where it listens, and its token when it is bound to a non-loopback address.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Effect } from "effect"
 * import { HookInspector } from "hookbus/inspector"
 *
 * const program = HookInspector.use((inspector) => Effect.log(`inspect the bus at ${inspector.url}`))
 */
export interface HookInspectorShape {
  /** The page's address, e.g. `http://127.0.0.1:4400/`. */
  readonly url: string
  /** The bound address and port. */
  readonly host: string
  readonly port: number
  /** The token every request must carry (header `Authorization: Bearer`, `?token=`, or the cookie the page sets). */
  readonly token: string | undefined
}

const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host)

const cookieName = "hookbus_inspector"

const optionsProblem = (o: HookInspectorOptions): InvalidOptions | undefined => {
  const invalid = (option: string, detail: string) => new InvalidOptions({ of: "HookInspector", option, detail })
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    return invalid("port", `must be a whole number from 0 to 65535, got ${String(o.port)}`)
  }
  if (o.host !== undefined && (typeof o.host !== "string" || o.host.trim() === "")) {
    return invalid("host", "must be a non-empty address")
  }
  for (const [option, value] of [["maxValueLength", o.maxValueLength], ["history", o.history]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      return invalid(option, `must be a positive integer, got ${String(value)}`)
    }
  }
  if (o.redact !== undefined && typeof o.redact !== "function") return invalid("redact", "must be a function")
  return undefined
}

const safeEqual = (given: string, token: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

const cookieOf = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  for (const part of header.split(";")) {
    const [name, ...rest] = part.trim().split("=")
    if (name === cookieName) return rest.join("=")
  }
  return undefined
}

const json = (body: unknown, status = 200) =>
  HttpServerResponse.jsonUnsafe(body, { status, headers: { "cache-control": "no-store" } })

const error = (status: number, message: string) => json({ error: message }, status)

const encoder = new TextEncoder()

const sseOf = (view: DispatchView): Uint8Array => encoder.encode(`event: dispatch\ndata: ${JSON.stringify(view)}\n\n`)

/** The plugins module, imported when a plugin is first asked about: an inspector without plugins never loads it. */
const pluginModule = Effect.promise(() => import("../wasm/Plugin.ts"))

const make = (options: HookInspectorOptions) =>
  Effect.gen(function*() {
    const problem = optionsProblem(options)
    if (problem !== undefined) return yield* problem
    const bus = yield* HookBus
    const host = options.host ?? "127.0.0.1"
    const loopback = isLoopback(host)
    const token = loopback ? undefined : randomBytes(24).toString("base64url")
    const allowReload = options.allowReload === true
    const model = new Model({
      maxValueLength: options.maxValueLength ?? 200,
      history: options.history ?? 200,
      ...(options.redact === undefined ? {} : { redact: options.redact })
    })
    const plugins: Effect.Effect<ReadonlyArray<InspectedPlugin>> = options.plugins === undefined
      ? Effect.succeed([])
      : Effect.isEffect(options.plugins)
      ? options.plugins
      : Effect.succeed(options.plugins)

    // One subscription feeds the figures, the recent dispatches and every live tail, a batch at a time. It starts
    // at once, so a dispatch made after the layer is built is seen. Views are made only while a tail is open.
    const live = yield* Effect.acquireRelease(PubSub.sliding<DispatchView>(256), PubSub.shutdown)
    let tails = 0
    yield* Effect.forkScoped(
      Stream.runForEachArray(bus.dispatches, (records) => {
        const views = model.ingest(records, tails > 0)
        return views.length === 0 ? Effect.void : PubSub.publishAll(live, views)
      }),
      { startImmediately: true }
    )

    const server = yield* NodeHttpServer.make(() => createServer(), { host, port: options.port }).pipe(
      Effect.mapError((e) => {
        const cause = e.cause as { readonly code?: unknown; readonly message?: unknown } | undefined
        return new InspectorListenFailed({
          host,
          port: options.port,
          reason: typeof cause?.code === "string" ? cause.code : "ServeError",
          detail: typeof cause?.message === "string" ? cause.message : String(cause)
        })
      })
    )
    const address = server.address
    const port = address._tag === "UnixPathAddress" ? options.port : address.port
    const shownHost = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host
    const url = `http://${shownHost}:${port}/`

    const findHook = (kind: string | null, name: string | null) =>
      Effect.map(bus.hooks, (hooks) => hooks.find((h) => h.kind === kind && h.name === name))

    const pluginViews = Effect.gen(function*() {
      const list = yield* plugins
      if (list.length === 0) return []
      const Plugin = yield* pluginModule
      return yield* Effect.forEach(list, ({ dir, handle }) =>
        Effect.map(Plugin.status(handle), (status): PluginView => ({
          name: handle.name,
          version: status.version,
          sha256: status.sha256,
          execution: status.execution,
          breaker: status.breaker,
          suspendedUntil: status.suspendedUntil,
          calls: status.calls,
          rejected: status.rejected,
          lastFuelUsed: status.lastFuelUsed,
          averageFuelUsed: status.averageFuelUsed,
          memoryPages: status.memoryPages,
          memoryPagesUsed: status.memoryPagesUsed,
          lastError: status.lastError === undefined
            ? undefined
            : {
              error: status.lastError._tag,
              message: model.presentPluginError(status.lastError.message, handle.name)
            },
          reloads: status.reloads,
          hooks: status.hooks,
          reloadable: allowReload && dir !== undefined
        })))
    })

    const reload = (name: string) =>
      Effect.gen(function*() {
        if (!allowReload) return error(403, "reload is off: start the inspector with allowReload: true")
        const found = (yield* plugins).find((p) => p.handle.name === name)
        if (found === undefined) return error(404, `no plugin named ${JSON.stringify(name)}`)
        if (found.dir === undefined) return error(409, `plugin "${name}" has no folder to reload from`)
        const Plugin = yield* pluginModule
        const NodeServices = yield* Effect.promise(() => import("@effect/platform-node/NodeServices"))
        const result = yield* Effect.result(
          Plugin.reload(found.handle, found.dir).pipe(
            Effect.provide(NodeServices.layer),
            Effect.provideService(HookBus, bus)
          )
        )
        return result._tag === "Success"
          ? json({ reloaded: name, version: found.handle.version })
          : json({ error: result.failure.message, tag: result.failure._tag }, 422)
      })

    const hostAllowed = (header: string | undefined): boolean => {
      if (header === undefined) return false
      const name = header.replace(/:\d+$/, "")
      return isLoopback(name)
    }

    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const target = new URL(request.url, "http://inspector")
      const headers = request.headers
      if (token === undefined) {
        // Loopback only: a page from elsewhere that reaches 127.0.0.1 through DNS rebinding carries its own Host.
        if (!hostAllowed(headers["host"])) return error(403, "the inspector answers on a loopback Host only")
      } else {
        const bearer = /^Bearer (.+)$/.exec(headers["authorization"] ?? "")?.[1]
        const query = target.searchParams.get("token") ?? undefined
        const given = bearer ?? query ?? cookieOf(headers["cookie"])
        if (given === undefined || !safeEqual(given, token)) {
          return error(401, "a token is required: open the address the inspector printed at start (…/?token=…)")
        }
        if (query !== undefined && request.method === "GET" && target.pathname === "/") {
          // The token moves into a cookie for the page's own requests, and out of the address bar.
          return HttpServerResponse.empty({
            status: 303,
            headers: {
              location: "/",
              "set-cookie": `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`
            }
          })
        }
      }
      const path = target.pathname
      if (request.method === "POST") {
        // A custom header: a cross-site form cannot send one, so no page elsewhere can press the button.
        if (headers["x-hookbus-inspector"] !== "1") return error(403, "POST needs the x-hookbus-inspector: 1 header")
        const reloadMatch = /^\/api\/plugins\/([^/]+)\/reload$/.exec(path)
        if (reloadMatch !== null) return yield* reload(decodeURIComponent(reloadMatch[1]))
        return error(404, `no such endpoint: POST ${path}`)
      }
      if (request.method !== "GET") return error(405, `${request.method} is not allowed; use GET`)
      switch (path) {
        case "/":
          return HttpServerResponse.html(pageHtml)
        case "/favicon.ico":
          return HttpServerResponse.empty({ status: 204 })
        case "/app.js":
          return HttpServerResponse.text(clientScript, { contentType: "text/javascript; charset=utf-8" })
        case "/api/hooks": {
          const hooks = yield* bus.hooks
          return json(hooks.map((h) => model.row(h)))
        }
        case "/api/hook": {
          const hook = yield* findHook(target.searchParams.get("kind"), target.searchParams.get("name"))
          return hook === undefined ? error(404, "no such hook") : json(model.detail(hook))
        }
        case "/api/dispatches":
          return json(model.dispatches())
        case "/api/plugins":
          return json({ allowReload, plugins: yield* pluginViews })
        case "/api/events":
          // Subscribed before the first line goes out: a client that has read it sees every later dispatch.
          return HttpServerResponse.stream(
            Stream.unwrap(Effect.map(
              Effect.andThen(
                Effect.acquireRelease(Effect.sync(() => tails++), () => Effect.sync(() => tails--)),
                PubSub.subscribe(live)
              ),
              (subscription) =>
                Stream.concat(
                  Stream.make(encoder.encode("retry: 2000\n\n")),
                  Stream.map(Stream.fromSubscription(subscription), sseOf)
                )
            )),
            { contentType: "text/event-stream", headers: { "cache-control": "no-store", "x-accel-buffering": "no" } }
          )
      }
      const dispatch = /^\/api\/dispatches\/(\d+)$/.exec(path)
      if (dispatch !== null) {
        const view = model.dispatch(Number(dispatch[1]))
        return view === undefined ? error(404, "no such dispatch (only the recent ones are kept)") : json(view)
      }
      return error(404, `no such page: ${path}`)
    })

    yield* server.serve(app)
    // Finalizers run last-first: this ends every live tail before the server's own close waits for its requests.
    yield* Effect.addFinalizer(() => PubSub.shutdown(live))
    if (options.announce !== false) {
      yield* Console.log(
        token === undefined
          ? `hookbus inspector on ${url}`
          : `hookbus inspector on ${url}?token=${token} (bound to ${host}: every request needs this token)`
      )
    }
    return HookInspector.of({ url, host, port, token })
  })

/**
 * The hook inspector service: provided by `HookInspector.layer`, it tells where the inspector listens.
 *
 * @since 0.1.0
 * @category services
 * @example
 * import { Effect, Layer } from "effect"
 * import { HookBus } from "hookbus"
 * import { HookInspector } from "hookbus/inspector"
 *
 * const App = HookInspector.layer({ port: 4400 }).pipe(Layer.provideMerge(HookBus.layer))
 * const program = HookInspector.use((inspector) => Effect.log(inspector.url)).pipe(Effect.provide(App))
 */
export class HookInspector extends Context.Service<HookInspector, HookInspectorShape>()("hookbus/HookInspector") {
  /**
   * Serves the inspector for the life of the layer, next to the bus it reads (through its public `hooks`,
   * `dispatches` and `handlers`). Options that cannot be used fail with `InvalidOptions`; an address it cannot
   * listen on with `InspectorListenFailed`.
   */
  static readonly layer = (
    options: HookInspectorOptions
  ): Layer.Layer<HookInspector, InvalidOptions | InspectorListenFailed, HookBus> =>
    Layer.effect(HookInspector, make(options))
}
