import { Effect } from "effect"
import * as M from "../src/domain/Manifest.ts"
const base = { abi: 1, name: "x1", version: "1.0.0" }
for (const m of [
  { ...base, hooks: [{ name: "a", kind: "filter", source: "core" }] },
  { ...base, hooks: [{ name: "a", kind: "filter" }, { name: "b", kind: "filter" }, { name: "a", kind: "filter" }] },
  { ...base, hooks: [{ name: "a\nb", kind: "filter" }], capabilities: ["gn_foo"] },
]) console.log(String(Effect.runSync(Effect.flip(M.decode(m))).message))
