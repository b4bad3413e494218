/**
 * The host side of the sandbox against a hostile plugin and a careless host (issue 13): limits are ceilings, plugin
 * folder files cannot escape or block, the policy covers sources, priorities, ordering and imports, reload keeps
 * unchanged hooks registered, untrusted names never reach `Object.prototype`, nested errors format in linear time,
 * and the small input rules (hook names, `once`, duplicate hooks).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Printable from "../src/cli/Printable.ts"
import {
  type FilterFailed,
  Hook,
  HookBus,
  HookName,
  maxMessageLength,
  type RegistrationRejected
} from "../src/index.ts"
import { Manifest, Plugin, PluginPolicy } from "../src/wasm/index.ts"
import { abiModule, compileWat, fixture } from "./fixtures/wat.ts"
import { manifest } from "./helpers.ts"

const busLayer = () => Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false }))
const withBus = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(busLayer()))
const Files = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

const TheContent = Hook.filter<string>("the_content")

/** A module that answers `{"value": "<tag>"}` to every call. */
const tagged = (tag: string) => {
  const body = `{"value":"${tag}"}`
  return compileWat(abiModule({
    data: body,
    handle: `(i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const ${body.length}))`
  }))
}

describe("3. the host's limits are ceilings", () => {
  it.effect("a manifest asking for more fuel, memory, time or payload than the host allows fails to load", () =>
    withBus(Effect.gen(function*() {
      const bytes = yield* tagged("x")
      const error = yield* Effect.flip(Plugin.fromBytes(
        bytes,
        manifest("greedy", [{ name: "the_content", kind: "filter" }], {
          limits: { fuel: 9007199254740991, memoryPages: 65536, timeoutMs: 3_600_000, maxPayloadBytes: 1_073_741_824 }
        })
      ))
      assert.strictEqual(error._tag, "LimitAboveCeiling")
      if (error._tag !== "LimitAboveCeiling") return
      assert.deepStrictEqual(error.limits.map((l) => l.limit), ["memoryPages", "fuel", "timeoutMs", "maxPayloadBytes"])
      assert.match(error.message, /limits\.fuel 9007199254740991 is over the ceiling of \d+/)
      assert.isFalse(yield* HookBus.use((bus) => bus.has(TheContent)))
    })))

  it.effect("a manifest may ask for less than the ceiling, and the host may raise or lower the ceiling", () =>
    withBus(Effect.gen(function*() {
      const bytes = yield* tagged("x")
      // Less than the default ceiling: loads.
      yield* Plugin.fromBytes(bytes, manifest("modest", [{ name: "a", kind: "filter" }], { limits: { fuel: 1000 } }))
      // Over a lowered host ceiling: refused, naming the host's figure.
      const error = yield* Effect.flip(Plugin.fromBytes(
        bytes,
        manifest("modest-two", [{ name: "b", kind: "filter" }], { limits: { memoryPages: 8 } }),
        { limits: { memoryPages: 4 } }
      ))
      assert.strictEqual(error._tag, "LimitAboveCeiling")
      assert.match(error.message, /limits\.memoryPages 8 is over the ceiling of 4/)
      // A raised host ceiling lets the manifest ask for more.
      yield* Plugin.fromBytes(
        bytes,
        manifest("hungry", [{ name: "c", kind: "filter" }], { limits: { fuel: 100_000_000 } }),
        { limits: { fuel: 200_000_000 } }
      )
    })))

  it.effect("the manifest's lower fuel is what the plugin gets, not the host's ceiling", () =>
    withBus(Effect.gen(function*() {
      const spin = yield* compileWat(abiModule({ handle: `(loop $l (br $l)) (i64.const 0)` }))
      yield* Plugin.fromBytes(
        spin,
        manifest("spinner", [{ name: "the_content", kind: "filter" }], { limits: { fuel: 500 } })
      )
      const error = (yield* Effect.flip(HookBus.use((bus) => bus.applyFilters(TheContent, "x")))) as FilterFailed
      const cause = error.failure.error as { _tag: string; fuel: number }
      assert.deepStrictEqual([cause._tag, cause.fuel], ["OutOfFuel", 500])
    })))
})

