/**
 * The API reference lives in the sources, the way Effect's docgen reads it: every public export (everything the
 * package's entry points `hookbus`, `hookbus/wasm`, `hookbus/cli` and `hookbus/inspector` expose) has a JSDoc summary, `@since`,
 * `@category` and an `@example`; every module an entry point exposes has a module comment with `@since`. Every
 * `@example` in src/ is a small program of its own (it imports what it uses, from `hookbus`, `hookbus/wasm`,
 * `hookbus/cli` or `effect`; an internal module's, from its own path) and is type-checked with the project's
 * compiler and tsconfig.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { typecheckSamples } from "./helpers.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const src = join(root, "src")
const entries: ReadonlyArray<readonly [string, string]> = [
  ["hookbus", "index.ts"],
  ["hookbus/wasm", "wasm/index.ts"],
  ["hookbus/cli", "cli/index.ts"],
  ["hookbus/inspector", "inspector/index.ts"],
  ["hookbus/durable", "durable/index.ts"]
]

const read = (file: string) => readFileSync(join(src, file), "utf8")

/** A JSDoc block's summary and tags. */
interface Doc {
  readonly summary: string
  readonly tags: ReadonlyMap<string, ReadonlyArray<string>>
}

const parseDoc = (block: string): Doc => {
  const lines = block.replace(/^\/\*\*/, "").replace(/\*\/$/, "").split("\n").map((l) => l.replace(/^\s*\* ?/, ""))
  const tags = new Map<string, Array<string>>()
  const summary: Array<string> = []
  // The tag the following lines belong to, and which of its occurrences.
  let current: { readonly values: Array<string>; readonly index: number } | undefined
  for (const line of lines) {
    const tag = /^@(\w+)\s?(.*)$/.exec(line.trim())
    if (tag !== null) {
      const values = tags.get(tag[1]) ?? []
      tags.set(tag[1], values)
      values.push(tag[2])
      current = { values, index: values.length - 1 }
    } else if (current !== undefined) current.values[current.index] += `\n${line}`
    else summary.push(line)
  }
  return { summary: summary.join("\n").trim(), tags }
}

/** The JSDoc block that ends right before `offset` (only blank space between), if any. */
const docBefore = (text: string, offset: number): string | undefined => {
  const before = text.slice(0, offset).trimEnd()
  if (!before.endsWith("*/")) return undefined
  const start = before.lastIndexOf("/**")
  return start === -1 ? undefined : before.slice(start)
}

/** A module's top-level exports: declarations (with their JSDoc) and re-exports. */
type Export =
  | { readonly _tag: "Declared"; readonly name: string; readonly doc: string | undefined; readonly line: number }
  | { readonly _tag: "Namespace"; readonly name: string; readonly file: string }
  | { readonly _tag: "Star"; readonly file: string }
  | { readonly _tag: "Named"; readonly name: string; readonly as: string; readonly file: string }

const exportsOf = (file: string): ReadonlyArray<Export> => {
  const text = read(file)
  const target = (spec: string) => relative(src, resolve(dirname(join(src, file)), spec))
  const out: Array<Export> = []
  const seen = new Set<string>()
  for (const m of text.matchAll(/^export\s.*$/gm)) {
    const line = m[0]
    const lineNo = text.slice(0, m.index).split("\n").length
    let r: RegExpExecArray | null
    if ((r = /^export (?:type )?\* as (\w+) from "([^"]+)"/.exec(line)) !== null) {
      out.push({ _tag: "Namespace", name: r[1], file: target(r[2]) })
    } else if ((r = /^export (?:type )?\* from "([^"]+)"/.exec(line)) !== null) {
      out.push({ _tag: "Star", file: target(r[1]) })
    } else if ((r = /^export (?:type )?\{([^}]*)\}(?: from "([^"]+)")?/.exec(line)) !== null) {
      assert.isDefined(r[2], `${file}:${lineNo}: a local export list; declare the export where it is defined`)
      for (const part of r[1].split(",").map((p) => p.trim()).filter((p) => p.length > 0)) {
        const [name, as = name] = part.replace(/^type /, "").split(/\s+as\s+/)
        out.push({ _tag: "Named", name, as, file: target(r[2]!) })
      }
    } else if (
      (r = /^export (?:declare )?(?:abstract )?(?:const|let|function|class|interface|type|enum|namespace) (\w+)/
        .exec(line)) !== null
    ) {
      // A name declared twice (overloads, a schema and its type) is documented once, at its first declaration.
      if (seen.has(r[1])) continue
      seen.add(r[1])
      out.push({ _tag: "Declared", name: r[1], doc: docBefore(text, m.index), line: lineNo })
    } else {
      assert.fail(`${file}:${lineNo}: an export this test does not understand: ${line}`)
    }
  }
  return out
}

/** A public export and where its documentation is. */
interface Public {
  readonly path: string
  readonly file: string
  readonly line: number
  readonly doc: string | undefined
}

