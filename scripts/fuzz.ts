/**
 * `npm run fuzz [-- --cases N --seed S]`: the ABI fuzzers at full size (default 100,000 result cases, 20,000
 * manifests, 2,000 modules). Exits non-zero on the first case that ends in anything but a typed error or the
 * correct value; fast-check prints its seed and path.
 */
import { fuzzManifests, fuzzModules, fuzzResults } from "../test/reliability/fuzz.ts"

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const cases = arg("cases", 100_000)
const seed = arg("seed", Date.now() % 2 ** 31)
console.log(`ABI fuzzing, seed ${seed}`)
const t0 = performance.now()
const results = await fuzzResults(cases, seed)
console.log(`  packed results and bodies: ${results.toLocaleString("en")} cases, every one as the contract says`)
const manifests = fuzzManifests(Math.max(1, Math.round(cases / 5)), seed)
console.log(`  manifests: ${manifests.toLocaleString("en")} cases, each decoded or ManifestInvalid`)
const modules = await fuzzModules(Math.max(1, Math.round(cases / 50)), seed)
console.log(`  modules (random, mutated, truncated): ${modules.toLocaleString("en")} cases, no defect`)
console.log(
  `done: ${(results + manifests + modules).toLocaleString("en")} cases in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`
)
process.exit(0)