describe("4. plugin folder files cannot escape or block", () => {
  const folder = (files: (dir: string) => void) => {
    const root = mkdtempSync(join(tmpdir(), "hookbus-files-"))
    const dir = join(root, "plugin")
    mkdirSync(dir)
    files(dir)
    return { root, dir, [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) }
  }
  const writeManifest = (dir: string, path = "plugin.wasm") =>
    writeFileSync(
      join(dir, "plugin.json"),
      JSON.stringify(manifest("files", [{ name: "the_content", kind: "filter" }], { wasm: { path } }))
    )
  const readError = (dir: string) => Effect.flip(Plugin.readPluginDir(dir)).pipe(Effect.provide(Files))

  it.effect("a module symlinked outside the folder is refused, naming the file and where it leads", () =>
    Effect.gen(function*() {
      const bytes = yield* fixture("abi-fixture.wat")
      using f = folder((dir) => {
        writeFileSync(join(dir, "..", "outside.wasm"), bytes)
        symlinkSync(join(dir, "..", "outside.wasm"), join(dir, "plugin.wasm"))
        writeManifest(dir)
      })
      const error = yield* readError(f.dir)
      assert.strictEqual(error._tag, "PluginFileRejected")
      if (error._tag !== "PluginFileRejected") return
      assert.strictEqual(error.rule, "outside_folder")
      assert.strictEqual(error.path, join(f.dir, "plugin.wasm"))
      assert.match(error.message, /outside the plugin folder/)
    }))

  it.effect("a manifest symlinked outside the folder is refused", () =>
    Effect.gen(function*() {
      using f = folder((dir) => {
        writeFileSync(join(dir, "..", "elsewhere.json"), "{}")
        symlinkSync(join(dir, "..", "elsewhere.json"), join(dir, "plugin.json"))
      })
      const error = yield* readError(f.dir)
      assert.deepStrictEqual([error._tag, (error as { rule?: string }).rule], ["PluginFileRejected", "outside_folder"])
    }))

  it.effect("a FIFO as the module or the manifest is refused at once instead of blocking the read", () =>
    Effect.gen(function*() {
      using f = folder((dir) => {
        writeManifest(dir)
        execFileSync("mkfifo", [join(dir, "plugin.wasm")])
      })
      const error = yield* readError(f.dir)
      assert.deepStrictEqual([error._tag, (error as { rule?: string }).rule], [
        "PluginFileRejected",
        "not_regular_file"
      ])
      using g = folder((dir) => execFileSync("mkfifo", [join(dir, "plugin.json")]))
      const manifestError = yield* readError(g.dir)
      assert.deepStrictEqual(
        [manifestError._tag, (manifestError as { rule?: string }).rule],
        ["PluginFileRejected", "not_regular_file"]
      )
    }))

  it.effect("a link to /dev/zero is refused (outside the folder, and not a regular file)", () =>
    Effect.gen(function*() {
      using f = folder((dir) => {
        writeManifest(dir)
        symlinkSync("/dev/zero", join(dir, "plugin.wasm"))
      })
      const error = yield* readError(f.dir)
      assert.strictEqual(error._tag, "PluginFileRejected")
    }))

  it.effect("a module or manifest over its size cap is refused before it is read whole", () =>
    Effect.gen(function*() {
      using f = folder((dir) => {
        writeManifest(dir)
        writeFileSync(join(dir, "plugin.wasm"), new Uint8Array(4096))
      })
      const error = yield* Effect.flip(Plugin.readPluginDir(f.dir, { maxModuleBytes: 1024 })).pipe(
        Effect.provide(Files)
      )
      assert.deepStrictEqual([error._tag, (error as { rule?: string }).rule], ["PluginFileRejected", "too_large"])
      const manifestError = yield* Effect.flip(Plugin.readPluginDir(f.dir, { maxManifestBytes: 16 })).pipe(
        Effect.provide(Files)
      )
      assert.deepStrictEqual(
        [manifestError._tag, (manifestError as { rule?: string }).rule],
        ["PluginFileRejected", "too_large"]
      )
    }))

  it.effect("Plugin.reload from a folder applies the same file rules; the old version keeps serving", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const bytes = yield* tagged("v1")
      using good = folder((dir) => {
        writeFileSync(join(dir, "plugin.wasm"), bytes)
        writeManifest(dir)
      })
      const handle = yield* Plugin.load(good.dir).pipe(Effect.provide(Files))
      assert.strictEqual(yield* bus.applyFilters(TheContent, "x"), "v1")
      using escaping = folder((dir) => {
        writeFileSync(join(dir, "..", "outside.wasm"), bytes)
        symlinkSync(join(dir, "..", "outside.wasm"), join(dir, "plugin.wasm"))
        writeManifest(dir)
      })
      using blocking = folder((dir) => {
        writeManifest(dir)
        execFileSync("mkfifo", [join(dir, "plugin.wasm")])
      })
      for (const [dir, rule] of [[escaping.dir, "outside_folder"], [blocking.dir, "not_regular_file"]] as const) {
        const error = yield* Effect.flip(Plugin.reload(handle, dir).pipe(Effect.provide(Files)))
        assert.deepStrictEqual([error._tag, (error as { rule?: string }).rule], ["PluginFileRejected", rule])
        assert.strictEqual(yield* bus.applyFilters(TheContent, "x"), "v1", "the old version keeps serving")
      }
    })))

  it.effect("a symlink that stays inside the folder is fine", () =>
    Effect.gen(function*() {
      const bytes = yield* fixture("abi-fixture.wat")
      using f = folder((dir) => {
        mkdirSync(join(dir, "build"))
        writeFileSync(join(dir, "build", "real.wasm"), bytes)
        symlinkSync(join("build", "real.wasm"), join(dir, "plugin.wasm"))
        writeManifest(dir)
      })
      const files = yield* Plugin.readPluginDir(f.dir).pipe(Effect.provide(Files))
      assert.strictEqual(files.bytes.length, bytes.length)
    }))
})

