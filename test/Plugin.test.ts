import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, FileSystem, Layer, Schema, Scope } from "effect"
import { createHash } from "node:crypto"
import { type FilterFailed, Hook, HookBus } from "../src/index.ts"
import { InvalidOptions, Manifest, Plugin } from "../src/wasm/index.ts"
import { abiModule, compileWat, fixture, returningBody } from "./fixtures/wat.ts"
import { captureLogs, type LogEntry, manifest, messageOf } from "./helpers.ts"

const TheContent = Hook.filter<string>("the_content")

const gonextManifest = manifest("gonext", [
  { name: "the_content", kind: "filter" },
  { name: "on_event", kind: "action" },
  { name: "trip_panic", kind: "filter" }
])

const withBus = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))))

describe("Plugin.fromBytes", () => {
  it.effect("registers every manifest hook with source plugin:<name>; the filter takes part in the chain", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const handle = yield* Plugin.fromBytes(yield* fixture("abi-fixture.wat"), gonextManifest)
      assert.deepStrictEqual([handle.name, handle.version, handle.registrations.length], ["gonext", "1.0.0", 3])
      yield* bus.addFilter(TheContent, (s) => Effect.succeed(`<p>${s}</p>`), { source: "wrap", priority: 20 })
      yield* bus.addFilter(TheContent, (s) => Effect.succeed(s.trim()), { source: "trim", priority: 1 })
      assert.deepStrictEqual((yield* bus.handlers(TheContent)).map((h) => h.source), ["trim", "plugin:gonext", "wrap"])
      assert.strictEqual(yield* bus.applyFilters(TheContent, "  hello  "), "<p>HELLO</p>")
      yield* bus.doAction(Hook.action("on_event"), { id: 1 })
    })))

  it.effect("a handle is opaque: Plugin.isPluginHandle knows one; a look-alike is refused by reload and status", () =>
    withBus(Effect.gen(function*() {
      const handle = yield* Plugin.fromBytes(yield* fixture("abi-fixture.wat"), gonextManifest)
      assert.isTrue(Plugin.isPluginHandle(handle))
      assert.strictEqual(handle[Plugin.TypeId], Plugin.TypeId)
      assert.strictEqual(handle.dispatcher, handle.instance, "the deprecated name is the same instance")
      const lookAlike = { ...handle, [Plugin.TypeId]: Plugin.TypeId } as Plugin.PluginHandle
      for (const u of [{ name: "gonext" }, null, "gonext", 1]) assert.isFalse(Plugin.isPluginHandle(u))
      const exit = yield* Effect.exit(Plugin.status(lookAlike))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.strictEqual((yield* Plugin.status(handle)).plugin, "gonext")
    })))

  it.effect("host options that cannot be used fail the load with InvalidOptions; nothing registers", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const bytes = yield* fixture("abi-fixture.wat")
      const bad = yield* Effect.flip(Plugin.fromBytes(bytes, gonextManifest, { limits: { fuel: -5 } }))
      assert.instanceOf(bad, InvalidOptions)
      assert.strictEqual(bad.message, "invalid Plugin option limits.fuel: must be a positive integer, got -5")
      const files = yield* Effect.flip(Plugin.fromBytes(bytes, gonextManifest, { files: { maxManifestBytes: 0 } }))
      assert.deepStrictEqual([files._tag, (files as InvalidOptions).option], [
        "InvalidOptions",
        "files.maxManifestBytes"
      ])
      assert.isFalse(yield* bus.has(TheContent))
    })))

  it.effect("manifest priority, constraints and mode are honoured; the source is always plugin:<name>", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(TheContent, (s) => Effect.succeed(s), { source: "core", priority: 1 })
      yield* Plugin.fromBytes(
        yield* fixture("abi-fixture.wat"),
        manifest("shouty", [
          { name: "the_content", kind: "filter", priority: 0, after: ["core"] },
          { name: "on_event", kind: "action", mode: "async" }
        ])
      )
      const handlers = yield* bus.handlers(TheContent)
      assert.deepStrictEqual(handlers.map((h) => [h.source, h.priority]), [["core", 1], ["plugin:shouty", 0]])
      assert.strictEqual((yield* bus.handlers(Hook.action("on_event")))[0].mode, "async")
    })))

  it.effect("a plugin short-circuit stops the chain with its value", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const bytes = yield* compileWat(returningBody(`{"value":"cached","shortCircuit":true}`))
      yield* Plugin.fromBytes(bytes, manifest("cache", [{ name: "the_content", kind: "filter", priority: 1 }]))
      yield* bus.addFilter(TheContent, () => Effect.succeed("never"), { source: "later" })
      const result = yield* bus.applyFiltersResult(TheContent, "x")
      assert.strictEqual(result.value, "cached")
      assert.strictEqual(result.shortCircuitedBy._tag === "Some" && result.shortCircuitedBy.value, "plugin:cache")
    })))

  it.effect("plugin errors become HandlerFailed carrying the tagged plugin error", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      yield* Plugin.fromBytes(yield* fixture("abi-fixture.wat"), gonextManifest)
      const error = (yield* Effect.flip(bus.applyFilters(Hook.filter("trip_panic"), "x"))) as FilterFailed<unknown>
      assert.strictEqual(error.failure.source, "plugin:gonext")
      assert.strictEqual(error.failure.reason, "Failure")
      const pluginError = error.failure.error as { _tag: string; kind: string; plugin: string }
      assert.deepStrictEqual([pluginError._tag, pluginError.kind, pluginError.plugin], ["Trapped", "panic", "gonext"])
      // The plugin keeps serving after its trap.
      assert.strictEqual(yield* bus.applyFilters(TheContent, "ok"), "OK")
    })))

  it.effect("a hook defined with schemas: values encode on the way in, results decode on the way out", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const Count = Hook.filter("count", { value: Schema.NumberFromString })
      yield* Plugin.fromBytes(
        yield* compileWat(returningBody(`{"value":"41"}`)),
        manifest("plug", [{ name: "count", kind: "filter" }])
      )
      assert.strictEqual(yield* bus.applyFilters(Count, 1), 41)
      const Strict = Hook.filter("strict", { value: Schema.Number })
      yield* Plugin.fromBytes(
        yield* compileWat(returningBody(`{"value":"not a number"}`)),
        manifest("liar", [{ name: "strict", kind: "filter" }])
      )
      const error = (yield* Effect.flip(bus.applyFilters(Strict, 1))) as FilterFailed<number>
      const bad = error.failure.error as { _tag: string; message: string }
      assert.strictEqual(bad._tag, "BadPayload")
      assert.include(bad.message, "does not decode with the hook's schema")
      assert.strictEqual(error.value, 1)
    })))

  it.effect("a value that cannot be encoded fails clearly before the guest runs", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const handle = yield* Plugin.fromBytes(
        yield* compileWat(abiModule({ handle: "unreachable" })),
        manifest("plug", [
          { name: "the_content", kind: "filter" }
        ])
      )
      const Anything = Hook.filter<unknown>("the_content")
      const error = (yield* Effect.flip(bus.applyFilters(Anything, { f: () => 1 }))) as FilterFailed<unknown>
      assert.strictEqual((error.failure.error as { _tag: string })._tag, "UnencodableValue")
      const NonEmpty = Hook.filter("the_content", { value: Schema.NonEmptyString })
      const schemaError = (yield* Effect.flip(bus.applyFilters(NonEmpty, ""))) as FilterFailed<string>
      assert.strictEqual((schemaError.failure.error as { _tag: string })._tag, "UnencodableValue")
      assert.strictEqual(yield* handle.instance.instances, 1, "the guest never ran")
    })))

  it.effect("closing the scope removes every registration, then releases the instance", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const handle = yield* Effect.scoped(Plugin.fromBytes(yield* fixture("abi-fixture.wat"), gonextManifest))
      assert.isFalse(yield* bus.has(TheContent))
      assert.isFalse(yield* bus.has(Hook.action("on_event")))
      const exit = yield* Effect.exit(handle.instance.callFilter("the_content", "x"))
      assert.isTrue(Exit.isFailure(exit))
    })))

  it.effect("loading is atomic: a refused registration undoes the others", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(Hook.filter("second"), (v) => Effect.succeed(v), { source: "a", after: ["plugin:plug"] })
      const error = yield* Effect.flip(Plugin.fromBytes(
        yield* fixture("abi-fixture.wat"),
        manifest("plug", [{ name: "the_content", kind: "filter" }, { name: "second", kind: "filter", after: ["a"] }])
      ))
      assert.strictEqual(error._tag, "RegistrationRejected")
      assert.isFalse(yield* bus.has(TheContent))
    })))

  it.effect("an invalid manifest lists every problem with its JSON path", () =>
    withBus(Effect.gen(function*() {
      const error = yield* Effect.flip(Plugin.fromBytes(new Uint8Array(), {
        abi: 2,
        name: "Bad Name",
        version: "1.0",
        wasm: { path: "../escape.wasm" },
        hooks: [{ name: "", kind: "event" }, { name: "ok", kind: "filter", mode: "async" }],
        limits: { memoryPages: 0 },
        extra: true
      }))
      assert.strictEqual(error._tag, "ManifestInvalid")
      if (error._tag === "ManifestInvalid") {
        assert.sameMembers(error.problems.map((p) => p.path), [
          "extra",
          "abi",
          "name",
          "version",
          "wasm.path",
          "hooks[0].name",
          "hooks[0].kind",
          "hooks[1]",
          "limits.memoryPages"
        ])
      }
    })))

  it.effect("a sha256 that does not match fails with IntegrityMismatch before compiling", () =>
    withBus(Effect.gen(function*() {
      const notWasm = new TextEncoder().encode("definitely not wasm")
      const error = yield* Effect.flip(
        Plugin.fromBytes(notWasm, manifest("plug", [], { wasm: { path: "p.wasm", sha256: "0".repeat(64) } }))
      )
      assert.strictEqual(error._tag, "IntegrityMismatch")
      if (error._tag === "IntegrityMismatch") {
        assert.strictEqual(error.actual, createHash("sha256").update(notWasm).digest("hex"))
      }
    })))
})

