/**
 * WASI preview 1 for plugins that need it (modules built for `wasm32-wasi`): which `wasi_snapshot_preview1`
 * functions each grant covers, the check that a module imports only what it was granted, and the imports
 * themselves. A manifest's `wasi` field asks; `PluginPolicy` decides. Granted with any `wasi` field: stdout and
 * stderr (lines to the Effect logger, under the plugin's name), empty arguments and environment, `proc_exit` (a
 * trap). On request: `clock` (the host's Effect Clock, as `gn_time_ms`) and `random` (the host's CSPRNG). No
 * file system.
 *
 * @internal
 */
import { getRandomValues } from "node:crypto"

/** The import module WASI preview 1 functions come from. */
export const namespace = "wasi_snapshot_preview1"

/** A part of WASI a manifest can ask for; `stdio` comes with any `wasi` field. */
export type WasiCapability = "stdio" | "clock" | "random"

/** What a plugin was granted: plain data, so it travels to worker threads with the limits. */
export interface WasiGrant {
  readonly clock: boolean
  readonly random: boolean
}

/** The capability each supported function needs; a function not listed is not provided at all. */
const capabilityOf: Readonly<Record<string, WasiCapability>> = {
  args_get: "stdio",
  args_sizes_get: "stdio",
  environ_get: "stdio",
  environ_sizes_get: "stdio",
  fd_write: "stdio",
  fd_fdstat_get: "stdio",
  fd_close: "stdio",
  // libc asks for preopened directories at start-up; with none granted the answer is "bad descriptor".
  fd_prestat_get: "stdio",
  fd_prestat_dir_name: "stdio",
  proc_exit: "stdio",
  sched_yield: "stdio",
  clock_time_get: "clock",
  clock_res_get: "clock",
  random_get: "random"
}

/**
 * Each WASI import of `imports` that `grant` does not cover (undefined: no `wasi` field, nothing granted), described
 * with what it would need.
 */
export const ungranted = (
  imports: ReadonlyArray<{ readonly module: string; readonly name: string }>,
  grant: WasiGrant | undefined
): ReadonlyArray<string> =>
  imports.flatMap(({ module, name }) => {
    if (module !== namespace) return []
    const capability = Object.hasOwn(capabilityOf, name) ? capabilityOf[name] : undefined
    if (capability === undefined) return [`${namespace}.${name} (not provided: hookbus has no WASI file system)`]
    if (grant === undefined) return [`${namespace}.${name} (the manifest has no "wasi" field)`]
    if (capability === "stdio" || grant[capability]) return []
    return [`${namespace}.${name} (needs "wasi": { "${capability}": true })`]
  })

/** Whether a module imports anything from WASI. */
export const usesWasi = (imports: ReadonlyArray<{ readonly module: string }>): boolean =>
  imports.some((i) => i.module === namespace)

const errno = { success: 0, badf: 8, inval: 28, nosys: 52 } as const

/** What the imports need from the instance and the host. */
export interface WasiHost {
  readonly memory: () => WebAssembly.Memory
  /** A complete line written to stdout (level 1) or stderr (level 2). */
  readonly line: (level: number, text: string) => void
  readonly nowMillis: () => number
  /** Throws: the call traps with this message. */
  readonly exit: (code: number) => never
}

const decoder = new TextDecoder("utf-8", { fatal: false })

/** The `wasi_snapshot_preview1` imports for one instance, as granted. */
export const imports = (grant: WasiGrant, host: WasiHost): WebAssembly.ModuleImports => {
  // Output is split into lines per stream; a partial line waits for the rest (or is flushed at 64 KiB).
  const pending: Record<number, string> = { 1: "", 2: "" }
  const view = () => new DataView(host.memory().buffer)
  const zero2 = (a: number, b: number) => {
    const v = view()
    v.setUint32(a, 0, true)
    v.setUint32(b, 0, true)
    return errno.success
  }
  const stdio: WebAssembly.ModuleImports = {
    args_get: () => errno.success,
    args_sizes_get: zero2,
    environ_get: () => errno.success,
    environ_sizes_get: zero2,
    fd_write: (fd: number, iovs: number, count: number, written: number) => {
      if (fd !== 1 && fd !== 2) return errno.badf
      const memory = host.memory().buffer
      const v = new DataView(memory)
      let text = ""
      let total = 0
      for (let i = 0; i < count; i++) {
        const ptr = v.getUint32(iovs + i * 8, true)
        const len = v.getUint32(iovs + i * 8 + 4, true)
        if (ptr + len > memory.byteLength) return errno.inval
        text += decoder.decode(new Uint8Array(memory, ptr, len), { stream: false })
        total += len
      }
      let buffered = pending[fd] + text
      let newline = buffered.indexOf("\n")
      while (newline >= 0) {
        host.line(fd === 1 ? 1 : 2, buffered.slice(0, newline))
        buffered = buffered.slice(newline + 1)
        newline = buffered.indexOf("\n")
      }
      if (buffered.length >= 65_536) {
        host.line(fd === 1 ? 1 : 2, buffered)
        buffered = ""
      }
      pending[fd] = buffered
      new DataView(host.memory().buffer).setUint32(written, total, true)
      return errno.success
    },
    fd_fdstat_get: (fd: number, ptr: number) => {
      if (fd > 2) return errno.badf
      const v = view()
      v.setUint8(ptr, 2) // a character device
      v.setUint16(ptr + 2, 0, true)
      v.setBigUint64(ptr + 8, 0xffff_ffff_ffff_ffffn, true)
      v.setBigUint64(ptr + 16, 0n, true)
      return errno.success
    },
    fd_close: (fd: number) => fd <= 2 ? errno.success : errno.badf,
    fd_prestat_get: () => errno.badf,
    fd_prestat_dir_name: () => errno.badf,
    proc_exit: (code: number) => host.exit(code),
    sched_yield: () => errno.success
  }
  const clock: WebAssembly.ModuleImports = {
    clock_time_get: (_id: number, _precision: bigint, ptr: number) => {
      view().setBigUint64(ptr, BigInt(Math.trunc(host.nowMillis())) * 1_000_000n, true)
      return errno.success
    },
    clock_res_get: (_id: number, ptr: number) => {
      view().setBigUint64(ptr, 1_000_000n, true)
      return errno.success
    }
  }
  const random: WebAssembly.ModuleImports = {
    random_get: (ptr: number, len: number) => {
      const memory = host.memory().buffer
      if (ptr + len > memory.byteLength) return errno.inval
      // getRandomValues fills at most 64 KiB at a time.
      for (let at = 0; at < len; at += 65_536) {
        getRandomValues(new Uint8Array(memory, ptr + at, Math.min(65_536, len - at)))
      }
      return errno.success
    }
  }
  return { ...stdio, ...(grant.clock ? clock : {}), ...(grant.random ? random : {}) }
}

/** The grant a manifest's (or options') `wasi` field makes; undefined when there is none. */
export const grantOf = (
  asked: { readonly clock?: boolean | undefined; readonly random?: boolean | undefined } | undefined
): WasiGrant | undefined =>
  asked === undefined ? undefined : { clock: asked.clock === true, random: asked.random === true }