describe("6. the policy covers sources, priorities, ordering and imports", () => {
  it.effect("a manifest cannot choose its source: hooks always register as plugin:<name>", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Manifest.decode(
        manifest("impostor", [{ name: "the_content", kind: "filter", source: "core" }])
      ))
      assert.match(error.message, /hooks\[0\]\.source: a plugin's source is chosen by the host/)
    }))

  it.effect("removeSource of a host source never removes a plugin's handlers", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      yield* bus.addFilter(TheContent, (s) => Effect.succeed(s), { source: "core" })
      yield* Plugin.fromBytes(yield* tagged("p"), manifest("neighbour", [{ name: "the_content", kind: "filter" }]))
      assert.strictEqual(yield* bus.removeSource("core"), 1)
      assert.deepStrictEqual((yield* bus.handlers(TheContent)).map((h) => h.source), ["plugin:neighbour"])
    })))

  const sanitizerPolicy = PluginPolicy.layer({
    allowHooks: { "*": ["the_content"] },
    priority: { min: 0, max: 100 }
  })

  it.effect("under a policy, a plugin cannot order itself around host sources or leave the priority range", () =>
    withBus(
      Effect.gen(function*() {
        const bus = yield* HookBus
        yield* bus.addFilter(TheContent, (s) => Effect.succeed(s.replaceAll("<", "")), {
          source: "core:sanitize",
          priority: 1000
        })
        const error = yield* Effect.flip(Plugin.fromBytes(
          yield* tagged("<script>"),
          manifest("sneaky", [{ name: "the_content", kind: "filter", priority: 1e308, after: ["core:sanitize"] }])
        ))
        assert.strictEqual(error._tag, "CapabilityDenied")
        if (error._tag !== "CapabilityDenied") return
        assert.deepStrictEqual(error.registrations, [
          `hooks[0] ("the_content") priority 1e+308 outside 0..100`,
          `hooks[0] ("the_content") after "core:sanitize": only plugin:* sources may be named`
        ])
        assert.deepStrictEqual((yield* bus.handlers(TheContent)).map((h) => h.source), ["core:sanitize"])
        // Ordering against another plugin is fine.
        yield* Plugin.fromBytes(yield* tagged("a"), manifest("first", [{ name: "the_content", kind: "filter" }]))
        yield* Plugin.fromBytes(
          yield* tagged("b"),
          manifest("second", [{ name: "the_content", kind: "filter", after: ["plugin:first"] }])
        )
        assert.strictEqual(yield* bus.applyFilters(TheContent, "x"), "b")
      }).pipe(Effect.provide(sanitizerPolicy))
    ))

  it.effect("ordering: \"none\" forbids every constraint, \"any\" allows host sources", () =>
    withBus(Effect.gen(function*() {
      const bytes = yield* tagged("x")
      const ordered = manifest("ordered", [{ name: "the_content", kind: "filter", before: ["plugin:other"] }])
      const none = yield* Effect.flip(
        Plugin.fromBytes(bytes, ordered).pipe(
          Effect.provide(PluginPolicy.layer({ allowHooks: { "*": ["the_content"] }, ordering: "none" }))
        )
      )
      assert.strictEqual(none._tag, "CapabilityDenied")
      yield* Plugin.fromBytes(bytes, manifest("trusted", [{ name: "the_content", kind: "filter", after: ["core"] }]))
        .pipe(
          Effect.provide(PluginPolicy.layer({ allowHooks: { "*": ["the_content"] }, ordering: "any" }))
        )
    })))

  it.effect("the manifest's capabilities are enforced against the module's imports", () =>
    withBus(Effect.gen(function*() {
      // abi-fixture imports gn_log, gn_panic and gn_time_ms.
      const bytes = yield* fixture("abi-fixture.wat")
      const error = yield* Effect.flip(
        Plugin.fromBytes(
          bytes,
          manifest("liar", [{ name: "the_content", kind: "filter" }], { capabilities: ["gn_log"] })
        )
      )
      assert.strictEqual(error._tag, "ManifestInvalid")
      assert.match(error.message, /capabilities: the module imports gn_panic, gn_time_ms, not declared in capabilities/)
      yield* Plugin.fromBytes(
        bytes,
        manifest("honest", [{ name: "the_content", kind: "filter" }], {
          capabilities: ["gn_log", "gn_panic", "gn_time_ms"]
        })
      )
      const unknown = yield* Effect.flip(Manifest.decode(manifest("x1", [], { capabilities: ["gn_fs"] })))
      assert.match(unknown.message, /capabilities\[0\]/)
    })))

  it.effect("gn_panic is always allowed by the policy: a guest may always fail", () =>
    withBus(Effect.gen(function*() {
      const bytes = yield* compileWat(abiModule({ imports: `(import "env" "gn_panic" (func $panic (param i32 i32)))` }))
      yield* Plugin.fromBytes(bytes, manifest("panicky", [{ name: "the_content", kind: "filter" }])).pipe(
        Effect.provide(PluginPolicy.layer({ allowHooks: { "*": ["the_content"] }, allowImports: { "*": [] } }))
      )
    })))
})

