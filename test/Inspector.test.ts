/**
 * The hook inspector's JSON and Server-Sent Events API, over real HTTP on an ephemeral 127.0.0.1 port: the hooks
 * list and a chain with its constraint edges, recorded dispatches (values redacted and truncated, failures with
 * their typed cause, short-circuits, skipped handlers), the live tail, the plugins panel and its reload switch, the
 * token on a non-loopback address, and the bus's own introspection (`bus.hooks`, record timings).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Context, Data, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { TestClock } from "effect/testing"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { request } from "node:http"
import { fileURLToPath } from "node:url"
import { Hook, HookBus, HookRecorder, ShortCircuit } from "../src/index.ts"
import { HookInspector, type HookInspectorOptions } from "../src/inspector/index.ts"
import { Plugin } from "../src/wasm/index.ts"

const Content = Hook.filter<string>("the_content")
const Login = Hook.action<[user: string, password: Redacted.Redacted<string>]>("user.login")
const Title = Hook.filter<string>("the_title")
const Count = Hook.filter<number>("count")
const uppercase = fileURLToPath(new URL("../examples/plugins/uppercase", import.meta.url))

class NotAllowed extends Data.TaggedError("NotAllowed")<{ readonly message: string }> {}

/** The inspector (quiet) next to a fresh bus. */
const withInspector = <A, E>(
  options: Omit<HookInspectorOptions, "port"> & { readonly port?: number },
  body: (base: string, inspector: HookInspector["Service"]) => Effect.Effect<A, E, HookBus | Scope.Scope>
) =>
  Effect.gen(function*() {
    const inspector = yield* HookInspector
    return yield* body(inspector.url.replace(/\/$/, ""), inspector)
  }).pipe(
    Effect.scoped,
    Effect.provide(
      HookInspector.layer({ port: 0, announce: false, ...options }).pipe(Layer.provideMerge(Layer.fresh(HookBus.layer)))
    )
  )

const get = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, headers: response.headers, text: await response.text() }
  })
const getJson = <A>(url: string, init?: RequestInit) =>
  Effect.map(get(url, init), (r) => {
    assert.strictEqual(r.status, 200, r.text)
    return JSON.parse(r.text) as A
  })

/** A request with a Host header of our choosing (fetch will not send one). */
const withHost = (url: string, host: string) =>
  Effect.promise(() =>
    new Promise<number>((resolve, reject) => {
      const req = request(url, { headers: { host } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end()
    })
  )

interface Row {
  readonly name: string
  readonly kind: string
  readonly handlers: number
  readonly dispatches: number
  readonly errors: number
  readonly p50Millis: number | undefined
  readonly p99Millis: number | undefined
}
interface View {
  readonly id: number
  readonly hook: string
  readonly kind: string
  readonly outcome: string
  readonly value?: string
  readonly result?: string
  readonly args: ReadonlyArray<string>
  readonly handlers: ReadonlyArray<string>
  readonly failures: ReadonlyArray<
    { readonly source: string; readonly reason: string; readonly error: string; readonly skipped: boolean }
  >
  readonly shortCircuitedBy?: string
  readonly timings?: ReadonlyArray<
    {
      readonly source: string
      readonly startMillis: number
      readonly durationMillis?: number
      readonly outcome: string
    }
  >
}

describe("bus introspection", () => {
  it.effect("bus.hooks lists every hook with its chain in run order and its dispatch count", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(Content, (s) => Effect.succeed(s), { source: "b", priority: 5 })
      yield* bus.addFilter(Content, (s) => Effect.succeed(s), { source: "a", priority: 1, after: ["b"] })
      yield* bus.addAction(Login, () => Effect.void, { source: "audit", mode: "async", orderBy: (user) => user })
      yield* bus.applyFilters(Title, "untouched")
      const hooks = yield* bus.hooks
      const content = hooks.find((h) => h.name === "the_content")!
      assert.deepStrictEqual(content.handlers.map((h) => [h.source, h.after, h.onError]), [
        ["b", [], "abort"],
        ["a", ["b"], "abort"]
      ])
      const login = hooks.find((h) => h.name === "user.login")!
      assert.deepStrictEqual([login.kind, login.handlers[0].mode, login.handlers[0].ordered], ["action", "async", true])
      // Async handlers show the bus's bound on runs in flight; others have none.
      assert.deepStrictEqual(login.handlers[0].bound, { concurrency: 1024, overflow: "wait" })
      assert.isUndefined(content.handlers[0].bound)
      assert.deepStrictEqual(hooks.find((h) => h.name === "the_title"), {
        name: "the_title",
        kind: "filter",
        handlers: [],
        dispatches: 1
      })
      // The meta hooks exist from the start, but with no handler and no dispatch they are not listed.
      assert.isFalse(hooks.some((h) => h.name.startsWith("hookbus.")))
    }).pipe(Effect.scoped, Effect.provide(Layer.fresh(HookBus.layer))))
})

