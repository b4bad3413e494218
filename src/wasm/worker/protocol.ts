/**
 * Messages between the host and a plugin worker thread. Errors cross as their schema encoding.
 *
 * @internal
 */
import type { GuestLimits } from "../Guest.ts"
import type { WorkerEnd } from "./hostChannel.ts"

/** Host to worker. */
export type ToWorker =
  | {
    readonly _tag: "Init"
    readonly plugin: string
    readonly module: WebAssembly.Module
    readonly limits: GuestLimits
    /** The host functions' names (the functions stay on the host thread), and the channel their calls take. */
    readonly hostFunctions: ReadonlyArray<string>
    readonly channel: WorkerEnd | undefined
  }
  | {
    readonly _tag: "Call"
    readonly id: number
    readonly hook: string
    readonly payload: string
    readonly now: number
  }

/** An encoded `CallResult`. */
export type EncodedResult =
  | { readonly _tag: "Ok"; readonly body: Record<string, unknown> | undefined; readonly fuelUsed: number | undefined }
  | { readonly _tag: "Err"; readonly error: unknown; readonly fuelUsed: number | undefined }

/** Worker to host. */
export type FromWorker =
  /** Init received: instantiation (the start function) begins; the host's clock for it starts here. */
  | { readonly _tag: "Instantiating" }
  | { readonly _tag: "Ready"; readonly trap: unknown | undefined; readonly version: number | undefined }
  | {
    readonly _tag: "Result"
    readonly id: number
    readonly result: EncodedResult
    readonly logs: ReadonlyArray<readonly [number, string]>
    /** The instance's memory after the call (it only grows), for `Plugin.status`. */
    readonly memoryBytes: number
  }