/** Every public export reachable from `file`, named as a user writes it (`Plugin.load`, `HookBus`). */
const publicOf = (file: string, prefix: string, modules: Map<string, string>): Array<Public> =>
  exportsOf(file).flatMap((e): Array<Public> => {
    switch (e._tag) {
      case "Declared":
        return [{ path: `${prefix}${e.name}`, file, line: e.line, doc: e.doc }]
      case "Star":
        return publicOf(e.file, prefix, modules)
      case "Namespace":
        modules.set(e.file, `${prefix}${e.name}`)
        return publicOf(e.file, `${prefix}${e.name}.`, modules)
      case "Named": {
        const found = publicOf(e.file, "", modules).find((p) => p.path === e.name)
        assert.isDefined(found, `${file} re-exports ${e.name}, not found in ${e.file}`)
        return [{ ...found!, path: `${prefix}${e.as}` }]
      }
    }
  })

/** What a public export's documentation lacks. */
const problemsOf = (doc: string | undefined): ReadonlyArray<string> => {
  if (doc === undefined) return ["no JSDoc"]
  const parsed = parseDoc(doc)
  const problems: Array<string> = []
  if (parsed.summary.length === 0) problems.push("no summary line")
  for (const tag of ["since", "category", "example"]) {
    const values = parsed.tags.get(tag)
    if (values === undefined || values.some((v) => v.trim().length === 0)) problems.push(`no @${tag}`)
  }
  return problems
}

const sourceFiles = (readdirSync(src, { recursive: true }) as Array<string>).filter((f) => f.endsWith(".ts"))

/** Every `@example` in src/, with the file and line it is at. */
const examples = (): Array<{ readonly file: string; readonly line: number; readonly code: string }> =>
  sourceFiles.flatMap((file) => {
    const text = read(file)
    return [...text.matchAll(/\/\*\*[\s\S]*?\*\//g)].flatMap((m) =>
      (parseDoc(m[0]).tags.get("example") ?? []).map((code) => ({
        file,
        line: text.slice(0, m.index).split("\n").length,
        code: code.replace(/^\s*```ts\s*$/m, "").replace(/^\s*```\s*$/m, "")
      }))
    )
  })

describe("JSDoc of the public API", () => {
  const modules = new Map<string, string>()
  const publics = entries.flatMap(([, file]) => publicOf(file, "", modules))

  it("every public export has a summary, @since, @category and @example", () => {
    assert.isAtLeast(new Set(publics.map((p) => `${p.file}:${p.line}`)).size, 150)
    const missing = [
      ...new Set(publics.flatMap((p) => {
        const problems = problemsOf(p.doc)
        return problems.length === 0 ? [] : [`src/${p.file}:${p.line} ${p.path}: ${problems.join(", ")}`]
      }))
    ]
    assert.deepStrictEqual(missing, [], `${missing.length} public exports are not documented:\n${missing.join("\n")}`)
  })

  it("every module an entry point exposes has a module comment with @since", () => {
    const files = [...entries.map(([, file]) => file), ...modules.keys()]
    const missing = files.filter((file) => {
      const doc = /^\/\*\*[\s\S]*?\*\//.exec(read(file))?.[0]
      return doc === undefined || parseDoc(doc).summary.length === 0 || !parseDoc(doc).tags.has("since")
    })
    assert.deepStrictEqual(missing, [])
  })

  it("every @example in src/ type-checks as a program of its own", () => {
    const all = examples()
    assert.isAtLeast(all.length, new Set(publics.map((p) => `${p.file}:${p.line}`)).size)
    const dir = mkdtempSync(join(root, "test", ".jsdoc-examples-"))
    try {
      const origin = new Map<string, { readonly file: string; readonly line: number }>()
      const files = all.map((example, i) => {
        const name = `${example.file.replace(/\W/g, "_")}_${example.line}_${i}.ts`
        const from = (file: string) => `from "${relative(dir, file).split("\\").join("/")}"`
        // The package's entry points, as the sources they are built from; an internal module's example may import
        // its own module (and its neighbours) by a relative path.
        const code = example.code.replace(
          /from "(hookbus(?:\/\w+)?|\.\.?\/[^"]+)"/g,
          (_, spec: string) =>
            spec.startsWith("hookbus")
              ? from(join(src, spec === "hookbus" ? "index.ts" : `${spec.slice("hookbus/".length)}/index.ts`))
              : from(resolve(src, dirname(example.file), spec))
        )
        writeFileSync(join(dir, name), `${code}\nexport {}\n`)
        origin.set(name, example)
        return name
      })
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          extends: relative(dir, join(root, "tsconfig.json")),
          files,
          include: [],
          compilerOptions: { noUnusedLocals: false, noUnusedParameters: false }
        })
      )
      // Name each error by the source file and line of its example.
      const { report, status } = typecheckSamples(root, join(dir, "tsconfig.json"), (file) => {
        const at = origin.get(file)
        return at === undefined ? undefined : `src/${at.file} example at line ${at.line}`
      })
      assert.strictEqual(status, 0, report)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