describe("the action envelope, end to end through the bus", () => {
  // Logs the hook name it was called with, then its whole payload: exactly what the guest received.
  const logsPayload = abiModule({
    imports: `(import "env" "gn_log" (func $log (param i32 i32 i32)))`,
    handle: `(call $log (i32.const 1) (local.get $np) (local.get $nl))
      (call $log (i32.const 1) (local.get $pp) (local.get $pl))
      (i64.const 0)`
  })

  it.effect("doAction with a string, an int, a map and no args: the guest receives exactly this JSON", () => {
    const entries: Array<LogEntry> = []
    return withBus(
      Effect.gen(function*() {
        const bus = yield* HookBus
        yield* Plugin.fromBytes(
          yield* compileWat(logsPayload),
          manifest("echo", [{ name: "post.saved", kind: "action" }])
        )
        const PostSaved = Hook.action<Array<unknown>>("post.saved")
        yield* bus.doAction(PostSaved, "é \"quoted\"\n")
        yield* bus.doAction(PostSaved, 42)
        yield* bus.doAction(PostSaved, -7, 0)
        yield* bus.doAction(PostSaved, { id: 1, tags: ["a", "b"], nested: { ok: true, none: null } })
        yield* bus.doAction(PostSaved)
        const lines = entries.filter((e) => e.annotations.plugin === "echo").map((e) => [
          e.level,
          e.annotations.hook,
          messageOf(e)
        ])
        const envelope = (payload: string) => [["INFO", "post.saved", "post.saved"], ["INFO", "post.saved", payload]]
        assert.deepStrictEqual(lines, [
          ...envelope(`{"kind":"action","args":["é \\"quoted\\"\\n"]}`),
          ...envelope(`{"kind":"action","args":[42]}`),
          ...envelope(`{"kind":"action","args":[-7,0]}`),
          ...envelope(`{"kind":"action","args":[{"id":1,"tags":["a","b"],"nested":{"ok":true,"none":null}}]}`),
          ...envelope(`{"kind":"action","args":[]}`)
        ])
      }).pipe(captureLogs(entries))
    )
  })

  it.effect("a hook with args schemas encodes each argument before the guest sees it", () => {
    const entries: Array<LogEntry> = []
    return withBus(
      Effect.gen(function*() {
        const bus = yield* HookBus
        yield* Plugin.fromBytes(yield* compileWat(logsPayload), manifest("echo", [{ name: "typed", kind: "action" }]))
        const Typed = Hook.action("typed", {
          args: [Schema.String, Schema.NumberFromString, Schema.Record(Schema.String, Schema.Int)]
        })
        yield* bus.doAction(Typed, "s", 5, { a: 1, b: 2 })
        const payloads = entries.filter((e) => e.annotations.plugin === "echo").map(messageOf)
        assert.deepStrictEqual(payloads, ["typed", `{"kind":"action","args":["s","5",{"a":1,"b":2}]}`])
      }).pipe(captureLogs(entries))
    )
  })
})

