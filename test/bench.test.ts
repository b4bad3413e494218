/**
 * The benchmark script's smoke run (`npm run bench -- --quick`): it completes and writes its results, table and
 * chart into a temporary directory, never over the committed report. Nothing about speed is asserted: benchmarks
 * are never timed tests.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { readFileSync, realpathSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const report = ["docs/benchmarks.md", "bench/results.json", "docs/benchmarks-filter-10.svg"]

const snapshot = () => report.map((path) => `${statSync(join(root, path)).mtimeMs} ${readFileSync(join(root, path))}`)

describe("bench --quick", () => {
  it("runs every scenario and writes results.json, benchmarks.md and the chart to a temporary directory only", () => {
    const before = snapshot()
    const result = spawnSync(process.execPath, ["--expose-gc", "bench/run.ts", "--quick"], {
      cwd: root,
      encoding: "utf8",
      timeout: 240_000
    })
    assert.strictEqual(result.status, 0, result.stderr)
    const wrote = /^wrote (.+)results\.json and /m.exec(result.stdout)
    assert.isNotNull(wrote, result.stdout)
    const out = dirname(join(wrote![1], "results.json"))
    try {
      assert.isTrue(realpathSync(out).startsWith(realpathSync(tmpdir())), out)
      assert.deepStrictEqual(snapshot(), before, "a quick run must not touch the committed report")
      const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
        cases: Array<{ group: string; nsPerOp: number; minNsPerOp: number; rounds: number }>
        targets: Array<{ name: string; measured: number; bound: number }>
      }
      assert.isAtLeast(json.cases.length, 40)
      assert.isTrue(
        json.cases.every((c) => Number.isFinite(c.nsPerOp) && c.minNsPerOp > 0 && c.minNsPerOp <= c.nsPerOp),
        "every case has a median and a fastest round"
      )
      assert.isTrue(json.cases.every((c) => c.rounds >= 2), "cases are sampled over interleaved rounds")
      // One target per row of issue 17's table, plus per-handler cost at 1,000 handlers / at 10, plus the
      // inspector's cost (issue 20).
      assert.strictEqual(json.targets.length, 14)
      assert.isTrue(json.targets.some((t) => t.name === "HookInspector.layer provided / defaults, 10-handler filter"))
      assert.isTrue(json.targets.every((t) => Number.isFinite(t.measured) && t.bound > 0))
      const md = readFileSync(join(out, "benchmarks.md"), "utf8")
      assert.match(md, /^# Benchmarks/)
      assert.match(md, /\| target \| measured \(medians\) \| fastest rounds \| bound \| verdict \|/)
      assert.match(md, /Every target was met in this run\.|\*\*Missed in this run\*\*/)
      assert.match(readFileSync(join(out, "benchmarks-filter-10.svg"), "utf8"), /^<svg /)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 300_000)
})
