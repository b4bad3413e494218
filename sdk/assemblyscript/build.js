/**
 * Builds a hookbus plugin from AssemblyScript: compiles `<folder>/assembly/index.ts` against this SDK to the
 * module the plugin's manifest names (`wasm.path`, default `build/<folder>.wasm`), with the incremental runtime
 * and the SDK's `hookbusAbort` wired as the runtime's `abort`, so the module imports only the ABI's host
 * functions. Works for a plugin folder anywhere on disk: the SDK is found from here, not from the folder.
 *
 * Plain JavaScript (with `build.d.ts`) because Node does not strip types inside node_modules.
 *
 * @since 0.1.0
 */
import { main as compile } from "assemblyscript/asc"
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

/** This package's folder (the real path, when it is a workspace link). */
export const sdkDir = realpathSync(fileURLToPath(new URL(".", import.meta.url)))

/** The package name plugins import. */
export const packageName = "@hookbus/assemblyscript"

/** A plugin that did not build; `message` is the compiler's output (or what was missing). */
export class PluginBuildError extends Error {
  /**
   * @param {string} plugin
   * @param {string} message
   */
  constructor(plugin, message) {
    super(message)
    this.name = "PluginBuildError"
    this.plugin = plugin
  }
}

/**
 * The node_modules folder holding this package (`<dir>/@hookbus/assemblyscript`), whichever way it was installed:
 * the compiler resolves the plugin's `import ... from "@hookbus/assemblyscript"` there.
 * @returns {string | undefined}
 */
const sdkModules = () => {
  for (let dir = sdkDir; dirname(dir) !== dir; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules")
    const link = join(candidate, packageName)
    if (existsSync(link) && realpathSync(link) === sdkDir) return candidate
    if (basename(dir) === "node_modules" && join(dir, packageName) === sdkDir) return dir
  }
  return undefined
}

/**
 * @param {string} dir
 * @returns {number}
 */
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

/**
 * Where the module goes: the manifest's `wasm.path`, or `build/<folder>.wasm`.
 * @param {string} folder
 * @returns {string}
 */
export const outputOf = (folder) => {
  const manifest = join(folder, "plugin.json")
  if (existsSync(manifest)) {
    let path
    try {
      path = JSON.parse(readFileSync(manifest, "utf8"))?.wasm?.path
    } catch (error) {
      throw new PluginBuildError(basename(folder), `${manifest} is not valid JSON: ${error.message}`)
    }
    if (typeof path === "string") return join(folder, path)
  }
  return join(folder, "build", `${basename(folder)}.wasm`)
}

/**
 * Compiles one plugin folder. Skips it when its module is newer than its sources and the SDK, unless `force`.
 * Rejects with a `PluginBuildError` carrying the compiler's messages.
 * @param {string} folder
 * @param {{ readonly force?: boolean | undefined }} [options]
 * @returns {Promise<{ readonly wasm: string, readonly built: boolean }>}
 */
export const buildPlugin = async (folder, options = {}) => {
  const dir = resolve(folder)
  const name = basename(dir)
  const sources = join(dir, "assembly")
  const entry = join(sources, "index.ts")
  if (!existsSync(entry)) throw new PluginBuildError(name, `no AssemblyScript entry: ${entry} does not exist`)
  const out = outputOf(dir)
  if (
    options.force !== true && existsSync(out) &&
    statSync(out).mtimeMs > Math.max(newest(sources), newest(sdkDir))
  ) {
    return { wasm: out, built: false }
  }
  const modules = sdkModules()
  let output = ""
  const sink = { write: (chunk) => (output += String(chunk), true) }
  const { error } = await compile([
    entry,
    "--outFile",
    out,
    "--runtime",
    "incremental",
    "--use",
    `abort=~lib/${packageName}/index/hookbusAbort`,
    "--optimize",
    "--noAssert",
    "--baseDir",
    dir,
    ...(modules === undefined ? [] : ["--path", modules])
  ], { stdout: sink, stderr: sink })
  if (error) {
    const message = output.trim() || error.message
    throw new PluginBuildError(name, `building plugin ${name} failed:\n${message}`)
  }
  return { wasm: out, built: true }
}
