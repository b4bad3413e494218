import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Layer } from "effect"
import { createHash } from "node:crypto"
import { fileURLToPath } from "node:url"
import { Inspect, Plugin } from "../src/wasm/index.ts"
import { abiModule, compileWat, packed } from "./fixtures/wat.ts"

const Env = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

/** A temporary plugin folder with this manifest and module. */
const pluginFolder = (manifest: unknown, wat: string | undefined) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped()
    yield* fs.writeFileString(`${dir}/plugin.json`, typeof manifest === "string" ? manifest : JSON.stringify(manifest))
    if (wat !== undefined) yield* fs.writeFile(`${dir}/plugin.wasm`, yield* compileWat(wat))
    return dir
  }).pipe(Effect.orDie)

const manifest = (hooks: ReadonlyArray<Record<string, unknown>>, extra: Record<string, unknown> = {}) => ({
  abi: 1,
  name: "probe",
  version: "1.0.0",
  wasm: { path: "plugin.wasm" },
  hooks,
  ...extra
})

/** Answers -4 for every hook except "known", which succeeds (name length 5 tells them apart). */
const wellBehaved = abiModule({
  handle: `(if (result i64) (i32.eq (local.get $nl) (i32.const 5)) (then (i64.const 0)) (else ${packed(0, -4)}))`
})

const failed = (report: Inspect.InspectReport) => report.checks.filter((c) => !c.ok).map((c) => c.name)

