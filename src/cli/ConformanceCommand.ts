/**
 * `hookbus conformance <plugin>`: the conformance suite (src/wasm/Conformance.ts) as a table, exit 1 on any
 * failed row.
 *
 * @internal
 */
import { Argument, Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Conformance from "../wasm/Conformance.ts"
import { exitCodes, jsonFlag, oneLine } from "./CommandKit.ts"
import { CliInputError, SilentExit } from "./PluginSet.ts"
import * as Printable from "./Printable.ts"

const callsFlag = Flag.Int("calls").pipe(
  Flag.withDescription(`Calls the memory row makes after its warm-up (default ${Conformance.defaultCalls})`),
  Flag.withDefault(Conformance.defaultCalls)
)

export const conformance = Command.make(
  "conformance",
  {
    path: Argument.String("plugin").pipe(Argument.withDescription("A plugin folder (or a .wasm file)")),
    calls: callsFlag,
    json: jsonFlag
  },
  (input) =>
    oneLine(Effect.gen(function*() {
      if (input.calls < 1 || input.calls > 10_000_000) {
        return yield* new CliInputError({ message: `--calls must be between 1 and 10000000, got ${input.calls}` })
      }
      const report = yield* Conformance.run(input.path, { calls: input.calls })
      // A row's detail can quote the plugin (its error message): one line each, escaped (JSON escapes its own).
      yield* Console.log(
        input.json ? JSON.stringify(report) : Conformance.format({
          ...report,
          rows: report.rows.map((r) => ({ ...r, detail: Printable.line(r.detail) }))
        })
      )
      if (!report.ok) return yield* new SilentExit()
    }))
).pipe(
  Command.withDescription(
    `Run a plugin, in any language, through every row of ABI v1: alloc/free accounting, each status, empty, Unicode and large values, the payload cap, and many calls with memory flat. ${exitCodes}`
  ),
  Command.withExamples([{
    command: "hookbus conformance examples/c/slugify --calls 100000",
    description: "A table, PASS or FAIL per row; exit 1 if any fails"
  }])
)
