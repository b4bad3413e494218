/**
 * The benchmark script's smoke run (`npm run bench -- --quick`): it completes and writes its results, table and
 * chart. Nothing about speed is asserted: benchmarks are never timed tests.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

describe("bench --quick", () => {
  it("runs every scenario and writes results.json, benchmarks.md and the chart", () => {
    const out = mkdtempSync(join(tmpdir(), "hookbus-bench-"))
    try {
      const result = spawnSync(process.execPath, ["--expose-gc", "bench/run.ts", "--quick", "--out", out], {
        cwd: root,
        encoding: "utf8",
        timeout: 240_000
      })
      assert.strictEqual(result.status, 0, result.stderr)
      const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
        cases: Array<{ group: string; nsPerOp: number }>
        targets: Array<{ name: string; measured: number }>
      }
      assert.isAtLeast(json.cases.length, 40)
      assert.isTrue(json.cases.every((c) => Number.isFinite(c.nsPerOp) && c.nsPerOp > 0))
      assert.strictEqual(json.targets.length, 9)
      const md = readFileSync(join(out, "benchmarks.md"), "utf8")
      assert.match(md, /^# Benchmarks/)
      assert.match(md, /\| target \| measured \| bound \| verdict \|/)
      assert.match(readFileSync(join(out, "benchmarks-filter-10.svg"), "utf8"), /^<svg /)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 300_000)
})
