/**
 * The example plugins, built from AssemblyScript with the guest SDK, loaded from their folders into a bus.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Hook, HookBus } from "../src/index.ts"
import { Guest } from "../src/wasm/Guest.ts"
import { Plugin } from "../src/wasm/index.ts"
import { captureLogs, type LogEntry, messageOf } from "./helpers.ts"

const pluginDir = (name: string) => fileURLToPath(new URL(`../examples/plugins/${name}`, import.meta.url))
const TheContent = Hook.filter("the_content", { value: Schema.String })
const PostSlug = Hook.filter("post.slug", { value: Schema.String })
const PostSaved = Hook.action("post.saved", { args: [Schema.String, Schema.String] })

const Env = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const withBus = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))), Effect.provide(Env))

describe("example plugins", () => {
  it.effect("uppercase, then reading-time (ordered after it), on the_content", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      // Loaded in the "wrong" order on purpose: the constraint puts reading-time after uppercase anyway.
      yield* Plugin.load(pluginDir("reading-time"))
      yield* Plugin.load(pluginDir("uppercase"))
      assert.deepStrictEqual((yield* bus.handlers(TheContent)).map((h) => h.source), [
        "plugin:uppercase",
        "plugin:reading-time"
      ])
      const words = Array.from({ length: 450 }, (_, i) => `word${i}`).join(" ")
      assert.strictEqual(yield* bus.applyFilters(TheContent, "héllo wörld"), "HÉLLO WÖRLD\n\n(1 min read)")
      assert.match(yield* bus.applyFilters(TheContent, words), /^WORD0 WORD1 .*\n\n\(3 min read\)$/s)
    })))

  it.effect("uppercase answers a wrong type with a guest error, not a crash", () =>
    withBus(Effect.gen(function*() {
      const handle = yield* Plugin.load(pluginDir("uppercase"))
      const error = yield* Effect.flip(handle.instance.callFilter("the_content", 42))
      assert.strictEqual(error._tag, "GuestError")
      if (error._tag === "GuestError") {
        assert.deepStrictEqual([error.detail, error.code], ["the_content must be a string", "E_TYPE"])
      }
    })))

  const slugs: ReadonlyArray<readonly [string, string]> = [
    ["Hello, World!", "hello-world"],
    ["  Ünïcödé   Crème Brûlée  ", "unicode-creme-brulee"],
    ["Straße & Søren Łódź", "strasse-soren-lodz"],
    ["Décomposé é", "decompose-e"],
    ["Ελληνικά και русский", "ελληνικά-και-русский"],
    ["日本語のタイトル、です", "日本語のタイトル-です"],
    ["emoji 🎉 party", "emoji-party"],
    ["---", ""]
  ]
  it.effect("slugify turns titles into URL slugs, Unicode-aware as far as AssemblyScript allows", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      yield* Plugin.load(pluginDir("slugify"))
      for (const [title, slug] of slugs) assert.strictEqual(yield* bus.applyFilters(PostSlug, title), slug, title)
      assert.strictEqual((yield* bus.applyFilters(PostSlug, "x".repeat(300))).length, 96)
    })))

  it.effect("audit: an async action that logs through gn_log", () => {
    const logs: Array<LogEntry> = []
    return withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      yield* Plugin.load(pluginDir("audit"))
      yield* bus.doAction(PostSaved, "42", "ada")
      yield* bus.awaitIdle
      const line = logs.find((l) => messageOf(l).startsWith("audit: post 42 saved by ada"))
      assert.isDefined(line)
      assert.deepInclude(line!.annotations, { plugin: "audit", hook: "post.saved" })
    })).pipe(captureLogs(logs))
  })
})

describe("guest SDK", () => {
  // JSON.stringify escapes a lone surrogate, so the guest parses it into its UTF-16 string; writing it back as
  // WTF-8 would make the host refuse the whole result. The SDK writes U+FFFD instead, and keeps pairs intact.
  const texts: ReadonlyArray<readonly [string, string]> = [["\ud83d", "\ufffd"], ["👋", "👋"], [
    "a\udc4bb\ud83d",
    "a\ufffdb\ufffd"
  ]]
  it.effect("a lone surrogate comes back as U+FFFD and an astral character intact, through every example plugin", () => {
    const logs: Array<LogEntry> = []
    return withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      for (const name of ["uppercase", "reading-time", "slugify", "audit"]) yield* Plugin.load(pluginDir(name))
      for (const [input, output] of texts) {
        assert.strictEqual(yield* bus.applyFilters(TheContent, input), `${output.toUpperCase()}\n\n(1 min read)`)
        assert.strictEqual(yield* bus.applyFilters(PostSlug, `x${input}`), output === "👋" ? "x" : `x${output}`)
        yield* bus.doAction(PostSaved, input, input)
      }
      yield* bus.awaitIdle
      const lines = logs.map(messageOf).filter((m) => m.startsWith("audit: post "))
      assert.deepStrictEqual(
        lines.map((l) => l.replace(/ at \S+$/, "")),
        texts.map(([, output]) => `audit: post ${output} saved by ${output}`)
      )
    })).pipe(captureLogs(logs))
  })

  it("its allocator really frees: a million calls leave the guest's memory flat", () => {
    const module = new WebAssembly.Module(readFileSync(`${pluginDir("uppercase")}/build/uppercase.wasm`))
    const guest = new Guest(
      "uppercase",
      module,
      { maxPayloadBytes: 1 << 20, maxResultBytes: 1 << 20, fuel: undefined },
      {
        log: () => {},
        nowMillis: () => 0
      }
    )
    const payload = `{"kind":"filter","value":"${"some text to uppercase ".repeat(4)}","args":[]}`
    for (let i = 0; i < 20_000; i++) guest.call("the_content", payload)
    const warmed = guest.memoryBytes()
    for (let i = 0; i < 1_000_000; i++) {
      const result = guest.call("the_content", payload)
      if (result._tag !== "Ok") throw new Error(`call ${i} failed: ${result.error.message}`)
    }
    assert.strictEqual(guest.memoryBytes(), warmed, "memory grew over a million calls")
    assert.isAtMost(warmed, 4 * 65_536)
    assert.strictEqual(guest.instances, 1)
  }, 120_000)
})
