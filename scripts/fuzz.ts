/**
 * `npm run fuzz [-- --cases N --seed S]`: the ABI fuzzers at full size (default 100,000 result cases, 20,000
 * manifests, 2,000 modules), then the sandbox rules of issue 13 (limits, hook names, options, forged Effects,
 * nested errors, policy, reload) at sizes scaled from N. Exits non-zero on the first case that ends in anything but a typed error or the
 * correct value; fast-check prints its seed and path.
 */
import {
  fuzzForgedEffects,
  fuzzHookNames,
  fuzzLimits,
  fuzzManifests,
  fuzzModules,
  fuzzNestedErrors,
  fuzzOptions,
  fuzzPolicy,
  fuzzReload,
  fuzzResults
} from "../test/reliability/fuzz.ts"

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
const scaled = (divisor: number) => Math.max(1, Math.round(cases / divisor))
const rules = [
  ["manifest limits against host ceilings", fuzzLimits(scaled(10), seed)],
  ["hook names (forbidden characters, Object.prototype keys)", fuzzHookNames(scaled(50), seed)],
  ["registration options of the wrong type", fuzzOptions(scaled(50), seed)],
  ["forged Effect values returned by handlers", fuzzForgedEffects(scaled(50), seed)],
  ["nested dispatch errors", await fuzzNestedErrors(scaled(200), seed)],
  ["policy over random manifests", await fuzzPolicy(scaled(200), seed)],
  ["reload sequences", await fuzzReload(scaled(500), seed)]
] as const
for (const [what, n] of rules) console.log(`  ${what}: ${n.toLocaleString("en")} cases, each as the rule says`)
const ruleCases = rules.reduce((sum, [, n]) => sum + n, 0)
console.log(
  `done: ${(results + manifests + modules + ruleCases).toLocaleString("en")} cases in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`
)
process.exit(0)
