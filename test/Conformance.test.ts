/**
 * The conformance suite (`hookbus conformance`): every example plugin, in every guest language, passes every row;
 * a module that breaks the contract fails the rows it breaks, and the command exits 1 with the table.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Conformance } from "../src/wasm/index.ts"
import { compileWat } from "./fixtures/wat.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const Env = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

/** Every example plugin; one per SDK makes 100,000 calls (the bar for flat memory), the rest the default. */
const examples = [
  ["plugins/audit", Conformance.defaultCalls],
  ["plugins/reading-time", Conformance.defaultCalls],
  ["plugins/slugify", 100_000],
  ["plugins/uppercase", Conformance.defaultCalls],
  ["c/audit", Conformance.defaultCalls],
  ["c/slugify", 100_000],
  ["rust/audit", Conformance.defaultCalls],
  ["rust/slugify", 100_000],
  ["rust/wasi-clock", Conformance.defaultCalls]
] as const

/** The rows after inspect's checks, in order (the hook rows of inspect vary with the manifest). */
const callRows = [
  "alloc/free accounting",
  "status -4",
  "status -3",
  "empty values",
  "unicode",
  "large values",
  "payload cap",
  "answers"
]

/** A plugin folder holding the ABI test fixture: a bump allocator whose gn_free frees nothing, no JSON parsing. */
const leaky = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped()
  const wat = readFileSync(new URL("fixtures/abi-fixture.wat", import.meta.url), "utf8")
  yield* fs.writeFile(`${dir}/leaky.wasm`, yield* compileWat(wat))
  yield* fs.writeFileString(
    `${dir}/plugin.json`,
    JSON.stringify({
      abi: 1,
      name: "leaky",
      version: "1.0.0",
      wasm: { path: "leaky.wasm" },
      hooks: [{ name: "the_content", kind: "filter" }],
      limits: { memoryPages: 32, fuel: 10_000_000 }
    })
  )
  return dir
}).pipe(Effect.orDie)

const cli = (...args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, ["src/cli/main.ts", "conformance", ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000
  })

describe("hookbus conformance", () => {
  for (const [example, calls] of examples) {
    it.effect(`examples/${example} passes every row (${calls} calls)`, () =>
      Effect.gen(function*() {
        const folder = fileURLToPath(new URL(`../examples/${example}`, import.meta.url))
        const report = yield* Conformance.run(folder, { calls })
        const failed = report.rows.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)
        assert.deepStrictEqual(failed, [])
        assert.isTrue(report.ok)
        const names = report.rows.map((r) => r.name)
        assert.deepStrictEqual(names.filter((name) => callRows.includes(name)), callRows)
        assert.strictEqual(names.at(-2), `${calls} calls`)
        assert.strictEqual(report.calls, calls)
      }).pipe(Effect.provide(Env)), 120_000)
  }

  it.effect(
    "a module that leaks and parses nothing fails exactly the rows it breaks",
    () =>
      Effect.gen(function*() {
        const report = yield* Conformance.run(yield* leaky, { calls: 2_000 })
        const failed = report.rows.filter((r) => !r.ok).map((r) => r.name)
        assert.isFalse(report.ok)
        // gn_free frees nothing, so its 32 pages run out; it writes a null as NULL, which is not JSON. Its statuses are
        // right, and so is everything inspect checks.
        assert.deepStrictEqual(failed, ["alloc/free accounting", "empty values", "2000 calls", "answers"])
        const alloc = report.rows.find((r) => r.name === "alloc/free accounting")!
        assert.match(alloc.detail, /gn_alloc\(\d+\) returned 0|memory grew/)
        assert.match(Conformance.format(report), /not conformant: \d+ of \d+ rows failed$/)
      }).pipe(Effect.scoped, Effect.provide(Env)),
    120_000
  )

  it("the command prints the table and exits 0 for a conformant plugin", () => {
    const result = cli("examples/rust/slugify", "--calls", "1000")
    assert.strictEqual(result.status, 0, result.stderr)
    const lines = result.stdout.trim().split("\n")
    assert.strictEqual(lines[0], "conformance examples/rust/slugify (slugify-rust)")
    assert.match(lines[1], /^ {2}row +result {2}detail$/)
    assert.match(
      result.stdout,
      /\n {2}1000 calls +PASS {4}after 1000 warm-up calls, memory flat at \d+ bytes, no trap, no out of memory\n/
    )
    assert.match(lines.at(-1)!, /^conformant: all \d+ rows passed$/)
  }, 120_000)

  it.effect("the command exits 1 naming each failed row, and 2 for a bad --calls", () =>
    Effect.gen(function*() {
      const dir = yield* leaky
      const result = cli(dir, "--calls", "500")
      assert.strictEqual(result.status, 1, result.stderr)
      assert.match(result.stdout, /\n {2}alloc\/free accounting +FAIL {4}gn_alloc\(65536\) returned 0/)
      assert.match(result.stdout, /\n {2}500 calls +FAIL {4}memory grew from \d+ to \d+ bytes/)
      assert.match(
        result.stdout,
        /\n {2}empty values +FAIL {4}the_content: plugin "leaky", hook "the_content": bad payload: the result body is not valid JSON/
      )
      const json = cli(dir, "--json")
      assert.strictEqual(json.status, 1)
      assert.isFalse(JSON.parse(json.stdout).ok)
      const usage = cli("examples/c/slugify", "--calls", "0")
      assert.strictEqual(usage.status, 2)
      assert.match(usage.stderr, /--calls must be between 1 and 10000000, got 0/)
    }).pipe(Effect.scoped, Effect.provide(Env)), 120_000)
})
