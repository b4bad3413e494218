/**
 * Compiles the C and Rust plugins (examples/c/<name>, examples/rust/<name>, and any other folders given) to the
 * module their manifest names, with the guest SDKs in sdk/c and sdk/rust. Skips a plugin whose module is newer
 * than its sources and its SDK. Needs Debian's clang + lld (C) and rustc + libstd-rust-dev-wasm32 (Rust);
 * `npm run setup:toolchains` installs whichever is missing. Run by `npm run build:plugins` and before the tests.
 *
 *   node scripts/build-guests.ts [--force] [plugin folders...]
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs"
import { basename, dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { outputOf } from "./build-plugins.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const cSdk = join(root, "sdk", "c")
const rustSdk = join(root, "sdk", "rust")

/**
 * Debian's rustc, by absolute path: the rustup toolchain on PATH has no wasm32 standard library and cannot
 * download one here. `HOOKBUS_RUSTC` overrides it (any rustc with the wasm32-unknown-unknown target).
 */
export const rustc = process.env["HOOKBUS_RUSTC"] ?? "/usr/bin/rustc"
/** clang with the WebAssembly backend; `HOOKBUS_CLANG` overrides it. */
export const clang = process.env["HOOKBUS_CLANG"] ?? "clang"

const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    if (entry.name === "build" || entry.name === "target") return latest
    const path = join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

/** Which SDK a plugin folder uses, from its sources. */
export const languageOf = (folder: string): "c" | "rust" | undefined => {
  if (existsSync(join(folder, "Cargo.toml")) || existsSync(join(folder, "src", "lib.rs"))) return "rust"
  if (readdirSync(folder).some((f) => f.endsWith(".c"))) return "c"
  return undefined
}

/** The C and Rust plugin folders under examples/c and examples/rust. */
export const guestPlugins = (): Array<string> =>
  ["c", "rust"].flatMap((language) => {
    const dir = join(root, "examples", language)
    if (!existsSync(dir)) return []
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "plugin.json")))
      .map((e) => join(dir, e.name))
  })

const missing = (tool: string, detail: string): Error =>
  new Error(
    `${tool} is needed to build ${detail}: run \`npm run setup:toolchains\` (installs Debian's clang, lld, rustc and libstd-rust-dev-wasm32 where missing)`
  )

const run = (command: string, args: ReadonlyArray<string>, what: string): void => {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8" })
  if (result.error !== undefined) {
    throw (result.error as NodeJS.ErrnoException).code === "ENOENT" ? missing(command, what) : result.error
  }
  if (result.status !== 0) {
    throw new Error(`building ${what} failed:\n$ ${command} ${args.join(" ")}\n${result.stdout}${result.stderr}`)
  }
}

/** The clang arguments that compile a C plugin's sources with the SDK into `out` (also shown in docs/plugins.md). */
export const cArgs = (sources: ReadonlyArray<string>, out: string, include: ReadonlyArray<string> = []) => [
  "--target=wasm32",
  "-O2",
  "-nostdlib",
  "-ffreestanding",
  "-mbulk-memory",
  "-Wall",
  "-Wextra",
  "-Werror",
  `-I${cSdk}`,
  ...include.map((dir) => `-I${dir}`),
  "-Wl,--no-entry",
  "-Wl,--stack-first",
  "-o",
  out,
  join(cSdk, "hookbus.c"),
  ...sources
]

const buildC = (folder: string, out: string): void => {
  const sources = readdirSync(folder).filter((f) => f.endsWith(".c")).map((f) => join(folder, f))
  run(clang, cArgs(sources, out, [folder]), `C plugin ${relative(root, folder)}`)
}

/** rustc for `target`, optimized, panics abort (the SDK's panic hook reports them first), no debug info. */
const rustFlags = (target: string) => [
  "--edition",
  "2021",
  "--target",
  target,
  "-C",
  "opt-level=2",
  "-C",
  "panic=abort",
  "-C",
  "strip=debuginfo"
]

/** wasm32-wasi for a plugin whose manifest asks for WASI (its std then uses it), else wasm32-unknown-unknown. */
const rustTargetOf = (folder: string): string => {
  const manifest = JSON.parse(readFileSync(join(folder, "plugin.json"), "utf8")) as { wasi?: unknown }
  return manifest.wasi === undefined ? "wasm32-unknown-unknown" : "wasm32-wasi"
}

/** The SDK crate, compiled once per change and target into sdk/rust/build/<target>. */
const rustLibrary = (target: string): string => {
  const out = join(rustSdk, "build", target, "libhookbus.rlib")
  if (existsSync(out) && statSync(out).mtimeMs > newest(join(rustSdk, "src"))) return out
  mkdirSync(dirname(out), { recursive: true })
  run(rustc, [
    ...rustFlags(target),
    "--crate-type",
    "rlib",
    "--crate-name",
    "hookbus",
    "-o",
    out,
    join(rustSdk, "src", "lib.rs")
  ], `the Rust SDK (sdk/rust) for ${target}`)
  return out
}

const buildRust = (folder: string, out: string): void => {
  const target = rustTargetOf(folder)
  const library = rustLibrary(target)
  run(rustc, [
    ...rustFlags(target),
    "--crate-type",
    "cdylib",
    "--crate-name",
    basename(folder).replace(/-/g, "_"),
    "-C",
    "link-arg=--stack-first",
    "-C",
    "link-arg=-zstack-size=131072",
    "--extern",
    `hookbus=${library}`,
    "-o",
    out,
    join(folder, "src", "lib.rs")
  ], `Rust plugin ${relative(root, folder)}`)
}

/** Compiles one C or Rust plugin folder; returns the module path, or throws with the compiler's output. */
export const buildGuest = (folder: string, force = false): string => {
  const language = languageOf(folder)
  if (language === undefined) throw new Error(`${folder}: no C sources and no Rust crate (src/lib.rs)`)
  const out = outputOf(folder)
  const sdk = language === "c" ? cSdk : join(rustSdk, "src")
  if (!force && existsSync(out) && statSync(out).mtimeMs > Math.max(newest(folder), newest(sdk))) return out
  mkdirSync(dirname(out), { recursive: true })
  if (language === "c") buildC(folder, out)
  else buildRust(folder, out)
  return out
}

/** Builds every C and Rust example plugin (and the given folders). */
export const buildGuests = (folders: ReadonlyArray<string> = [], force = false): Array<string> =>
  [...guestPlugins(), ...folders].map((folder) => buildGuest(folder, force))

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const force = args.includes("--force")
  const folders = args.filter((a) => a !== "--force").map((folder) => join(process.cwd(), folder))
  const started = performance.now()
  try {
    const built = buildGuests(folders, force)
    console.log(`C and Rust plugins ready (${built.length}) in ${Math.round(performance.now() - started)} ms:`)
    for (const path of built) console.log(`  ${relative(root, path)}`)
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  }
}
