// @ts-check
// Worker-thread side of the wasm executor: runs runner.wasm jobs one at a time, each in a fresh
// instance of the module the parent compiled once. Plain JavaScript on purpose: a worker thread
// does not inherit the parent's TypeScript loader (tsx, vitest), and this file must load under both.
//
// Messages in:  { id, args: string[], maxOutputBytes: number }
// Messages out: { id, exitCode, stdout: Uint8Array, stdoutTruncated, stderr: Uint8Array,
//                 stderrTruncated, trap?: string }
import { parentPort, workerData } from 'node:worker_threads';

// node:wasi warns that it is experimental once per thread, on load; one warning per job thread
// would drown the node's own logs.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('WASI')) return;
  emitWarning.call(process, warning, .../** @type {any[]} */ (rest));
};
const { WASI } = await import('node:wasi');

/** @type {WebAssembly.Module} */
const module = workerData.module;

// Keeps the first `limit` bytes written to a stream (the same rule as output.ts on the parent side).
class Capture {
  /** @param {number} limit */
  constructor(limit) {
    this.limit = limit;
    /** @type {Buffer[]} */
    this.chunks = [];
    this.size = 0;
    this.truncated = false;
  }
  /** @param {Uint8Array} chunk a view of wasm memory: copied, since the memory dies with the job */
  push(chunk) {
    const room = this.limit - this.size;
    if (chunk.byteLength > room) this.truncated = true;
    if (room <= 0) return;
    const kept = Buffer.from(chunk.subarray(0, room));
    this.chunks.push(kept);
    this.size += kept.byteLength;
  }
  bytes() {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** @param {{ id: number, args: string[], maxOutputBytes: number }} job */
function run(job) {
  const out = new Capture(job.maxOutputBytes);
  const err = new Capture(job.maxOutputBytes);
  const wasi = new WASI({ version: 'preview1', args: ['runner', ...job.args], env: {}, returnOnExit: true });
  const imports = wasi.getImportObject();
  /** @type {WebAssembly.Instance} */
  let instance;
  const memory = () => /** @type {WebAssembly.Memory} */ (instance.exports.memory).buffer;
  // Our own fd_write for stdout/stderr: it captures into bounded buffers without temp files or
  // pipes, and it reads memory afresh on every call. (Node 20's own fd_write segfaulted the process
  // after a few instances whose memory had grown to ~40 MB.)
  /** @type {(fd: number, iovs: number, count: number, written: number) => number} */
  const fdWrite = (fd, iovs, count, written) => {
    if (fd !== 1 && fd !== 2) return 8; // EBADF: the runner writes nowhere else
    const view = new DataView(memory());
    let total = 0;
    for (let i = 0; i < count; i++) {
      const ptr = view.getUint32(iovs + 8 * i, true);
      const len = view.getUint32(iovs + 8 * i + 4, true);
      (fd === 1 ? out : err).push(new Uint8Array(memory(), ptr, len));
      total += len;
    }
    view.setUint32(written, total, true);
    return 0;
  };
  instance = new WebAssembly.Instance(module, {
    ...imports,
    wasi_snapshot_preview1: { ...imports.wasi_snapshot_preview1, fd_write: fdWrite },
    // Emscripten tells the host when memory grows, for its JS glue; there is none here.
    env: { emscripten_notify_memory_growth: () => {} },
  });
  /** @type {number} */
  let exitCode;
  /** @type {string | undefined} */
  let trap;
  try {
    exitCode = wasi.start(instance);
  } catch (e) {
    // A trap (abort, out of memory) ends the job the way SIGABRT ends the native binary.
    exitCode = 134;
    trap = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  return {
    id: job.id,
    exitCode,
    stdout: out.bytes(),
    stdoutTruncated: out.truncated,
    stderr: err.bytes(),
    stderrTruncated: err.truncated,
    trap,
  };
}

parentPort?.on('message', (job) => parentPort?.postMessage(run(job)));
