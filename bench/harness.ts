/**
 * Measurement and reporting for `npm run bench`: every case is timed with mitata in the same process and run as its
 * peers, and every reported figure is a ratio to a peer in the same run, so it survives a noisy machine.
 */
import { measure } from "mitata"

export interface Options {
  readonly quick: boolean
}

/**
 * One measured case: nanoseconds per operation, the median over the rounds (what ratios use) and the fastest round.
 * Each round's figure is the median sample of that round.
 */
export interface Case {
  readonly group: string
  readonly name: string
  readonly nsPerOp: number
  readonly minNsPerOp: number
  readonly rounds: number
}

/** A target: a measured ratio and the bound it should meet. */
export interface Target {
  readonly name: string
  /** The ratio of the medians over the rounds. */
  readonly measured: number
  /** The ratio of the fastest rounds, shown beside it. */
  readonly best?: number | undefined
  readonly bound: number
  /** "max": measured must be at most the bound; "min": at least. */
  readonly kind: "max" | "min"
  readonly unit: string
  readonly note?: string | undefined
}

/** How a group is sampled: rounds with the cases interleaved, each case warmed first. */
export const sampling = (quick: boolean) => ({
  rounds: quick ? 2 : 9,
  /** Operations each case runs before its first sample (the issue's "at least 100,000 dispatches"). */
  warmOps: quick ? 10_000 : 100_000,
  /** A case slower than this per warm-up keeps warming until its per-call time is stable instead. */
  warmCapMs: quick ? 60 : 1_500,
  /** Time sampled per case and round. */
  roundMs: quick ? 15 : 80
})

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const nowMs = () => performance.now()

/**
 * Warms a case: at least `warmOps` operations, or, when that would take longer than `warmCapMs`, until two
 * consecutive batches of calls agree within 5% (and at least the cap's time has passed).
 */
const warm = async (fn: () => unknown, ops: number, quick: boolean): Promise<void> => {
  const { warmCapMs, warmOps } = sampling(quick)
  const started = nowMs()
  let done = 0
  let last = Infinity
  while (done < warmOps) {
    const t0 = nowMs()
    const batch = Math.max(1, Math.ceil(Math.min(warmOps - done, warmOps / 10) / ops))
    for (let i = 0; i < batch; i++) await fn()
    const per = (nowMs() - t0) / batch
    done += batch * ops
    const elapsed = nowMs() - started
    if (elapsed > warmCapMs && Math.abs(per - last) <= 0.05 * last) return
    if (elapsed > 4 * warmCapMs) return
    last = per
  }
}

export class Results {
  readonly cases: Array<Case> = []
  readonly targets: Array<Target> = []
  readonly figures: Array<{ readonly name: string; readonly value: string }> = []
  readonly options: Options
  constructor(options: Options) {
    this.options = options
  }

  /**
   * Times `fn`, which performs `ops` operations per call, and records ns per operation. Every case is warmed, then
   * the cases measured together alternate over the rounds, so drift in the machine hits them alike.
   */
  async compare(
    group: string,
    cases: ReadonlyArray<readonly [name: string, fn: () => unknown, ops: number]>
  ): Promise<Record<string, number>> {
    const { roundMs, rounds } = sampling(this.options.quick)
    for (const [, fn, ops] of cases) await warm(fn, ops, this.options.quick)
    const perRound = new Map<string, Array<number>>()
    for (let round = 0; round < rounds; round++) {
      for (const [name, fn, ops] of cases) {
        const stats = await measure(fn, {
          min_cpu_time: roundMs * 1e6,
          min_samples: this.options.quick ? 4 : 12,
          max_samples: this.options.quick ? 50 : 2_000
        })
        const list = perRound.get(name) ?? []
        list.push(stats.p50 / ops)
        perRound.set(name, list)
      }
    }
    return this.record(group, cases.map(([name]) => name), perRound)
  }

