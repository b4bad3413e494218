/**
 * The TypeScript samples in README.md and docs/*.md, extracted and type-checked with the project's compiler and
 * tsconfig, so they cannot drift from the API. A sample that is a whole program (it imports what it uses and has no
 * `yield*` at its top level) is checked under the full tsconfig, unused names included; README's program is also
 * run. A fragment (no imports, `yield*` at its top level, or names like `bus` from the text around it) is checked inside
 * an `Effect.gen` with those names declared, and without the unused-name checks.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { typecheckSamples } from "./helpers.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

interface Sample {
  readonly doc: string
  readonly line: number
  readonly code: string
}

/** Every ```ts block of a markdown file, except AssemblyScript files of the plugin walkthrough (`file=...`). */
export const samplesOf = (doc: string): ReadonlyArray<Sample> => {
  const text = readFileSync(join(root, doc), "utf8")
  const samples: Array<Sample> = []
  for (const match of text.matchAll(/^```ts([^\n]*)\n([\s\S]*?)^```$/gm)) {
    if (/\bfile=/.test(match[1])) continue
    samples.push({ doc, line: text.slice(0, match.index).split("\n").length, code: match[2] })
  }
  return samples
}

const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]

/** Names fragments use from the prose around them, and what they stand for. */
const context: ReadonlyArray<readonly [string, string]> = [
  ["bus", "declare const bus: HookBusShape"],
  ["TheContent", `const TheContent = Hook.filter("the_content", { value: Schema.String })`],
  ["PostContent", `const PostContent = Hook.filter("post.content", { value: Schema.String })`],
  ["program", "declare const program: Effect.Effect<void, never, HookBus>"],
  ["bytes", "declare const bytes: Uint8Array"],
  ["PostService", "declare const PostService: { readonly layer: Layer.Layer<never, never, HookBus> }"]
]
const preludeImports: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["effect", ["Console", "Effect", "Layer", "Option", "Schema"]],
  ["hookbus", ["Hook", "HookBus", "type HookBusShape"]],
  ["hookbus/wasm", ["Plugin", "PluginInstance", "PluginPolicy"]]
]

const isImport = (line: string) => /^import\s/.test(line)
const defines = (code: string, name: string) =>
  new RegExp(`\\b(const|let|class|function)\\s+${name}\\b|import[^\\n]*\\b${name}\\b[^\\n]*from`).test(code)

/** Whether a sample is a fragment, and the module it becomes. */
const toModule = (sample: Sample, dir: string): { readonly fragment: boolean; readonly source: string } => {
  const lines = sample.code.split("\n")
  const imports = lines.filter(isImport)
  const body = lines.filter((l) => !isImport(l)).join("\n")
  const free = context.filter(([name]) => new RegExp(`\\b${name}\\b`).test(body) && !defines(sample.code, name))
  const topLevelYield = /^(const [^=]+= )?yield\*/m.test(body)
  const fragment = imports.length === 0 || topLevelYield || free.length > 0
  // The package's entry points (`hookbus`, `hookbus/wasm`, ...) as the sources they are built from.
  const entry = (sub: string | undefined) =>
    relative(dir, join(root, "src", sub === undefined ? "index.ts" : `${sub}/index.ts`)).split("\\").join("/")
  const local = (line: string) =>
    line.replace(/from "hookbus(?:\/(\w+))?"/, (_, sub: string | undefined) => `from "${entry(sub)}"`)
  if (!fragment) return { fragment, source: [...imports.map(local), body].join("\n") }
  const prelude = preludeImports.map(([from, names]) => {
    const missing = names.filter((n) => !defines(sample.code, n.replace(/^type /, "")))
    return missing.length === 0 ? "" : local(`import { ${missing.join(", ")} } from "${from}"`)
  })
  return {
    fragment,
    source: [
      ...imports.map(local),
      ...prelude,
      ...free.map(([, declaration]) => declaration),
      topLevelYield ? `export const sample = Effect.gen(function*() {\n${body}\n})` : body
    ].join("\n")
  }
}

describe("README and docs samples", () => {
  it("every TypeScript sample type-checks; README's program runs and prints what it computes", () => {
    const dir = mkdtempSync(join(root, "test", ".doc-samples-"))
    try {
      const samples = docs.flatMap(samplesOf)
      assert.isAtLeast(samples.length, 10)
      const files = { strict: [] as Array<string>, fragment: [] as Array<string> }
      const origin = new Map<string, Sample>()
      samples.forEach((sample, i) => {
        const file = `${sample.doc.replace(/\W/g, "_")}_${sample.line}_${i}.ts`
        const module = toModule(sample, dir)
        writeFileSync(join(dir, file), module.source)
        ;(module.fragment ? files.fragment : files.strict).push(file)
        origin.set(file, sample)
      })
      const base = relative(dir, join(root, "tsconfig.json"))
      writeFileSync(join(dir, "strict.json"), JSON.stringify({ extends: base, files: files.strict, include: [] }))
      writeFileSync(
        join(dir, "fragment.json"),
        JSON.stringify({
          extends: base,
          files: files.fragment,
          include: [],
          compilerOptions: { noUnusedLocals: false, noUnusedParameters: false }
        })
      )
      for (const config of ["strict.json", "fragment.json"]) {
        // Name each error by the markdown file and line of its sample.
        const { report, status } = typecheckSamples(root, join(dir, config), (file) => {
          const sample = origin.get(file)
          return sample === undefined ? undefined : `${sample.doc} sample at line ${sample.line}`
        })
        assert.strictEqual(status, 0, `${config}:\n${report}`)
      }
      const readme = samples.findIndex((s) => s.doc === "README.md")
      const file = [...origin].find(([, s]) => s === samples[readme])![0]
      assert.include(files.strict, file, "README's sample is a whole program")
      const run = spawnSync(process.execPath, [join(dir, file)], { cwd: root, encoding: "utf8", timeout: 60_000 })
      assert.strictEqual(run.status, 0, run.stderr)
      assert.strictEqual(run.stdout, "<p>hello</p>\nsaved 42\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