describe("7. reload keeps unchanged hooks registered", () => {
  it.effect("dispatch reaches the new version after one and after two reloads; registrations stay truthful", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const hooks = [{ name: "the_content", kind: "filter" }]
      const handle = yield* Plugin.fromBytes(yield* tagged("v1"), manifest("steady", hooks))
      assert.strictEqual(yield* bus.applyFilters(TheContent, "x"), "v1")
      for (const version of ["v2", "v3"]) {
        yield* Plugin.reload(handle, { bytes: yield* tagged(version), manifest: manifest("steady", hooks) })
        assert.strictEqual(yield* bus.applyFilters(TheContent, "x"), version)
        assert.strictEqual((yield* bus.handlers(TheContent)).length, 1)
        assert.strictEqual(handle.registrations.length, 1)
      }
    })))

  it.effect("closing the plugin's scope after reloads removes every registration", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const hooks = [{ name: "the_content", kind: "filter" }]
      yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* Plugin.fromBytes(yield* tagged("v1"), manifest("steady", hooks))
        yield* Plugin.reload(handle, { bytes: yield* tagged("v2"), manifest: manifest("steady", hooks) })
        yield* Plugin.reload(handle, {
          bytes: yield* tagged("v3"),
          manifest: manifest("steady", [...hooks, { name: "the_title", kind: "filter" }])
        })
        assert.strictEqual(handle.registrations.length, 2)
      }))
      assert.isFalse(yield* bus.has(TheContent))
      assert.isFalse(yield* bus.has(Hook.filter("the_title")))
    })))
})

describe("10. untrusted names never reach Object.prototype", () => {
  it.effect("a plugin named constructor (or __proto__-like hook names) loads under a PluginPolicy", () =>
    withBus(Effect.gen(function*() {
      const bus = yield* HookBus
      const hooks = [{ name: "constructor", kind: "filter" }, { name: "toString", kind: "action" }]
      for (const name of ["constructor", "hasownproperty", "tostring"]) {
        const denied = yield* Effect.flip(
          Plugin.fromBytes(yield* tagged("x"), manifest(name, hooks)).pipe(
            Effect.provide(PluginPolicy.layer({ allowHooks: {}, allowImports: {} }))
          )
        )
        assert.strictEqual(denied._tag, "CapabilityDenied", name)
      }
      yield* Plugin.fromBytes(yield* tagged("ok"), manifest("constructor", hooks)).pipe(
        Effect.provide(PluginPolicy.layer({ allowHooks: { constructor: ["constructor", "toString"] } }))
      )
      assert.strictEqual(yield* bus.applyFilters(Hook.filter("constructor"), "x"), "ok")
    })))

  it.effect("a module importing env.constructor is an UnknownImport, not a crash", () =>
    withBus(Effect.gen(function*() {
      const bytes = yield* compileWat(abiModule({ imports: `(import "env" "constructor" (func))` }))
      const error = yield* Effect.flip(Plugin.fromBytes(bytes, manifest("proto", [])))
      assert.strictEqual(error._tag, "UnknownImport")
    })))

  it.effect("a filter hook named constructor gets the default error policy, not Object", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const Ctor = Hook.filter<string>("constructor")
      yield* bus.addFilter(Ctor, () => Effect.fail("no"), { source: "a" })
      yield* bus.addFilter(Ctor, (s) => Effect.succeed(`${s}!`), { source: "b" })
      const error = yield* Effect.flip(bus.applyFilters(Ctor, "x"))
      assert.strictEqual(error._tag, "FilterFailed")
    }).pipe(Effect.provide(Layer.fresh(HookBus.layerWith({ tracing: "off", metrics: false, filterErrors: {} })))))
})