  private record(
    group: string,
    names: ReadonlyArray<string>,
    perRound: ReadonlyMap<string, ReadonlyArray<number>>
  ): Record<string, number> {
    const out: Record<string, number> = {}
    for (const name of names) {
      const rounds = perRound.get(name)!
      const ns = median(rounds)
      const min = Math.min(...rounds)
      this.cases.push({ group, name, nsPerOp: ns, minNsPerOp: min, rounds: rounds.length })
      out[name] = ns
      console.log(
        `  ${group.padEnd(34)} ${name.padEnd(40)} ${formatNs(ns).padStart(12)} (min ${formatNs(min)})`
      )
    }
    return out
  }

  /** The fastest-round figure of a case recorded in `group`. */
  best(group: string, name: string): number {
    return this.cases.find((c) => c.group === group && c.name === name)!.minNsPerOp
  }

  /** Times an async `fn` doing `ops` operations, the same way (warmed, interleaved rounds). */
  async compareAsync(
    group: string,
    cases: ReadonlyArray<readonly [name: string, fn: () => Promise<unknown>, ops: number]>
  ): Promise<Record<string, number>> {
    const { roundMs, rounds } = sampling(this.options.quick)
    for (const [, fn, ops] of cases) await warm(fn, ops, this.options.quick)
    const perRound = new Map<string, Array<number>>()
    for (let round = 0; round < rounds; round++) {
      for (const [name, fn, ops] of cases) {
        const samples: Array<number> = []
        const started = nowMs()
        while (samples.length < 5 || (nowMs() - started < roundMs && samples.length < 500)) {
          const t0 = process.hrtime.bigint()
          await fn()
          samples.push(Number(process.hrtime.bigint() - t0) / ops)
        }
        const list = perRound.get(name) ?? []
        list.push(median(samples))
        perRound.set(name, list)
      }
    }
    return this.record(group, cases.map(([name]) => name), perRound)
  }

  /** Records a target whose figures come from `group`: the ratio of medians, and of the fastest rounds. */
  ratio(
    group: string,
    numerator: string,
    denominator: string,
    target: Omit<Target, "measured" | "best">,
    medians: Record<string, number>
  ): void {
    this.target({
      ...target,
      measured: medians[numerator] / medians[denominator],
      best: this.best(group, numerator) / this.best(group, denominator)
    })
  }

  target(target: Target): void {
    this.targets.push(target)
    const met = target.kind === "max" ? target.measured <= target.bound : target.measured >= target.bound
    console.log(
      `  target ${target.name}: ${target.measured.toFixed(2)}${target.unit}${
        target.best === undefined ? "" : ` (fastest rounds ${target.best.toFixed(2)}${target.unit})`
      } (${target.kind === "max" ? "<=" : ">="} ${target.bound}${target.unit}) ${met ? "met" : "MISSED"}`
    )
  }

  figure(name: string, value: string): void {
    this.figures.push({ name, value })
    console.log(`  ${name}: ${value}`)
  }
}