describe("Plugin.inspect", () => {
  for (const name of ["uppercase", "reading-time", "slugify", "audit"]) {
    it.effect(`the example plugin ${name} passes every check`, () =>
      Effect.gen(function*() {
        const report = yield* Plugin.inspect(fileURLToPath(new URL(`../examples/plugins/${name}`, import.meta.url)))
        assert.isTrue(report.ok, Inspect.format(report))
        assert.deepStrictEqual(report.checks.map((c) => c.name).slice(0, 8), [
          "manifest",
          "module",
          "exports",
          "imports",
          "memory",
          "abi version",
          "unknown hook",
          "alloc/free"
        ])
        assert.isTrue(report.checks.some((c) => c.name.startsWith("hook ")))
        assert.match(Inspect.format(report), /conformant: every check passed/)
      }).pipe(Effect.provide(Env)))
  }

  it.effect("a well-behaved minimal module passes", () =>
    Effect.gen(function*() {
      const report = yield* Plugin.inspect(
        yield* pluginFolder(manifest([{ name: "known", kind: "filter" }]), wellBehaved)
      )
      assert.isTrue(report.ok, Inspect.format(report))
    }).pipe(Effect.provide(Env)))

  const broken: ReadonlyArray<readonly [string, unknown, string | undefined, string, RegExp]> = [
    ["an invalid manifest", { abi: 1, name: "X", hooks: [] }, undefined, "manifest", /name: .*version: /],
    ["a missing module", manifest([]), undefined, "module", /cannot read/],
    ["not a module", manifest([]), undefined, "module", /cannot read/],
    ["missing exports", manifest([]), `(module (memory (export "memory") 1))`, "exports", /gn_alloc \(missing\)/],
    [
      "a foreign import",
      manifest([]),
      abiModule({ imports: `(import "env" "fetch" (func (param i32)))` }),
      "imports",
      /env.fetch/
    ],
    [
      "a WASI import the manifest does not grant",
      manifest([]),
      abiModule({
        imports: `(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))`
      }),
      "wasi",
      /wasi_snapshot_preview1.fd_write \(the manifest has no "wasi" field\)/
    ],
    [
      "a memory over the cap",
      manifest([], { limits: { memoryPages: 2 } }),
      abiModule({ memory: `(memory (export "memory") 3)` }),
      "memory",
      /minimum 3 pages exceeds the cap of 2/
    ],
    [
      "a table over the cap",
      manifest([]),
      abiModule({ fields: `(table 100000 funcref)` }),
      "table",
      /minimum 100000 elements exceeds limits\.maxTableElements \(65536\)/
    ],
    [
      "a wrong ABI version",
      manifest([]),
      abiModule({ fields: `(func (export "gn_abi_version") (result i32) (i32.const 7))` }),
      "abi version",
      /returned 7/
    ],
    [
      "an unknown hook answered as success",
      manifest([]),
      abiModule(),
      "unknown hook",
      /must answer status -4, got success/
    ],
    [
      "an allocator that returns 0",
      manifest([]),
      abiModule({
        allocator:
          `(func (export "gn_alloc") (param i32) (result i32) (i32.const 0)) (func (export "gn_free") (param i32 i32))`,
        handle: packed(0, -4)
      }),
      "alloc/free",
      /returned 0/
    ],
    [
      "a declared hook the module does not handle",
      manifest([{ name: "missing-hook", kind: "filter" }]),
      wellBehaved,
      "hook missing-hook",
      /answers unknown hook/
    ],
    [
      "a declared hook that loops",
      manifest([{ name: "known", kind: "action" }], { limits: { fuel: 10_000 } }),
      abiModule({
        handle: `(if (i32.eq (local.get $nl) (i32.const 5)) (then (loop $l (br $l)))) ${packed(0, -4)}`
      }),
      "hook known",
      /fuel budget of 10000/
    ],
    [
      "a module that does not match wasm.sha256",
      manifest([], { wasm: { path: "plugin.wasm", sha256: "0".repeat(64) } }),
      wellBehaved,
      "integrity",
      /sha256 mismatch: manifest says 0{64}, module is [0-9a-f]{64}/
    ],
    [
      "a declared hook that traps",
      manifest([{ name: "known", kind: "filter" }]),
      abiModule({ handle: `(if (i32.eq (local.get $nl) (i32.const 5)) (then unreachable)) ${packed(0, -4)}` }),
      "hook known",
      /trapped \(unreachable\)/
    ]
  ]
  for (const [title, m, wat, check, detail] of broken) {
    it.effect(`names the failure: ${title}`, () =>
      Effect.gen(function*() {
        const dir = yield* pluginFolder(m, wat)
        if (title === "not a module") {
          const fs = yield* FileSystem.FileSystem
          yield* fs.writeFileString(`${dir}/plugin.wasm`, "not wasm").pipe(Effect.orDie)
        }
        const report = yield* Plugin.inspect(dir)
        assert.isFalse(report.ok)
        const failure = report.checks.find((c) => !c.ok && c.name === check)
        assert.isDefined(failure, Inspect.format(report))
        assert.match(failure!.detail, title === "not a module" ? /magic number/ : detail)
        assert.match(Inspect.format(report), /not conformant/)
      }).pipe(Effect.provide(Env)))
  }

  it.effect("a lone .wasm gets the module checks and probes", () =>
    Effect.gen(function*() {
      const dir = yield* pluginFolder(manifest([]), wellBehaved)
      const report = yield* Plugin.inspect(`${dir}/plugin.wasm`)
      assert.isTrue(report.ok, Inspect.format(report))
      assert.strictEqual(report.checks[0].detail, "none (a lone module): skipped")
      assert.deepStrictEqual(failed(yield* Plugin.inspect(`${dir}/missing.wasm`)), ["path"])
    }).pipe(Effect.provide(Env)))

  it.effect("a module that matches wasm.sha256 passes the integrity check", () =>
    Effect.gen(function*() {
      const bytes = yield* compileWat(wellBehaved)
      const sha256 = createHash("sha256").update(bytes).digest("hex")
      const dir = yield* pluginFolder(manifest([], { wasm: { path: "plugin.wasm", sha256 } }), wellBehaved)
      const report = yield* Plugin.inspect(dir)
      assert.isTrue(report.ok, Inspect.format(report))
      assert.deepInclude(report.checks, { name: "integrity", ok: true, detail: "sha256 matches wasm.sha256" })
    }).pipe(Effect.provide(Env)))

  it.effect("long hook names keep the details in one column", () =>
    Effect.gen(function*() {
      const long = `known.${"x".repeat(40)}`
      const report = yield* Plugin.inspect(
        yield* pluginFolder(manifest([{ name: "known", kind: "filter" }, { name: long, kind: "filter" }]), wellBehaved)
      )
      const lines = Inspect.format(report).split("\n").slice(1, -1)
      assert.strictEqual(lines.length, report.checks.length)
      const columns = new Set(report.checks.map((c, i) => lines[i].indexOf(c.detail, 8 + c.name.length)))
      assert.deepStrictEqual([...columns], [8 + `hook ${long}`.length + 1], Inspect.format(report))
    }).pipe(Effect.provide(Env)))
})
