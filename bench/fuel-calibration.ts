/**
 * `npm run bench:fuel` (or `node bench/fuel-calibration.ts`): how long a unit of fuel takes, for the most
 * expensive workloads a hostile plugin can write. Each workload runs until its budget is used up; the figure is
 * the wall time divided by the budget, and what the default budget would take at that rate. The worst row is
 * the bound docs/security.md states. `--budget <n>` sets the units per run (default 10 million).
 */
import * as Fuel from "../src/wasm/Fuel.ts"
import { Guest } from "../src/wasm/Guest.ts"
import * as WasmBinary from "../src/wasm/WasmBinary.ts"
import { abiModule, compileWatPromise } from "../test/fixtures/wat.ts"

const args = process.argv.slice(2)
const budgetIndex = args.indexOf("--budget")
const budget = budgetIndex >= 0 ? Number(args[budgetIndex + 1]) : 10_000_000

const log = `(import "env" "gn_log" (func $log (param i32 i32 i32)))`
const time = `(import "env" "gn_time_ms" (func $time (result i64)))`
const forever = (body: string) => `(local $i i32) (local $x i32) (local $s i32) (loop $l ${body} (br $l)) (i64.const 0)`

const workloads: ReadonlyArray<{ readonly name: string; readonly wat: string }> = [
  { name: "empty loop (br)", wat: abiModule({ handle: forever("") }) },
  {
    name: "counter loop",
    wat: abiModule({ handle: forever("(local.set $i (i32.add (local.get $i) (i32.const 1)))") })
  },
  {
    name: "10,000 straight-line adds per pass",
    wat: abiModule({
      handle: forever("(local.set $i (i32.add (local.get $i) (i32.const 1)))".repeat(2500))
    })
  },
  {
    name: "random loads over 16 MiB",
    wat: abiModule({
      memory: `(memory (export "memory") 256 256)`,
      handle: forever(`(local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
        (local.set $s (i32.add (local.get $s) (i32.load (i32.and (local.get $x) (i32.const 0xfffffc)))))`)
    })
  },
  {
    name: "random stores over 16 MiB",
    wat: abiModule({
      memory: `(memory (export "memory") 256 256)`,
      handle: forever(`(local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
        (i32.store (i32.and (local.get $x) (i32.const 0xfffffc)) (local.get $x))`)
    })
  },
  {
    name: "i64.div_s chain",
    wat: abiModule({
      handle: `(local $a i64) (local.set $a (i64.const 0x7fffffffffffffff))
        (loop $l (local.set $a (i64.or (i64.div_s (local.get $a) (i64.const 3)) (i64.const 0x7fffffff00000000))) (br $l))
        (i64.const 0)`
    })
  },
  {
    name: "f64.sqrt chain",
    wat: abiModule({
      handle: `(local $a f64) (local.set $a (f64.const 2))
        (loop $l (local.set $a (f64.add (f64.sqrt (local.get $a)) (f64.const 1))) (br $l)) (i64.const 0)`
    })
  },
  {
    name: "calls to a small function",
    wat: abiModule({
      fields: `(func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))`,
      handle: forever("(local.set $i (call $f (local.get $i)))")
    })
  },
  {
    name: "call_indirect",
    wat: abiModule({
      fields: `(type $t (func (param i32) (result i32)))
        (table 1 funcref) (elem (i32.const 0) $f)
        (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))`,
      handle: forever("(local.set $i (call_indirect (type $t) (local.get $i) (i32.const 0)))")
    })
  },
  {
    name: "memory.fill 16 MiB",
    wat: abiModule({
      memory: `(memory (export "memory") 256 256)`,
      handle: forever("(memory.fill (i32.const 0) (local.get $i) (i32.const 0x1000000))")
    })
  },
  {
    name: "memory.copy 8 MiB",
    wat: abiModule({
      memory: `(memory (export "memory") 256 256)`,
      handle: forever("(memory.copy (i32.const 0) (i32.const 0x800000) (i32.const 0x800000))")
    })
  },
  {
    name: "memory.fill 1 byte",
    wat: abiModule({ handle: forever("(memory.fill (local.get $i) (i32.const 0) (i32.const 1))") })
  },
  {
    name: "memory.grow refused",
    wat: abiModule({
      memory: `(memory (export "memory") 1 1)`,
      handle: forever("(drop (memory.grow (i32.const 1)))")
    })
  },
  {
    name: "table.fill 10,000",
    wat: abiModule({
      fields: `(table $t 10000 funcref)`,
      handle: forever("(table.fill $t (i32.const 0) (ref.null func) (i32.const 10000))")
    })
  },
  {
    name: "table.grow refused",
    wat: abiModule({
      fields: `(table $t 1 1 funcref)`,
      handle: forever("(drop (table.grow $t (ref.null func) (i32.const 1)))")
    })
  },
  {
    name: "gn_time_ms",
    wat: abiModule({ imports: time, handle: forever("(drop (call $time))") })
  },
  {
    name: "gn_log of 1 byte",
    wat: abiModule({ imports: log, handle: forever("(call $log (i32.const 1) (i32.const 0) (i32.const 1))") })
  },
  {
    name: "gn_log of 64 KiB",
    wat: abiModule({
      imports: log,
      memory: `(memory (export "memory") 2)`,
      handle: forever("(call $log (i32.const 1) (i32.const 0) (i32.const 65536))")
    })
  }
]

const rows: Array<{ name: string; nsPerUnit: number; defaultMs: number }> = []
for (const workload of workloads) {
  const bytes = await compileWatPromise(workload.wat, `${workload.name}.wat`)
  const metered = await Fuel.instrument(bytes)
  const capped = WasmBinary.withMemoryMaximum(metered, WasmBinary.read(metered), 256)
  const module = await WebAssembly.compile(capped as Uint8Array<ArrayBuffer>)
  const guest = new Guest("calibration", module, { maxPayloadBytes: 1 << 20, maxResultBytes: 1 << 20, fuel: budget }, {
    log: () => {},
    nowMillis: () => Date.now()
  })
  let worst = 0
  for (let run = 0; run < 3; run++) {
    // CPU time, not wall time: the machine is shared, and a bound on CPU is what fuel promises.
    const started = process.cpuUsage()
    const result = guest.call("calibrate", `{"kind":"action","args":[]}`)
    const used = process.cpuUsage(started)
    const ms = (used.user + used.system) / 1000
    if (result._tag !== "Err" || result.error._tag !== "OutOfFuel") {
      throw new Error(`${workload.name}: expected OutOfFuel, got ${JSON.stringify(result)}`)
    }
    worst = Math.max(worst, ms)
  }
  const nsPerUnit = (worst * 1e6) / budget
  rows.push({ name: workload.name, nsPerUnit, defaultMs: (nsPerUnit * Fuel.defaultBudget) / 1e6 })
}
rows.sort((a, b) => b.nsPerUnit - a.nsPerUnit)
console.log(`| workload | ns per unit | default budget (${Fuel.defaultBudget / 1e6} M units) takes |`)
console.log("|---|---|---|")
for (const row of rows) {
  console.log(`| ${row.name} | ${row.nsPerUnit.toFixed(2)} | ${row.defaultMs.toFixed(0)} ms |`)
}