export const formatNs = (ns: number): string =>
  ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(1)} ns`

const fmt = (value: number, unit: string): string => `${value.toFixed(unit.trim() === "B" ? 0 : 2)}${unit}`

const met = (t: Target) => t.kind === "max" ? t.measured <= t.bound : t.measured >= t.bound

/** docs/benchmarks.md: the targets, every case with its ratio to the first case of its group, and a chart. */
export const markdown = (results: Results, meta: Record<string, string>): string => {
  const lines: Array<string> = []
  lines.push("# Benchmarks")
  lines.push("")
  lines.push(
    "Generated by `npm run bench` (`bench/run.ts`); do not edit by hand. Every peer runs in the same process and run as"
  )
  lines.push("hookbus, so the ratios are what to read: absolute times depend on the machine.")
  lines.push("")
  for (const [k, v] of Object.entries(meta)) lines.push(`- ${k}: ${v}`)
  lines.push("")
  const { rounds, roundMs, warmCapMs, warmOps } = sampling(results.options.quick)
  lines.push(
    `How: each case is first warmed (at least ${warmOps.toLocaleString("en")} operations, or, for a case too slow for`
  )
  lines.push(
    `that within ${warmCapMs} ms, until its per-call time is stable); then the cases of a group run in ${rounds} interleaved`
  )
  lines.push(
    `rounds of about ${roundMs} ms each. A case's figure is the median of its rounds (each round's median sample); the fastest`
  )
  lines.push(
    "round is shown beside it. Ratios are of medians; the \"fastest rounds\" column is the ratio of the minima."
  )
  lines.push("")
  lines.push("## Targets")
  lines.push("")
  lines.push("Bounds from issue 17. Each row is a ratio to a peer (or to hookbus itself in another setting).")
  lines.push("")
  lines.push("| target | measured (medians) | fastest rounds | bound | verdict |")
  lines.push("|---|---|---|---|---|")
  for (const t of results.targets) {
    lines.push(
      `| ${t.name} | ${fmt(t.measured, t.unit)} | ${t.best === undefined ? "" : fmt(t.best, t.unit)} | ${
        t.kind === "max" ? "≤" : "≥"
      } ${t.bound}${t.unit} | ${met(t) ? "met" : "**missed**"}${t.note ? ` (${t.note})` : ""} |`
    )
  }
  lines.push("")
  const missed = results.targets.filter((t) => !met(t))
  lines.push(
    missed.length === 0
      ? "Every target was met in this run."
      : `**Missed in this run** (${missed.length} of ${results.targets.length}): ${
        missed.map((t) => t.name).join("; ")
      }.`
  )
  lines.push("")
  if (results.figures.length > 0) {
    lines.push("## Figures")
    lines.push("")
    for (const f of results.figures) lines.push(`- ${f.name}: ${f.value}`)
    lines.push("")
  }
  lines.push("## All cases")
  lines.push("")
  lines.push("Ratios are to the first case of each group.")
  lines.push("")
  const groups = [...new Set(results.cases.map((c) => c.group))]
  for (const group of groups) {
    const cases = results.cases.filter((c) => c.group === group)
    lines.push(`### ${group}`)
    lines.push("")
    lines.push("| case | time per op (median) | fastest round | ratio |")
    lines.push("|---|---|---|---|")
    for (const c of cases) {
      lines.push(
        `| ${c.name} | ${formatNs(c.nsPerOp)} | ${formatNs(c.minNsPerOp)} | ${
          (c.nsPerOp / cases[0].nsPerOp).toFixed(2)
        }x |`
      )
    }
    lines.push("")
  }
  lines.push("## Chart")
  lines.push("")
  lines.push("Filter chain of 10 `Effect.succeed` handlers, time per dispatch (generated from the numbers above):")
  lines.push("")
  lines.push("![filter chain of 10 handlers](benchmarks-filter-10.svg)")
  lines.push("")
  return lines.join("\n")
}

/** A horizontal bar chart of one group, as SVG. */
export const barChart = (cases: ReadonlyArray<Case>, title: string): string => {
  const width = 720
  const barHeight = 26
  const labelWidth = 300
  const top = 40
  const max = Math.max(...cases.map((c) => c.nsPerOp))
  const height = top + cases.length * (barHeight + 8) + 20
  const bars = cases.map((c, i) => {
    const y = top + i * (barHeight + 8)
    const w = Math.max(2, ((width - labelWidth - 110) * c.nsPerOp) / max)
    const color = c.name.startsWith("hookbus") ? "#3b6ea8" : "#9aa5b1"
    return [
      `<text x="${labelWidth - 8}" y="${y + 18}" text-anchor="end" font-size="13">${escapeXml(c.name)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${color}"/>`,
      `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 18}" font-size="13">${
        escapeXml(formatNs(c.nsPerOp))
      }</text>`
    ].join("")
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...bars,
    `</svg>`,
    ""
  ].join("\n")
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
