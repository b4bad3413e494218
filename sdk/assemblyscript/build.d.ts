/**
 * Builds a hookbus plugin from AssemblyScript (see build.js).
 *
 * @since 0.1.0
 */

/** This package's folder. */
export declare const sdkDir: string

/** The package name plugins import: `@hookbus/assemblyscript`. */
export declare const packageName: string

/** A plugin that did not build; `message` is the compiler's output (or what was missing). */
export declare class PluginBuildError extends Error {
  readonly name: "PluginBuildError"
  readonly plugin: string
  constructor(plugin: string, message: string)
}

/** Where a plugin folder's module goes: its manifest's `wasm.path`, or `build/<folder>.wasm`. */
export declare const outputOf: (folder: string) => string

/**
 * Compiles `<folder>/assembly/index.ts` to the plugin's module; skips it when up to date unless `force`. Rejects
 * with a `PluginBuildError` carrying the compiler's messages.
 *
 * @example
 * ```ts
 * import { buildPlugin } from "@hookbus/assemblyscript/build"
 *
 * const { wasm } = await buildPlugin("plugins/my-plugin")
 * ```
 */
export declare const buildPlugin: (
  folder: string,
  options?: { readonly force?: boolean | undefined }
) => Promise<{ readonly wasm: string; readonly built: boolean }>
