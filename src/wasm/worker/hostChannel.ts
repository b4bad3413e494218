/**
 * How a guest in a worker thread calls a host function: over a channel of its own per worker, a `MessagePort` for the
 * requests and a SharedArrayBuffer for the answers. The guest's call to a `host` import posts the name and arguments
 * and blocks its worker on the buffer (`Atomics.wait`); the host thread runs the function, writes the answer's UTF-8
 * bytes into the buffer and wakes the worker (`Atomics.notify`). An answer longer than the buffer crosses in chunks,
 * the worker asking for each next one. The host thread never waits.
 *
 * @internal
 */
import { MessageChannel, type MessagePort } from "node:worker_threads"

// The buffer's header, as i32s: [0] 0 while the worker waits, 1 once a chunk is written; [1] the answer's bytes in
// all; [2] this chunk's bytes. The chunk follows the header.
const headerBytes = 16
/** The buffer holds the plugin's `maxPayloadBytes` of answer, within these bounds. */
export const minCapacity = 4096
export const maxCapacity = 1 << 20

/** What the worker gets: it posts requests on `port` and waits on `buffer`. */
export interface WorkerEnd {
  readonly port: MessagePort
  readonly buffer: SharedArrayBuffer
}

/** A request on the port: a call (name, arguments' JSON text), or `0` for the next chunk of the answer. */
type Request = readonly [name: string, input: string] | 0

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8")

/**
 * The host thread's end of a new channel, sized from `maxPayloadBytes`: each request runs `run(name, input)` and
 * writes its answer, unless `admit()` says no (the call overran: it gets no answer). `worker` goes to the worker
 * (the port in the message's transfer list); `close` releases the host's end.
 */
export const open = (
  maxPayloadBytes: number,
  run: (name: string, input: string) => string,
  admit: () => boolean
): { readonly worker: WorkerEnd; readonly close: () => void } => {
  const buffer = new SharedArrayBuffer(headerBytes + Math.min(maxCapacity, Math.max(minCapacity, maxPayloadBytes)))
  const state = new Int32Array(buffer, 0, 3)
  const data = new Uint8Array(buffer, headerBytes)
  /** The rest of an answer longer than the buffer, from `offset`. */
  let rest: Uint8Array | undefined
  let offset = 0
  const post = (total: number, size: number): void => {
    state[1] = total
    state[2] = size
    Atomics.store(state, 0, 1)
    Atomics.notify(state, 0)
  }
  const next = (): void => {
    const bytes = rest
    if (bytes === undefined) return
    const size = Math.min(data.length, bytes.length - offset)
    data.set(bytes.subarray(offset, offset + size))
    offset += size
    if (offset >= bytes.length) rest = undefined
    post(bytes.length, size)
  }
  const { port1, port2 } = new MessageChannel()
  // Straight on the port, not through the worker protocol's fibers: this is the round trip the guest waits for.
  port1.on("message", (request: Request) => {
    if (!admit()) return
    if (request === 0) return next()
    const text = run(request[0], request[1])
    if (!admit()) return
    // At most 3 bytes per UTF-16 unit: a text this short fits, and is encoded straight into the buffer.
    if (text.length * 3 <= data.length) {
      rest = undefined
      const written = encoder.encodeInto(text, data).written
      return post(written, written)
    }
    rest = encoder.encode(text)
    offset = 0
    next()
  })
  // The worker thread keeps the process alive while it runs; the port need not.
  port1.unref()
  return { worker: { port: port2, buffer }, close: () => port1.close() }
}

/**
 * The worker's end: a host function's stand-in (by name) that posts the call, blocks until the answer is in and
 * returns its text.
 */
export const caller = ({ buffer, port }: WorkerEnd) => {
  const state = new Int32Array(buffer, 0, 3)
  const data = new Uint8Array(buffer, headerBytes)
  // Cleared before each request: the host writes only after it has the request, so no answer is missed.
  const ask = (request: Request): void => {
    Atomics.store(state, 0, 0)
    port.postMessage(request)
    while (Atomics.load(state, 0) === 0) Atomics.wait(state, 0, 0)
  }
  return (name: string) => (input: string): string => {
    ask([name, input])
    const total = state[1]
    let received = state[2]
    if (received === total) return decoder.decode(data.subarray(0, received))
    const bytes = new Uint8Array(total)
    bytes.set(data.subarray(0, received))
    while (received < total) {
      ask(0)
      const size = state[2]
      bytes.set(data.subarray(0, size), received)
      received += size
    }
    return decoder.decode(bytes)
  }
}
