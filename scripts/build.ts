/**
 * Builds the published package: `tsc -p tsconfig.build.json` emits ESM JavaScript, `.d.ts` and source maps from
 * src/ into dist/ (relative `.ts` imports rewritten to `.js`). dist/ is emptied first so no stale module ships, and
 * the CLI entry is made executable for the `bin`. Run by `npm run build` and `prepack`.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const dist = join(root, "dist")
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc")

const started = performance.now()
rmSync(dist, { recursive: true, force: true })
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { cwd: root, stdio: "inherit" })
chmodSync(join(dist, "cli", "main.js"), 0o755)
console.log(`dist/ built in ${Math.round(performance.now() - started)} ms`)
