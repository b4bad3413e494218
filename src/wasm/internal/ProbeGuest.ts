/**
 * A metered guest for probing a module outside the bus (`inspect`, the conformance suite): instrumented for fuel
 * and capped in memory as `Plugin.load` would, with a host that keeps no logs unless given a sink.
 *
 * @internal
 */
import * as Abi from "../Abi.ts"
import * as Fuel from "../Fuel.ts"
import { Guest } from "../Guest.ts"
import type * as Limits from "../Limits.ts"
import * as PluginInstance from "../PluginInstance.ts"
import * as WasmBinary from "../WasmBinary.ts"
import type * as Wasi from "./Wasi.ts"

/** Instruments, caps and compiles `bytes`; rejects with the instrumenter's or the compiler's error. */
export const probeGuest = async (
  bytes: Uint8Array,
  name: string,
  limits: Limits.ResolvedLimits,
  log: (level: number, message: string) => void = () => {},
  wasi?: Wasi.WasiGrant | undefined
): Promise<Guest> => {
  const metered = await Fuel.instrument(bytes)
  const info = WasmBinary.read(metered)
  // The memory section comes after the table section, so rewriting it first leaves the table's offsets valid.
  const capped = WasmBinary.withTableMaximum(
    WasmBinary.withMemoryMaximum(metered, info, limits.memoryPages),
    info,
    PluginInstance.defaultMaxTableElements
  )
  const module = await WebAssembly.compile(capped as Uint8Array<ArrayBuffer>)
  return new Guest(
    name,
    module,
    { maxPayloadBytes: limits.maxPayloadBytes, maxResultBytes: Abi.defaultMaxResultBytes, fuel: limits.fuel, wasi },
    { log, nowMillis: () => Date.now() }
  )
}
