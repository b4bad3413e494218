/**
 * The layering docs/architecture.md describes, checked on the source: imports run one way.
 */
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../src")
const files = (readdirSync(src, { recursive: true }) as Array<string>).filter((f) => f.endsWith(".ts"))

/** Runtime (non-type) and type imports of each file, as paths relative to src. */
const importsOf = (file: string, runtimeOnly: boolean): Array<string> => {
  const text = readFileSync(join(src, file), "utf8")
  const out: Array<string> = []
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^"']*?from\s+["'](\.[^"']+)["']/gm)) {
    if (runtimeOnly && m[1] !== undefined) continue
    out.push(relative(src, resolve(dirname(join(src, file)), m[2])))
  }
  return out
}

describe("architecture", () => {
  it("the domain imports nothing of ours above it; wasm never reaches into layers; the inspector into internals", () => {
    for (const file of files) {
      const imports = importsOf(file, false)
      if (file.startsWith("domain/")) {
        assert.deepStrictEqual(imports.filter((i) => !i.startsWith("domain/")), [], file)
      }
      if (file.startsWith("wasm/")) assert.deepStrictEqual(imports.filter((i) => i.startsWith("layers/")), [], file)
      if (file.startsWith("inspector/")) {
        const internals = imports.filter((i) =>
          i.startsWith("layers/") || i.startsWith("services/internal/") || i.startsWith("wasm/internal/")
        )
        assert.deepStrictEqual(internals, [], file)
      }
      if (file.startsWith("layers/")) {
        assert.deepStrictEqual(imports.filter((i) => i === "services/HookBus.ts" || i.startsWith("wasm/")), [], file)
      }
    }
  })

  it("the bus's modules have no runtime import cycle", () => {
    const bus = files.filter((f) => f.startsWith("layers/") || f.startsWith("services/") || f.startsWith("domain/"))
    const graph = new Map(bus.map((f) => [f, importsOf(f, true).filter((i) => bus.includes(i))]))
    const state = new Map<string, "open" | "done">()
    const visit = (f: string, path: Array<string>): void => {
      if (state.get(f) === "done") return
      assert.notStrictEqual(state.get(f), "open", `import cycle: ${[...path, f].join(" -> ")}`)
      state.set(f, "open")
      for (const next of graph.get(f) ?? []) visit(next, [...path, f])
      state.set(f, "done")
    }
    for (const f of bus) visit(f, [])
    assert.isTrue(graph.size > 10)
  })
})
