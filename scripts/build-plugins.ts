/**
 * Compiles the AssemblyScript plugins (examples/plugins/<name>/assembly/index.ts and any other folders given) to
 * <folder>/build/<name>.wasm with the guest SDK. Skips a plugin whose module is newer than its sources and the
 * SDK. Run by `npm run build:plugins`, `npm start`, and the tests that need the plugins.
 *
 *   node scripts/build-plugins.ts [--force] [plugin folders...]
 */
import { main as compile } from "assemblyscript/asc"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { basename, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const sdk = join(root, "sdk", "assemblyscript")

const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

/** The plugin folders under examples/plugins that have AssemblyScript sources. */
export const examplePlugins = (): Array<string> => {
  const dir = join(root, "examples", "plugins")
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "assembly", "index.ts")))
    .map((e) => join(dir, e.name))
}

/** Where the module goes: the manifest's `wasm.path`, or `build/<folder>.wasm`. */
export const outputOf = (folder: string): string => {
  const manifest = join(folder, "plugin.json")
  if (existsSync(manifest)) {
    const path = (JSON.parse(readFileSync(manifest, "utf8")) as { wasm?: { path?: unknown } }).wasm?.path
    if (typeof path === "string") return join(folder, path)
  }
  return join(folder, "build", `${basename(folder)}.wasm`)
}

/** Compiles one plugin folder; returns the module path, or throws with the compiler's output. */
export const buildPlugin = async (folder: string, force = false): Promise<string> => {
  const name = basename(folder)
  const entry = join(folder, "assembly", "index.ts")
  const out = outputOf(folder)
  if (!force && existsSync(out) && statSync(out).mtimeMs > Math.max(newest(join(folder, "assembly")), newest(sdk))) {
    return out
  }
  let output = ""
  const sink = { write: (chunk: string | Uint8Array) => (output += String(chunk), true) }
  const { error } = await compile([
    relative(root, entry),
    "--outFile",
    relative(root, out),
    "--runtime",
    "incremental",
    "--use",
    `abort=${relative(root, join(sdk, "index")).split("\\").join("/")}/hookbusAbort`,
    "--optimize",
    "--noAssert",
    "--baseDir",
    root
  ], { stdout: sink, stderr: sink })
  if (error) throw new Error(`building plugin ${name} failed: ${error.message}\n${output}`)
  return out
}

/** Builds every example plugin (and the given folders). */
export const buildAll = async (folders: ReadonlyArray<string> = [], force = false): Promise<Array<string>> => {
  const built: Array<string> = []
  for (const folder of [...examplePlugins(), ...folders]) built.push(await buildPlugin(folder, force))
  return built
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const force = args.includes("--force")
  const folders = args.filter((a) => a !== "--force").map((folder) => resolve(folder))
  const started = performance.now()
  const built = await buildAll(folders, force)
  console.log(`plugins ready (${built.length}) in ${Math.round(performance.now() - started)} ms:`)
  for (const path of built) console.log(`  ${relative(root, path)}`)
}
