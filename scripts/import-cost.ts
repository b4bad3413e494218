/**
 * Measures what importing each entry point of the built package costs: wall time to import it in a fresh Node
 * process (median of several), how many modules load, and whether binaryen or the WebAssembly runtime
 * (dist/wasm/) is among them. Prints a Markdown table for the README. Needs `npm run build` first.
 *
 *   node scripts/import-cost.ts [runs]
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const entries = ["hookbus", "hookbus/wasm", "hookbus/cli", "hookbus/inspector", "hookbus/durable"] as const

/** What one import loaded. */
export interface ImportReport {
  readonly entry: string
  readonly ms: number
  readonly modules: number
  readonly binaryen: boolean
  readonly wasmRuntime: boolean
  readonly inspector: boolean
  /** effect/cluster, effect/workflow or effect/sql (what hookbus/durable runs on) was loaded. */
  readonly durableEngine: boolean
}

// The probe runs from a file inside the repository so that `hookbus` resolves to this package (self-reference).
const probe = (hooks: boolean) => `
import { registerHooks } from "node:module"
const loaded = []
if (${hooks}) registerHooks({ load: (url, context, next) => (loaded.push(url), next(url, context)) })
const started = performance.now()
await import(process.argv[2])
const ms = performance.now() - started
console.log(JSON.stringify({
  ms,
  modules: loaded.length,
  binaryen: loaded.some((url) => url.includes("/node_modules/binaryen/")),
  wasmRuntime: loaded.some((url) => /\\/(dist|src)\\/wasm\\//.test(url)),
  inspector: loaded.some((url) => /\\/(dist|src)\\/inspector\\//.test(url)),
  durableEngine: loaded.some((url) => /\\/node_modules\\/effect\\/dist\\/(cluster|workflow|sql)\\//.test(url))
}))
`

/**
 * Imports `entry` in fresh processes: the median time of `runs` plain imports (with 0, the traced import's time), the
 * modules of one traced import.
 */
export const measure = (entry: string, runs = 5, cwd = root): ImportReport => {
  const dir = mkdtempSync(join(cwd, ".import-cost-"))
  try {
    const run = (hooks: boolean) => {
      const file = join(dir, hooks ? "traced.mjs" : "plain.mjs")
      if (!existsSync(file)) writeFileSync(file, probe(hooks))
      return JSON.parse(execFileSync(process.execPath, [file, entry], { cwd, encoding: "utf8" })) as Omit<
        ImportReport,
        "entry"
      >
    }
    const times = Array.from({ length: runs }, () => run(false).ms).sort((a, b) => a - b)
    const traced = run(true)
    return { ...traced, entry, ms: runs > 0 ? times[Math.floor(times.length / 2)] : traced.ms }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.argv[2] ?? 7)
  console.log(
    `| entry point | import time (median of ${runs}) | modules loaded | binaryen loaded | wasm runtime loaded |`
  )
  console.log("|---|---|---|---|---|")
  for (const entry of entries) {
    const r = measure(entry, runs)
    console.log(
      `| \`${r.entry}\` | ${r.ms.toFixed(0)} ms | ${r.modules} | ${r.binaryen ? "yes" : "no"} | ${
        r.wasmRuntime ? "yes" : "no"
      } |`
    )
  }
}
