/**
 * Compiles the AssemblyScript plugins (examples/plugins/<name>/assembly/index.ts and any other folders given, as
 * absolute paths or relative to the working directory, inside the repository or not) with the guest SDK,
 * `@hookbus/assemblyscript` (this repository's workspace package): the same build `hookbus build` runs. Skips a
 * plugin whose module is newer than its sources and the SDK. Run by `npm run build:plugins`, `npm start`,
 * `prepack`, and the tests that need the plugins.
 *
 *   node scripts/build-plugins.ts [--force] [plugin folders...]
 */
import { buildPlugin as build, PluginBuildError } from "@hookbus/assemblyscript/build"

/** Where a plugin folder's module goes: the manifest's `wasm.path`, or `build/<folder>.wasm`. */
export { outputOf } from "@hookbus/assemblyscript/build"
import { existsSync, readdirSync } from "node:fs"
import { basename, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** The plugin folders under examples/plugins that have AssemblyScript sources. */
export const examplePlugins = (): Array<string> => {
  const dir = join(root, "examples", "plugins")
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "assembly", "index.ts")))
    .map((e) => join(dir, e.name))
}

/** Told about each plugin as soon as it is built or found up to date: the command line prints it, tests do not. */
export type Progress = (line: string) => void

/** Compiles one plugin folder; returns the module path, or rejects with the compiler's output. */
export const buildPlugin = async (folder: string, force = false, progress: Progress = () => {}): Promise<string> => {
  const started = performance.now()
  const { built, wasm } = await build(folder, { force })
  progress(`  ${basename(folder)}: ${built ? `built in ${Math.round(performance.now() - started)} ms` : "up to date"}`)
  return wasm
}

/** Builds every example plugin (and the given folders). */
export const buildAll = async (
  folders: ReadonlyArray<string> = [],
  force = false,
  progress: Progress = () => {}
): Promise<Array<string>> => {
  const built: Array<string> = []
  for (const folder of [...examplePlugins(), ...folders]) built.push(await buildPlugin(folder, force, progress))
  return built
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const force = args.includes("--force")
  const folders = args.filter((a) => a !== "--force").map((folder) => resolve(folder))
  const started = performance.now()
  try {
    console.log("building plugins:")
    const built = await buildAll(folders, force, (line) => console.log(line))
    console.log(`plugins ready (${built.length}) in ${Math.round(performance.now() - started)} ms:`)
    for (const path of built) console.log(`  ${relative(root, path)}`)
  } catch (error) {
    // The compiler's messages, not a stack trace.
    console.error(error instanceof PluginBuildError ? error.message : String(error))
    process.exitCode = 1
  }
}