describe("dispatch records' timings", () => {
  it.effect("a dispatch is timed unless another of its hook was in the same millisecond", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(Content, (s) => Effect.succeed(s + "!"), { source: "bang" })
      yield* bus.addFilter(Content, (s) => Effect.succeed(s + "?"), { source: "ask" })
      for (let i = 0; i < 3; i++) yield* bus.applyFilters(Content, "x")
      yield* TestClock.adjust("1 millis")
      yield* bus.applyFilters(Content, "y")
      const records = yield* HookRecorder.use((r) => r.recordsOf("the_content"))
      assert.deepStrictEqual(records.map((r) => r.timings?.map((t) => t.source)), [
        ["bang", "ask"],
        undefined,
        undefined,
        ["bang", "ask"]
      ])
      // Untimed or not, every record names its handlers and when it started (the TestClock's time).
      assert.deepStrictEqual(records.map((r) => [r.handlers, r.startedAt]), [
        [["bang", "ask"], 0],
        [["bang", "ask"], 0],
        [["bang", "ask"], 0],
        [["bang", "ask"], 1]
      ])
      assert.isTrue(records[0].timings!.every((t) => t.outcome === "ok" && t.durationMillis === 0))
    }).pipe(Effect.scoped, Effect.provide(Layer.fresh(HookBus.layerTest))))
})

