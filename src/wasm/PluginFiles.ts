/**
 * Reading a plugin folder without trusting it: every file is resolved to its real path and must stay inside the
 * folder's real path (a symlink out is refused), must be a regular file (a FIFO would block the read forever, a
 * device such as `/dev/zero` never ends), and is read with a size cap.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Manifest from "../domain/Manifest.ts"
import { ManifestInvalid, PluginFileRejected, PluginNotFound } from "../domain/PluginErrors.ts"
import { defaultMaxModuleBytes as instanceMaxModuleBytes } from "./PluginInstance.ts"

/**
 * The largest `plugin.json` read by default: 1 MiB.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { PluginFiles } from "hookbus/wasm"
 *
 * const program = PluginFiles.readPluginDir("plugins/seo", { maxManifestBytes: PluginFiles.defaultMaxManifestBytes / 4 })
 */
export const defaultMaxManifestBytes = 1_048_576

/**
 * The largest module read by default: 16 MiB, the plugin instance's default `limits.maxModuleBytes`.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * import { PluginFiles } from "hookbus/wasm"
 *
 * const mib = PluginFiles.defaultMaxModuleBytes / 1_048_576 // 16
 */
export const defaultMaxModuleBytes = instanceMaxModuleBytes

/**
 * Caps on the files of a plugin folder.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { PluginFiles } from "hookbus/wasm"
 *
 * const limits: PluginFiles.FileLimits = { maxManifestBytes: 65_536, maxModuleBytes: 4 * 1_048_576 }
 * const program = PluginFiles.readPluginDir("plugins/seo", limits)
 */
export interface FileLimits {
  /** The largest `plugin.json`, in bytes (default 1 MiB). */
  readonly maxManifestBytes?: number | undefined
  /** The largest module, in bytes (default 16 MiB). */
  readonly maxModuleBytes?: number | undefined
}

/**
 * A plugin folder's decoded manifest and module bytes.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { PluginFiles } from "hookbus/wasm"
 *
 * const describe = (files: PluginFiles.PluginFiles) => `${files.manifest.name}: ${files.bytes.length} bytes`
 */
export interface PluginFiles {
  readonly manifest: Manifest.Manifest
  readonly bytes: Uint8Array
}

/**
 * Why a plugin folder could not be read.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * import { Effect } from "effect"
 * import { PluginFiles } from "hookbus/wasm"
 *
 * const program = PluginFiles.readPluginDir("plugins/seo").pipe(
 *   Effect.catch((error: PluginFiles.ReadError) => Effect.logError(error.message))
 * )
 */
export type ReadError = ManifestInvalid | PluginNotFound | PluginFileRejected

const isInside = (path: Path.Path, root: string, target: string): boolean => {
  const relative = path.relative(root, target)
  return relative === "" || (relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
}

/**
 * Reads the file at `file` (a path under the folder `root`), checking it against the rules: inside the folder once
 * every link is resolved, a regular file, at most `maxBytes` long (checked before and while reading, so a file that
 * grows is cut off too).
 *
 * @since 0.1.0
 * @category reading
 * @example
 * import { Effect } from "effect"
 * import { PluginFiles } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const bytes = yield* PluginFiles.readInside("plugins/seo", "plugins/seo/build/seo.wasm", 1024 * 1024)
 *   return bytes.length
 * })
 */
export const readInside = (
  root: string,
  file: string,
  maxBytes: number
): Effect.Effect<Uint8Array, PluginNotFound | PluginFileRejected, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const notFound = (error: { readonly message: string }) => new PluginNotFound({ path: file, reason: error.message })
    const realRoot = yield* fs.realPath(root).pipe(Effect.mapError(notFound))
    const real = yield* fs.realPath(file).pipe(Effect.mapError(notFound))
    if (!isInside(path, realRoot, real)) {
      return yield* new PluginFileRejected({
        path: file,
        rule: "outside_folder",
        detail: `resolves to ${real}, outside the plugin folder ${realRoot}`
      })
    }
    const info = yield* fs.stat(real).pipe(Effect.mapError(notFound))
    if (info.type !== "File") {
      return yield* new PluginFileRejected({
        path: file,
        rule: "not_regular_file",
        detail: `is a ${info.type}, not a regular file`
      })
    }
    const tooLarge = (size: string) =>
      new PluginFileRejected({ path: file, rule: "too_large", detail: `${size} bytes, over the cap of ${maxBytes}` })
    if (Number(info.size) > maxBytes) return yield* tooLarge(String(info.size))
    return yield* Effect.scoped(Effect.gen(function*() {
      const handle = yield* fs.open(real, { flag: "r" }).pipe(Effect.mapError(notFound))
      const chunks: Array<Uint8Array> = []
      let total = 0
      while (true) {
        const chunk = yield* handle.readAlloc(Math.min(65_536, maxBytes + 1 - total)).pipe(Effect.mapError(notFound))
        if (Option.isNone(chunk) || chunk.value.length === 0) break
        chunks.push(chunk.value)
        total += chunk.value.length
        if (total > maxBytes) return yield* tooLarge(`more than ${maxBytes}`)
      }
      const bytes = new Uint8Array(total)
      let offset = 0
      for (const chunk of chunks) {
        bytes.set(chunk, offset)
        offset += chunk.length
      }
      return bytes
    }))
  })

/**
 * Reads a plugin folder: its decoded manifest and its module's bytes, each file under the rules of `readInside`.
 *
 * @since 0.1.0
 * @category reading
 * @example
 * import { Effect } from "effect"
 * import { PluginFiles } from "hookbus/wasm"
 *
 * const program = Effect.gen(function*() {
 *   const { manifest, bytes } = yield* PluginFiles.readPluginDir("plugins/seo")
 *   return `${manifest.name}: ${bytes.length} bytes`
 * })
 */
export const readPluginDir = (
  dir: string,
  limits: FileLimits = {}
): Effect.Effect<PluginFiles, ReadError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const manifestPath = path.join(dir, "plugin.json")
    const manifestBytes = yield* readInside(
      dir,
      manifestPath,
      limits.maxManifestBytes ?? defaultMaxManifestBytes
    )
    const manifest = yield* Manifest.parse(new TextDecoder().decode(manifestBytes), manifestPath)
    if (manifest.wasm === undefined) {
      return yield* new ManifestInvalid({
        source: manifestPath,
        problems: [{ path: "wasm", message: "required when loading from a folder" }]
      })
    }
    const wasmPath = path.resolve(dir, manifest.wasm.path)
    if (!isInside(path, path.resolve(dir), wasmPath)) {
      return yield* new ManifestInvalid({
        source: manifestPath,
        problems: [{ path: "wasm.path", message: "must stay inside the plugin folder" }]
      })
    }
    const bytes = yield* readInside(dir, wasmPath, limits.maxModuleBytes ?? defaultMaxModuleBytes)
    return { manifest, bytes }
  })