describe("Plugin.load", () => {
  const writePlugin = (files: Record<string, string | Uint8Array>) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      for (const [name, content] of Object.entries(files)) {
        if (name.includes("/")) {
          yield* fs.makeDirectory(`${dir}/${name.slice(0, name.lastIndexOf("/"))}`, { recursive: true })
        }
        if (typeof content === "string") yield* fs.writeFileString(`${dir}/${name}`, content)
        else yield* fs.writeFile(`${dir}/${name}`, content)
      }
      return dir
    })

  const Platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

  /** A folder holding the fixture plugin "disk" (one filter on the_content), with its module's checksum. */
  const diskPlugin = Effect.gen(function*() {
    const bytes = yield* fixture("abi-fixture.wat")
    const sha256 = createHash("sha256").update(bytes).digest("hex")
    return yield* writePlugin({
      "plugin.json": JSON.stringify(manifest("disk", [{ name: "the_content", kind: "filter" }], {
        wasm: { path: "build/disk.wasm", sha256 }
      })),
      "build/disk.wasm": bytes
    }).pipe(Effect.orDie)
  })

  it.effect("Plugin.layer loads the plugin for the layer's life and fails with the load's error", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const dir = yield* diskPlugin
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(Plugin.layer(dir), scope)
      assert.strictEqual(yield* bus.applyFilters(TheContent, "layer"), "LAYER")
      assert.deepStrictEqual((yield* bus.handlers(TheContent)).map((h) => h.source), ["plugin:disk"])
      yield* Scope.close(scope, Exit.void)
      assert.isFalse(yield* bus.has(TheContent))
      const missing = yield* Effect.flip(Layer.build(Plugin.layer(`${dir}/nope`)))
      assert.strictEqual(missing._tag, "PluginNotFound")
      const badOptions = yield* Effect.flip(Layer.build(Plugin.layer(dir, { limits: { fuel: 0 } })))
      assert.strictEqual(badOptions._tag, "InvalidOptions")
      assert.isFalse(yield* bus.has(TheContent))
    })).pipe(Effect.provide(Platform)))

  it.effect("reads plugin.json and the module it names, checks integrity, registers the hooks", () =>
    withBus(Effect.gen(function*() {
      const dir = yield* diskPlugin
      const handle = yield* Plugin.load(dir)
      assert.strictEqual(handle.name, "disk")
      assert.strictEqual(yield* HookBus.use((bus) => bus.applyFilters(TheContent, "from disk")), "FROM DISK")
    })).pipe(Effect.provide(Platform)))

  it.effect("a module whose name merely starts with two dots is inside the folder", () =>
    withBus(Effect.gen(function*() {
      const dir = yield* writePlugin({
        "plugin.json": JSON.stringify(manifest("dots", [{ name: "the_content", kind: "filter" }], {
          wasm: { path: "..dots.wasm" }
        })),
        "..dots.wasm": yield* fixture("abi-fixture.wat")
      }).pipe(Effect.orDie)
      const handle = yield* Plugin.load(dir)
      assert.strictEqual(handle.name, "dots")
    })).pipe(Effect.provide(Platform)))

  it.effect("missing files and bad manifests are typed errors naming the path", () =>
    withBus(Effect.gen(function*() {
      const empty = yield* writePlugin({}).pipe(Effect.orDie)
      const missing = yield* Effect.flip(Plugin.load(empty))
      assert.strictEqual(missing._tag, "PluginNotFound")
      assert.include(missing.message, "plugin.json")

      const noWasm = yield* writePlugin({ "plugin.json": JSON.stringify(manifest("nowasm", [])) }).pipe(Effect.orDie)
      const required = yield* Effect.flip(Plugin.load(noWasm))
      assert.strictEqual(required._tag, "ManifestInvalid")
      assert.include(required.message, "wasm: required when loading from a folder")

      const badJson = yield* writePlugin({ "plugin.json": "{ not json" }).pipe(Effect.orDie)
      const parse = yield* Effect.flip(Plugin.load(badJson))
      assert.strictEqual(parse._tag, "ManifestInvalid")
      assert.include(parse.message, "not valid JSON")

      const absent = yield* writePlugin({
        "plugin.json": JSON.stringify(manifest("absent", [], { wasm: { path: "nope.wasm" } }))
      }).pipe(Effect.orDie)
      const notFound = yield* Effect.flip(Plugin.load(absent))
      assert.strictEqual(notFound._tag, "PluginNotFound")
      assert.include(notFound.message, "nope.wasm")
    })).pipe(Effect.provide(Platform)))
})

describe("Manifest", () => {
  it.effect("a full manifest decodes", () =>
    Effect.gen(function*() {
      const decoded = yield* Manifest.decode({
        abi: 1,
        name: "seo-tools",
        version: "2.1.0-beta.1+build.5",
        wasm: { path: "dist/seo.wasm", sha256: "a".repeat(64) },
        hooks: [{ name: "the_content", kind: "filter", priority: 5, before: ["x"], after: [] }],
        limits: { memoryPages: 32, fuel: 1_000_000, timeoutMs: 500, maxPayloadBytes: 65_536 },
        capabilities: ["gn_log"],
        config: { anything: [1, 2] }
      })
      assert.strictEqual(decoded.name, "seo-tools")
      assert.deepStrictEqual(decoded.limits, {
        memoryPages: 32,
        fuel: 1_000_000,
        timeoutMs: 500,
        maxPayloadBytes: 65_536
      })
    }))
})
