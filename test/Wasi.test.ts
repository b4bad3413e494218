/**
 * WASI preview 1 behind the manifest and `PluginPolicy`: a Rust module built for wasm32-wasi (examples/rust/wasi-clock)
 * gets the host's clock, randomness and stdout/stderr as logger lines when granted; a module importing a WASI
 * function it was not granted fails at load with `WasiNotGranted` naming the import.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { HookBus } from "../src/index.ts"
import { Plugin, PluginInstance, PluginPolicy } from "../src/wasm/index.ts"
import { captureLogs, type LogEntry, messageOf } from "./helpers.ts"

const folder = fileURLToPath(new URL("../examples/rust/wasi-clock", import.meta.url))
const bytes = () => new Uint8Array(readFileSync(`${folder}/build/wasi-clock.wasm`))
const example = JSON.parse(readFileSync(`${folder}/plugin.json`, "utf8")) as Record<string, unknown>
const { wasm: _wasm, ...manifest } = example
const { wasi: _wasi, ...withoutWasi } = manifest

const withBus = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(Layer.fresh(HookBus.layerTest)),
    Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  )

describe("WASI preview 1", () => {
  it.effect(
    "granted clock and random: the host's clock (TestClock) and fresh randomness, in any execution",
    () =>
      withBus(Effect.gen(function*() {
        yield* TestClock.setTime(1_767_225_600_123)
        const handle = yield* Plugin.load(folder)
        assert.deepStrictEqual((yield* handle.instance.callFilter("wasi.now", null)).value, 1_767_225_600_123)
        const random = (yield* handle.instance.callFilter("wasi.random", null)).value
        assert.match(String(random), /^[0-9a-f]{16}$/)
        // A fresh instance gets fresh keys from random_get.
        const other = yield* PluginInstance.make(bytes(), { name: "wasi-other", wasi: { clock: true, random: true } })
        assert.notStrictEqual((yield* other.callFilter("wasi.random", null)).value, random)
        const worker = yield* PluginInstance.make(bytes(), {
          name: "wasi-worker",
          execution: "worker",
          pool: { size: 1 },
          wasi: { clock: true, random: true }
        })
        const now = (yield* worker.callFilter("wasi.now", null)).value as number
        assert.strictEqual(now, 1_767_225_600_123)
      })),
    60_000
  )

  it.effect("stdout and stderr become log lines under the plugin's name: info and warning", () => {
    const logs: Array<LogEntry> = []
    return withBus(Effect.gen(function*() {
      const handle = yield* Plugin.load(folder)
      yield* handle.instance.callAction("wasi.say", ["Zoë 🎉"])
      const lines = logs.filter((l) => l.annotations["plugin"] === "wasi-clock")
      assert.deepStrictEqual(lines.map((l) => [l.level, messageOf(l)]), [
        ["INFO", "hello, Zoë 🎉"],
        ["WARN", "careful, Zoë 🎉"]
      ])
    })).pipe(captureLogs(logs))
  }, 60_000)

  it.effect(
    "nothing by default: without a wasi field the module fails at load, naming each WASI import",
    () =>
      withBus(Effect.gen(function*() {
        const error = yield* Effect.flip(Plugin.fromBytes(bytes(), withoutWasi))
        assert.strictEqual(error._tag, "WasiNotGranted")
        if (error._tag !== "WasiNotGranted") return
        assert.include(error.imports, "wasi_snapshot_preview1.clock_time_get (the manifest has no \"wasi\" field)")
        assert.include(error.imports, "wasi_snapshot_preview1.fd_write (the manifest has no \"wasi\" field)")
        assert.match(error.message, /plugin "wasi-clock": WASI imports not granted: wasi_snapshot_preview1\./)
        const bare = yield* Effect.flip(PluginInstance.make(bytes(), { name: "bare" }))
        assert.strictEqual(bare._tag, "WasiNotGranted")
      })),
    60_000
  )

  it.effect(
    "clock and random only on request: an empty wasi field names the imports that need them",
    () =>
      withBus(Effect.gen(function*() {
        const error = yield* Effect.flip(Plugin.fromBytes(bytes(), { ...manifest, wasi: { clock: true } }))
        assert.strictEqual(error._tag, "WasiNotGranted")
        if (error._tag !== "WasiNotGranted") return
        assert.deepStrictEqual(error.imports, [
          "wasi_snapshot_preview1.random_get (needs \"wasi\": { \"random\": true })"
        ])
      })),
    60_000
  )

  it.effect(
    "PluginPolicy decides: a grant the policy does not allow is CapabilityDenied, naming it",
    () =>
      withBus(
        Effect.gen(function*() {
          const error = yield* Effect.flip(Plugin.load(folder))
          assert.strictEqual(error._tag, "CapabilityDenied")
          if (error._tag !== "CapabilityDenied") return
          assert.deepStrictEqual(error.wasi, ["random"])
          assert.match(error.message, /WASI random/)
        }).pipe(
          Effect.provide(
            PluginPolicy.layer({
              allowHooks: { "*": ["wasi.now", "wasi.random", "wasi.say"] },
              allowWasi: { "*": ["clock"] }
            })
          )
        )
      ),
    60_000
  )

  it.effect(
    "a module without WASI imports runs as before, with or without a wasi field",
    () =>
      withBus(Effect.gen(function*() {
        const slugify = new Uint8Array(
          readFileSync(fileURLToPath(new URL("../examples/rust/slugify/build/slugify-rust.wasm", import.meta.url)))
        )
        const plugin = yield* PluginInstance.make(slugify, { name: "plain", wasi: { clock: true } })
        assert.strictEqual((yield* plugin.callFilter("post.slug", "Hello World")).value, "hello-world")
      })),
    60_000
  )

  const files = fileURLToPath(new URL("fixtures/wasi-files", import.meta.url))
  const filesManifest = JSON.parse(readFileSync(`${files}/plugin.json`, "utf8")) as Record<string, unknown>
  const AllowFiles = PluginPolicy.layer({
    allowHooks: { "*": ["wasi.read"] },
    allowWasi: { "wasi-files": ["preopen"] }
  })
  const read = (path: string) =>
    Effect.gen(function*() {
      const handle = yield* Plugin.load(files)
      return yield* Effect.result(handle.instance.callFilter("wasi.read", path))
    })

  it.effect(
    "a preopened directory inside the plugin folder, when the policy allows it: read, and nothing outside",
    () =>
      withBus(
        Effect.gen(function*() {
          const ok = yield* read("/data/greeting.txt")
          assert.strictEqual(ok._tag === "Success" ? ok.success.value : ok, "Grüße aus /data 🎉\n")
          for (const path of ["/data/../plugin.json", "/etc/passwd", "/data/missing.txt"]) {
            const refused = yield* read(path)
            assert.strictEqual(refused._tag, "Failure", path)
            if (refused._tag === "Failure") assert.match(refused.failure.message, new RegExp(`cannot read ${path}`))
          }
        }).pipe(Effect.provide(AllowFiles))
      ),
    60_000
  )

  it.effect(
    "a preopen needs the policy: none provided, or one without preopen, is CapabilityDenied",
    () =>
      withBus(Effect.gen(function*() {
        const none = yield* Effect.flip(Plugin.load(files))
        assert.strictEqual(none._tag, "CapabilityDenied")
        if (none._tag === "CapabilityDenied") assert.deepStrictEqual(none.wasi, ["preopen"])
        const other = yield* Effect.flip(
          Plugin.load(files).pipe(
            Effect.provide(PluginPolicy.layer({ allowHooks: { "*": ["wasi.read"] }, allowWasi: { "*": ["clock"] } }))
          )
        )
        assert.strictEqual(other._tag, "CapabilityDenied")
        if (other._tag === "CapabilityDenied") assert.deepStrictEqual(other.wasi, ["preopen"])
      })),
    60_000
  )

  it.effect(
    "the directory must be one of the plugin folder: missing, a symlink out, or no folder at all fail typed",
    () =>
      withBus(
        Effect.gen(function*() {
          const dir = mkdtempSync(join(tmpdir(), "hookbus-wasi-"))
          try {
            cpSync(files, join(dir, "plugin"), { recursive: true })
            rmSync(join(dir, "plugin", "data"), { recursive: true })
            const missing = yield* Effect.flip(Plugin.load(join(dir, "plugin")))
            assert.strictEqual(missing._tag, "ManifestInvalid")
            assert.match(missing.message, /wasi\.preopen: no directory "data" in the plugin folder/)
            symlinkSync(tmpdir(), join(dir, "plugin", "data"))
            const escape = yield* Effect.flip(Plugin.load(join(dir, "plugin")))
            assert.strictEqual(escape._tag, "PluginFileRejected")
            if (escape._tag === "PluginFileRejected") assert.strictEqual(escape.rule, "outside_folder")
          } finally {
            rmSync(dir, { recursive: true, force: true })
          }
          const { wasm: _module, ...bare } = filesManifest
          const fromBytes = yield* Effect.flip(
            Plugin.fromBytes(new Uint8Array(readFileSync(`${files}/build/wasi-files.wasm`)), bare)
          )
          assert.strictEqual(fromBytes._tag, "ManifestInvalid")
          assert.match(fromBytes.message, /a preopened directory needs Plugin.load/)
          // File functions without a preopen are named, with what they need.
          const { wasi: _grant, ...noPreopen } = bare
          const ungranted = yield* Effect.flip(
            Plugin.fromBytes(new Uint8Array(readFileSync(`${files}/build/wasi-files.wasm`)), { ...noPreopen, wasi: {} })
          )
          assert.strictEqual(ungranted._tag, "WasiNotGranted")
          assert.include(
            ungranted.message,
            "wasi_snapshot_preview1.path_open (needs \"wasi\": { \"preopen\": \"<folder>\" })"
          )
        }).pipe(Effect.provide(AllowFiles))
      ),
    60_000
  )
})