class Counted extends Data.TaggedError("Counted")<{ readonly reads: { n: number } }> {
  override get message(): string {
    this.reads.n++
    return "innermost"
  }
}

describe("12. nested dispatch errors format in linear time, bounded in length", () => {
  it.effect("each nested error's message is read once; the outer message stays under the cap", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const Nested = Hook.filter<number>("nested")
      const reads = { n: 0 }
      yield* bus.addFilter(
        Nested,
        (n): Effect.Effect<number, unknown> =>
          n >= 40 ? Effect.fail(new Counted({ reads })) : bus.applyFilters(Nested, n + 1)
      )
      const error = yield* Effect.flip(bus.applyFilters(Nested, 0))
      const message = error.message
      assert.strictEqual(reads.n, 1)
      assert.isAtMost(message.length, maxMessageLength)
      assert.match(
        message,
        /^filter "nested" stopped: filter handler "handler-1" on hook "nested" failed: FilterFailed/
      )
    }).pipe(Effect.provide(busLayer())))

  it.effect("a RecursionLimit chain at the default depth of 64 formats (it used to never finish)", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const Loop = Hook.filter<number>("loop")
      yield* bus.addFilter(Loop, (n) => bus.applyFilters(Loop, n + 1))
      const error = yield* Effect.flip(bus.applyFilters(Loop, 0))
      assert.isAtMost(error.message.length, maxMessageLength)
      assert.match(error.message, /…$/)
    }).pipe(Effect.provide(busLayer())))
})

describe("15. small input rules", () => {
  it.effect("once must be a boolean", () =>
    Effect.gen(function*() {
      const bus = yield* HookBus
      const error: RegistrationRejected = yield* Effect.flip(
        bus.addFilter(TheContent, (s) => Effect.succeed(s), { once: "yes" as unknown as boolean })
      )
      assert.deepStrictEqual([error._tag, error.reason], ["RegistrationRejected", "InvalidOption"])
      assert.match(error.message, /once must be a boolean/)
    }).pipe(Effect.provide(busLayer())))

  for (
    const [label, name] of [["NUL", "a\u0000b"], ["a newline", "x\nok: forged"], ["a lone surrogate", "\ud83d"], [
      "a bidi override",
      "a\u202eb"
    ]] as const
  ) {
    it.effect(`a hook name with ${label} is rejected everywhere`, () =>
      Effect.gen(function*() {
        assert.isDefined(HookName.problem(name))
        assert.throws(() => Hook.filter(name))
        const error = yield* Effect.flip(Manifest.decode(manifest("names", [{ name, kind: "filter" }])))
        assert.match(error.message, /hooks\[0\]\.name: a hook name must not contain/)
      }))
  }

  it.effect("an emoji and other printable Unicode stay valid hook names", () =>
    Effect.sync(() => {
      for (const name of ["👋", "crème.brûlée", "日本語"]) assert.isUndefined(HookName.problem(name))
    }))

  it.effect("a hook listed twice in a manifest is a ManifestInvalid, not two registrations", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Manifest.decode(manifest("dupes", [
        { name: "the_content", kind: "filter" },
        { name: "the_title", kind: "filter" },
        { name: "the_content", kind: "filter", priority: 5 }
      ])))
      assert.match(error.message, /hooks: hooks\[2\] repeats hooks\[0\] \(filter "the_content"\)/)
      // The same name as an action and as a filter is two hooks.
      yield* Manifest.decode(manifest("both", [{ name: "x", kind: "filter" }, { name: "x", kind: "action" }]))
    }))
})

describe("CLI output escapes plugin text", () => {
  it.effect("Printable.text keeps newlines and escapes the rest; Printable.line escapes newlines too", () =>
    Effect.sync(() => {
      assert.strictEqual(Printable.text("a\nb\u001b[2J\r\u202e\ud83d👋"), "a\nb\\u001b[2J\\u000d\\u202e\\ud83d👋")
      assert.strictEqual(Printable.line("a\nPASS  forged\t"), "a\\u000aPASS  forged\t")
    }))
})
