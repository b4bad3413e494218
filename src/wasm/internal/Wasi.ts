/**
 * WASI preview 1 for plugins that need it (modules built for `wasm32-wasi`): which `wasi_snapshot_preview1`
 * functions each grant covers, the check that a module imports only what it was granted, and the imports
 * themselves. A manifest's `wasi` field asks; `PluginPolicy` decides. Granted with any `wasi` field: stdout and
 * stderr (lines to the Effect logger, under the plugin's name), empty arguments and environment, `proc_exit` (a
 * trap). On request: `clock` (the host's Effect Clock, as `gn_time_ms`), `random` (the host's CSPRNG) and
 * `preopen` (one directory inside the plugin folder, read-only, through Node's `node:wasi`).
 *
 * @internal
 */
import { getRandomValues } from "node:crypto"

/** The import module WASI preview 1 functions come from. */
export const namespace = "wasi_snapshot_preview1"

/** A part of WASI a manifest can ask for; `stdio` comes with any `wasi` field. */
export type WasiCapability = "stdio" | "clock" | "random" | "files"

/** What a plugin was granted: plain data, so it travels to worker threads with the limits. */
export interface WasiGrant {
  readonly clock: boolean
  readonly random: boolean
  /** The preopened directory: the guest sees `/<guest>`; `host` is its real path, inside the plugin folder. */
  readonly preopen?: { readonly guest: string; readonly host: string } | undefined
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
  random_get: "random",
  // Reading the preopened directory; nothing that writes is provided (path_open refuses create and truncate).
  fd_read: "files",
  fd_pread: "files",
  fd_seek: "files",
  fd_tell: "files",
  fd_advise: "files",
  fd_filestat_get: "files",
  fd_readdir: "files",
  path_open: "files",
  path_filestat_get: "files",
  path_readlink: "files"
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
    if (capability === undefined) return [`${namespace}.${name} (not provided by hookbus)`]
    if (grant === undefined) return [`${namespace}.${name} (the manifest has no "wasi" field)`]
    if (capability === "stdio") return []
    if (capability === "files") {
      return grant.preopen !== undefined ? [] : [`${namespace}.${name} (needs "wasi": { "preopen": "<folder>" })`]
    }
    return grant[capability] ? [] : [`${namespace}.${name} (needs "wasi": { "${capability}": true })`]
  })

/** Whether a module imports anything from WASI. */
export const usesWasi = (imports: ReadonlyArray<{ readonly module: string }>): boolean =>
  imports.some((i) => i.module === namespace)

const errno = { success: 0, badf: 8, inval: 28, nosys: 52, notcapable: 76 } as const

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

/**
 * The `wasi_snapshot_preview1` imports for one instance, as granted, and what to call once it is instantiated
 * (Node's WASI needs the instance's memory for the preopened directory).
 */
export const imports = (
  grant: WasiGrant,
  host: WasiHost
): { readonly imports: WebAssembly.ModuleImports; readonly attach: (instance: WebAssembly.Instance) => void } => {
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
  const own = { ...stdio, ...(grant.clock ? clock : {}), ...(grant.random ? random : {}) }
  if (grant.preopen === undefined) return { imports: own, attach: () => {} }
  // Files go to Node's WASI, which resolves paths inside the preopened directory; stdio stays ours.
  // Loaded on first use: importing node:wasi prints Node's "experimental" warning, which only a preopen should cost.
  const { WASI } = process.getBuiltinModule("node:wasi")
  const node = new WASI({
    version: "preview1",
    preopens: { [`/${grant.preopen.guest}`]: grant.preopen.host },
    args: [],
    env: {},
    returnOnExit: true
  })
  const real = node.wasiImport as Record<string, (...args: Array<any>) => number>
  const files: WebAssembly.ModuleImports = Object.fromEntries(
    Object.entries(capabilityOf).filter(([, c]) => c === "files").map(([name]) => [name, real[name]])
  )
  const creates = 1 | 8 // oflags: creat, trunc
  files["path_open"] = (fd: number, dirflags: number, path: number, len: number, oflags: number, ...rest: Array<any>) =>
    (oflags & creates) !== 0 ? errno.notcapable : real["path_open"](fd, dirflags, path, len, oflags, ...rest)
  const above = (name: string) => (fd: number, ...rest: Array<any>) =>
    fd > 2 ? real[name](fd, ...rest) : (own[name] as (...args: Array<any>) => number)(fd, ...rest)
  return {
    imports: {
      ...own,
      ...files,
      fd_prestat_get: real["fd_prestat_get"],
      fd_prestat_dir_name: real["fd_prestat_dir_name"],
      fd_close: above("fd_close"),
      fd_fdstat_get: above("fd_fdstat_get")
    },
    attach: (instance) => node.initialize(instance)
  }
}

/**
 * The grant a manifest's `wasi` field makes for probing (`inspect`, `conformance`): its `preopen` taken as a
 * directory of `folder` as it is (loading checks where it really leads; a probe only reads it).
 */
export const manifestGrant = (
  asked: { readonly clock?: boolean; readonly random?: boolean; readonly preopen?: string } | undefined,
  folder: string
): WasiGrant | undefined =>
  grantOf(
    asked === undefined ? undefined : {
      ...asked,
      preopen: asked.preopen === undefined
        ? undefined
        : { guest: asked.preopen.replace(/[/\\]+$/, ""), host: `${folder}/${asked.preopen}` }
    }
  )

/** The grant a manifest's (or options') `wasi` field makes; undefined when there is none. */
export const grantOf = (
  asked: {
    readonly clock?: boolean | undefined
    readonly random?: boolean | undefined
    readonly preopen?: { readonly guest: string; readonly host: string } | undefined
  } | undefined
): WasiGrant | undefined =>
  asked === undefined
    ? undefined
    : { clock: asked.clock === true, random: asked.random === true, preopen: asked.preopen }