describe("HookInspector API", () => {
  it.live("lists hooks with their figures, and a hook's chain with the edges its constraints make", () =>
    withInspector({}, (base) =>
      Effect.gen(function*() {
        const bus = yield* HookBus
        yield* bus.addFilter(Content, (s) => Effect.succeed(`<p>${s}</p>`), { source: "wrap", priority: 1 })
        yield* bus.addFilter(Content, (s) => Effect.succeed(s.trim()), { source: "trim", before: ["wrap"] })
        yield* bus.addFilter(Content, (s) => Effect.succeed(s), { source: "last", priority: 20 })
        yield* bus.addFilter(Count, (n) =>
          n > 1 ? Effect.fail(new NotAllowed({ message: "too big" })) : Effect.succeed(n))
        for (let i = 0; i < 3; i++) {
          yield* bus.applyFilters(Content, " hi ")
        }
        yield* Effect.exit(bus.applyFilters(Count, 5))
        const rows = yield* getJson<ReadonlyArray<Row>>(`${base}/api/hooks`)
        const content = rows.find((r) =>
          r.name === "the_content"
        )!
        assert.deepInclude(content, { kind: "filter", handlers: 3, dispatches: 3, errors: 0 })
        assert.isTrue(content.p50Millis! >= 0 && content.p99Millis! >= content.p50Millis!)
        assert.deepInclude(rows.find((r) => r.name === "count")!, { errors: 1, dispatches: 1 })
        const detail = yield* getJson<
          { chain: ReadonlyArray<{ source: string; priority: number }>; edges: ReadonlyArray<unknown> }
        >(`${base}/api/hook?kind=filter&name=the_content`)
        assert.deepStrictEqual(detail.chain.map((h) => h.source), ["trim", "wrap", "last"])
        assert.deepStrictEqual(detail.edges, [{ from: "trim", to: "wrap", by: "trim", constraint: "before" }])
        assert.strictEqual((yield* get(`${base}/api/hook?kind=action&name=the_content`)).status, 404)
      })))

  it.live("shows dispatches redacted and truncated, with typed failures, short-circuits and skipped handlers", () =>
    withInspector({
      maxValueLength: 40,
      redact: (value, { field, hook }) => hook === "the_title" && field === "value" ? "[title hidden]" : value
    }, (base) =>
      Effect.gen(function*() {
        const bus = yield* HookBus
        yield* bus.addAction(Login, () => Effect.void, { source: "audit" })
        yield* bus.addFilter(Title, () => Effect.fail(new NotAllowed({ message: "no titles" })), {
          source: "flaky",
          onError: "skip"
        })
        yield* bus.addFilter(Title, (s) => new ShortCircuit({ value: s.toUpperCase() }), { source: "stopper" })
        yield* bus.addFilter(Title, (s) => Effect.succeed(s), { source: "never" })
        yield* bus.addFilter(Content, (s) => Effect.succeed(s + s), { source: "double" })
        yield* bus.doAction(Login, "ada", Redacted.make("hunter2"))
        yield* bus.applyFilters(Title, "secret title")
        yield* bus.applyFilters(Content, "x".repeat(100))
        const text = (yield* get(`${base}/api/dispatches`)).text
        assert.notInclude(text, "hunter2")
        assert.notInclude(text, "secret title")
        const views = JSON.parse(text) as ReadonlyArray<View>
        const [login, title, content] = views
        assert.deepStrictEqual(login.args, ["\"ada\"", "<redacted>"])
        assert.strictEqual(title.value, "\"[title hidden]\"")
        assert.strictEqual(title.result, "\"SECRET TITLE\"")
        assert.deepInclude(title, { outcome: "short_circuit", shortCircuitedBy: "stopper" })
        assert.deepStrictEqual(title.handlers, ["flaky", "stopper"])
        assert.deepStrictEqual(title.failures.map((f) => [f.source, f.reason, f.error, f.skipped]), [
          ["flaky", "Failure", "NotAllowed", true]
        ])
        assert.deepStrictEqual(title.timings!.map((t) => [t.source, t.outcome]), [["flaky", "failed"], [
          "stopper",
          "failed"
        ]])
        assert.isTrue(title.timings!.every((t) => t.startMillis >= 0 && t.durationMillis! >= 0))
        assert.match(content.value!, /^"x{39}\.\.\. \(truncated\)$/)
        const one = yield* getJson<View>(`${base}/api/dispatches/${title.id}`)
        assert.strictEqual(one.hook, "the_title")
        assert.strictEqual((yield* get(`${base}/api/dispatches/999999`)).status, 404)
      })))

  it.live("streams each dispatch to the live tail as a Server-Sent Event", () =>
    withInspector({}, (base) =>
      Effect.gen(function*() {
        const bus = yield* HookBus
        yield* bus.addFilter(Content, (s) => Effect.succeed(s.toUpperCase()), { source: "upper" })
        const controller = new AbortController()
        const response = yield* Effect.promise(() => fetch(`${base}/api/events`, { signal: controller.signal }))
        assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/)
        const reader = response.body!.getReader()
        const decoder = new TextDecoder()
        let received = ""
        const readUntil = (pattern: RegExp) =>
          Effect.promise(async () => {
            while (!pattern.test(received)) {
              const chunk = await reader.read()
              if (chunk.done) throw new Error(`stream ended: ${received}`)
              received += decoder.decode(chunk.value, { stream: true })
            }
          })
        yield* readUntil(/retry: \d+\n\n/)
        yield* bus.applyFilters(Content, "live")
        yield* readUntil(/event: dispatch\ndata: (.+)\n\n/)
        controller.abort()
        const data = JSON.parse(/event: dispatch\ndata: (.+)\n\n/.exec(received)![1]) as View
        assert.deepInclude(data, { hook: "the_content", kind: "filter", value: "\"live\"", result: "\"LIVE\"" })
      })))

  it.live("closing the layer ends open live tails, so the server's close does not wait on them", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        HookInspector.layer({ port: 0, announce: false }).pipe(Layer.provideMerge(Layer.fresh(HookBus.layer))),
        scope
      )
      const { url } = Context.get(context, HookInspector)
      const response = yield* Effect.promise(() => fetch(`${url}api/events`))
      const reader = response.body!.getReader()
      assert.match(new TextDecoder().decode((yield* Effect.promise(() => reader.read())).value), /^retry: /)
      yield* Scope.close(scope, Exit.void)
      const end = yield* Effect.promise(() => reader.read().catch(() => ({ done: true as const, value: undefined })))
      assert.isTrue(end.done)
    }))

  it.live("serves the page and its script; refuses a foreign Host on loopback, and unknown paths", () =>
    withInspector({}, (base, inspector) =>
      Effect.gen(function*() {
        assert.isUndefined(inspector.token)
        const page = yield* get(`${base}/`)
        assert.match(page.headers.get("content-type") ?? "", /^text\/html/)
        assert.include(page.text, `<script type="module" src="/app.js">`)
        const script = yield* get(`${base}/app.js`)
        assert.match(script.headers.get("content-type") ?? "", /^text\/javascript/)
        assert.include(script.text, "function inspectorClient()")
        assert.strictEqual(yield* withHost(`${base}/api/hooks`, "evil.example:80"), 403)
        assert.strictEqual(yield* withHost(`${base}/api/hooks`, `localhost:${inspector.port}`), 200)
        assert.strictEqual((yield* get(`${base}/nope`)).status, 404)
        assert.strictEqual((yield* get(`${base}/api/hooks`, { method: "DELETE" })).status, 405)
      })))

  it.live("on a non-loopback address, every request needs the token (header, query or the cookie it sets)", () =>
    withInspector({ host: "0.0.0.0" }, (_, inspector) =>
      Effect.gen(function*() {
        const token = inspector.token!
        assert.isAtLeast(token.length, 32)
        const base = `http://127.0.0.1:${inspector.port}`
        for (const path of ["/", "/app.js", "/api/hooks", "/api/events", "/api/plugins"]) {
          const denied = yield* get(`${base}${path}`)
          assert.strictEqual(denied.status, 401, path)
          assert.notInclude(denied.text, token)
        }
        assert.strictEqual(
          (yield* get(`${base}/api/hooks`, { headers: { authorization: "Bearer wrong" } })).status,
          401
        )
        assert.strictEqual(
          (yield* get(`${base}/api/hooks`, { headers: { authorization: `Bearer ${token}` } })).status,
          200
        )
        const entry = yield* get(`${base}/?token=${token}`, { redirect: "manual" })
        assert.strictEqual(entry.status, 303)
        const cookie = entry.headers.get("set-cookie")!.split(";")[0]
        assert.match(entry.headers.get("set-cookie")!, /HttpOnly; SameSite=Strict/)
        assert.strictEqual((yield* get(`${base}/api/hooks`, { headers: { cookie } })).status, 200)
      })))

  it.live("shows plugins (version, integrity, fuel, memory, breaker, last error); reload only when allowed", () =>
    Effect.gen(function*() {
      const bytes = readFileSync(`${uppercase}/build/uppercase.wasm`)
      const sha256 = createHash("sha256").update(bytes).digest("hex")
      for (const allowReload of [false, true]) {
        yield* Effect.gen(function*() {
          const bus = yield* HookBus
          const handle = yield* Plugin.load(uppercase)
          yield* bus.applyFilters(Content, "hello")
          yield* withInspectorFor(handle, allowReload, (base) =>
            Effect.gen(function*() {
              const { plugins } = yield* getJson<{ plugins: ReadonlyArray<Record<string, unknown>> }>(
                `${base}/api/plugins`
              )
              assert.deepInclude(plugins[0], {
                name: "uppercase",
                version: "1.0.0",
                sha256,
                execution: "inline",
                breaker: "closed",
                memoryPages: 64,
                memoryPagesUsed: 1,
                calls: 1,
                reloadable: allowReload
              })
              assert.isAbove(plugins[0].averageFuelUsed as number, 0)
              const post = (headers: Record<string, string>) =>
                get(`${base}/api/plugins/uppercase/reload`, { method: "POST", headers })
              assert.strictEqual((yield* post({})).status, 403)
              const reloaded = yield* post({ "x-hookbus-inspector": "1" })
              assert.strictEqual(reloaded.status, allowReload ? 200 : 403, reloaded.text)
              const after = yield* Plugin.status(handle)
              assert.strictEqual(after.reloads, allowReload ? 1 : 0)
            }))
        }).pipe(Effect.scoped, Effect.provide(Layer.fresh(HookBus.layer)), Effect.provide(NodeServices.layer))
      }
    }))

  it.live("fails with InvalidOptions for options it cannot use, and InspectorListenFailed for a taken port", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.exit(
        Layer.build(HookInspector.layer({ port: 70000, announce: false })).pipe(
          Effect.scoped,
          Effect.provide(Layer.fresh(HookBus.layer))
        )
      )
      assert.isTrue(Exit.isFailure(bad))
      assert.include(String(Exit.isFailure(bad) ? bad.cause : ""), "invalid HookInspector option port")
      yield* withInspector({}, (_, inspector) =>
        Effect.gen(function*() {
          const taken = yield* Effect.flip(
            Layer.build(HookInspector.layer({ port: inspector.port, announce: false })).pipe(Effect.scoped)
          )
          assert.deepInclude(taken, { _tag: "InspectorListenFailed", port: inspector.port, reason: "EADDRINUSE" })
        }))
    }))
})

/** The inspector over the bus in context, showing one plugin loaded from its folder. */
const withInspectorFor = <A, E>(
  handle: Plugin.PluginHandle,
  allowReload: boolean,
  body: (base: string) => Effect.Effect<A, E, HookBus>
) =>
  Effect.gen(function*() {
    const inspector = yield* HookInspector
    return yield* body(inspector.url.replace(/\/$/, ""))
  }).pipe(
    Effect.provide(
      HookInspector.layer({ port: 0, announce: false, allowReload, plugins: [{ handle, dir: uppercase }] })
    )
  )
