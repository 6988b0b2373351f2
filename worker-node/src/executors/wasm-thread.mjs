// @ts-check
// Worker-thread side of the wasm executor: runs runner.wasm jobs one at a time, each in a fresh
// instance of the module the parent compiled once. The WASI host is the few functions below, in
// JavaScript, not node:wasi: they read `memory.buffer` afresh on every call (memory grows during a
// job), and no job is ever inside native WASI code (uvwasi) when the parent terminate()s the thread. Plain JavaScript on purpose: a worker thread
// does not inherit the parent's TypeScript loader (tsx, vitest), and this file must load under both.
//
// Messages in:  { id, args: string[], maxOutputBytes: number, maxStdoutBytes?: number, stdin?: Uint8Array }
// Messages out: { id, exitCode, stdout: Uint8Array, stdoutTruncated, stderr: Uint8Array,
//                 stderrTruncated, trap?: string }
import { parentPort, workerData } from 'node:worker_threads';

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

// WASI preview1 errno values and constants used below.
const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOTSUP = 58;
const ESPIPE = 70;
const EVENTTYPE_CLOCK = 0;
const SUBCLOCKFLAG_ABSTIME = 1;
const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;

// Pointers arrive as signed i32: with more than 2 GiB of memory (runner.wasm may grow to 4 GiB)
// an address above 2 GiB would be negative without this.
/** @param {number} ptr */
const u32 = (ptr) => ptr >>> 0;

// Thrown by proc_exit to unwind the guest; never seen outside run().
class ProcExit {
  /** @param {number} code */
  constructor(code) {
    this.code = code;
  }
}

// Blocks this thread without burning CPU. Atomics.wait is interruptible: terminate() ends it.
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** @param {bigint} ns */
function sleepNs(ns) {
  if (ns > 0n) Atomics.wait(sleeper, 0, 0, Number(ns) / 1e6);
}

/** @param {number} id a WASI clock id @returns {bigint | undefined} nanoseconds */
function clockNow(id) {
  switch (id) {
    case 0: // REALTIME
      return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    case 1: // MONOTONIC
      return process.hrtime.bigint();
    case 2: // PROCESS_CPUTIME_ID
    case 3: {
      // THREAD_CPUTIME_ID (the process's, as close as Node gets)
      const u = process.cpuUsage();
      return BigInt(u.user + u.system) * 1000n;
    }
    default:
      return undefined;
  }
}

/** @param {{ id: number, args: string[], maxOutputBytes: number, stdin?: Uint8Array }} job */
function run(job) {
  // More of stdout when the parent spools it whole (ExecRequest.onStdout); it bounds what it reports.
  const out = new Capture(job.maxStdoutBytes ?? job.maxOutputBytes);
  const err = new Capture(job.maxOutputBytes);
  const argv = ['runner', ...job.args].map((a) => Buffer.from(`${a}\0`, 'utf8'));
  // Standard input is these bytes, then EOF (none: EOF at once, like /dev/null).
  const stdin = job.stdin ?? new Uint8Array(0);
  let stdinAt = 0;
  /** @type {WebAssembly.Instance} */
  let instance;
  const memory = () => /** @type {WebAssembly.Memory} */ (instance.exports.memory).buffer;
  const view = () => new DataView(memory());
  const wasi = {
    /** @type {(argcPtr: number, bufSizePtr: number) => number} */
    args_sizes_get: (argcPtr, bufSizePtr) => {
      const v = view();
      v.setUint32(u32(argcPtr), argv.length, true);
      v.setUint32(
        u32(bufSizePtr),
        argv.reduce((n, a) => n + a.byteLength, 0),
        true,
      );
      return ESUCCESS;
    },
    /** @type {(argvPtr: number, bufPtr: number) => number} */
    args_get: (argvPtr, bufPtr) => {
      const v = view();
      const bytes = new Uint8Array(memory());
      argvPtr = u32(argvPtr);
      bufPtr = u32(bufPtr);
      for (let i = 0; i < argv.length; i++) {
        v.setUint32(argvPtr + 4 * i, bufPtr, true);
        bytes.set(argv[i], bufPtr);
        bufPtr += argv[i].byteLength;
      }
      return ESUCCESS;
    },
    /** @type {(code: number) => never} */
    proc_exit: (code) => {
      throw new ProcExit(code);
    },
    /** @type {(id: number, precision: bigint, timePtr: number) => number} */
    clock_time_get: (id, _precision, timePtr) => {
      const now = clockNow(id);
      if (now === undefined) return EINVAL;
      view().setBigUint64(u32(timePtr), now, true);
      return ESUCCESS;
    },
    // Clock subscriptions only (the sleep job's): sleeps until the earliest one is due and reports
    // the due ones. fd subscriptions are reported as unsupported at once.
    /** @type {(inPtr: number, outPtr: number, count: number, eventsPtr: number) => number} */
    poll_oneoff: (inPtr, outPtr, count, eventsPtr) => {
      if (count === 0) return EINVAL;
      inPtr = u32(inPtr);
      outPtr = u32(outPtr);
      let v = view();
      /** @type {{ userdata: bigint, type: number, due: bigint | undefined }[]} */
      const subs = [];
      let wait = -1n;
      for (let i = 0; i < count; i++) {
        const at = inPtr + SUBSCRIPTION_SIZE * i;
        const userdata = v.getBigUint64(at, true);
        const type = v.getUint8(at + 8);
        if (type !== EVENTTYPE_CLOCK) {
          subs.push({ userdata, type, due: undefined });
          wait = 0n;
          continue;
        }
        const clock = v.getUint32(at + 16, true);
        const timeout = v.getBigUint64(at + 24, true);
        const flags = v.getUint16(at + 40, true);
        const now = clockNow(clock);
        const due =
          now === undefined
            ? undefined
            : (flags & SUBCLOCKFLAG_ABSTIME) !== 0
              ? timeout
              : now + timeout;
        subs.push({ userdata, type, due: due === undefined ? -1n : due });
        const left = now === undefined || due === undefined ? 0n : due > now ? due - now : 0n;
        if (wait < 0n || left < wait) wait = left;
      }
      sleepNs(wait);
      v = view();
      let events = 0;
      const mono = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        const s = subs[i];
        const at = inPtr + SUBSCRIPTION_SIZE * i;
        /** @type {number} */
        let error;
        if (s.type !== EVENTTYPE_CLOCK) error = ENOTSUP;
        else if (s.due === -1n) error = EINVAL;
        else {
          const clock = v.getUint32(at + 16, true);
          const now = clock === 1 ? mono : clockNow(clock);
          if (now === undefined || s.due === undefined || now < s.due) continue;
          error = ESUCCESS;
        }
        const e = outPtr + EVENT_SIZE * events++;
        for (let b = 0; b < EVENT_SIZE; b += 8) v.setBigUint64(e + b, 0n, true);
        v.setBigUint64(e, s.userdata, true);
        v.setUint16(e + 8, error, true);
        v.setUint8(e + 10, s.type);
      }
      v.setUint32(u32(eventsPtr), events, true);
      return ESUCCESS;
    },
    // Our own fd_write for stdout/stderr: it captures into bounded buffers without temp files or
    // pipes.
    /** @type {(fd: number, iovs: number, count: number, written: number) => number} */
    fd_write: (fd, iovs, count, written) => {
      if (fd !== 1 && fd !== 2) return EBADF; // the runner writes nowhere else
      const v = view();
      let total = 0;
      for (let i = 0; i < count; i++) {
        const ptr = v.getUint32(u32(iovs) + 8 * i, true);
        const len = v.getUint32(u32(iovs) + 8 * i + 4, true);
        (fd === 1 ? out : err).push(new Uint8Array(memory(), ptr, len));
        total += len;
      }
      v.setUint32(u32(written), total, true);
      return ESUCCESS;
    },
    // Standard input for --payload-stdin: copies the next bytes of the job's stdin into the iovecs.
    // A short read (0 bytes at the end) is EOF.
    /** @type {(fd: number, iovs: number, count: number, nread: number) => number} */
    fd_read: (fd, iovs, count, nread) => {
      if (fd !== 0) return EBADF; // nothing else is open for reading
      const v = view();
      const bytes = new Uint8Array(memory());
      let total = 0;
      for (let i = 0; i < count && stdinAt < stdin.byteLength; i++) {
        const ptr = v.getUint32(u32(iovs) + 8 * i, true);
        const len = v.getUint32(u32(iovs) + 8 * i + 4, true);
        const n = Math.min(len, stdin.byteLength - stdinAt);
        bytes.set(stdin.subarray(stdinAt, stdinAt + n), ptr);
        stdinAt += n;
        total += n;
      }
      v.setUint32(u32(nread), total, true);
      return ESUCCESS;
    },
    // libc's stdio may close or seek its streams at exit: stdio is a pipe (not seekable), and
    // there are no other descriptors.
    /** @type {(fd: number) => number} */
    fd_close: (fd) => (fd >= 0 && fd <= 2 ? ESUCCESS : EBADF),
    /** @type {(fd: number, offset: bigint, whence: number, newOffsetPtr: number) => number} */
    fd_seek: (fd) => (fd >= 0 && fd <= 2 ? ESPIPE : EBADF),
  };
  instance = new WebAssembly.Instance(module, {
    wasi_snapshot_preview1: wasi,
    // Emscripten tells the host when memory grows, for its JS glue; there is none here.
    env: { emscripten_notify_memory_growth: () => {} },
  });
  /** @type {number} */
  let exitCode;
  /** @type {string | undefined} */
  let trap;
  try {
    /** @type {() => void} */ (instance.exports._start)();
    exitCode = 0;
  } catch (e) {
    if (e instanceof ProcExit) {
      exitCode = e.code;
    } else {
      // A trap (abort, out of memory) ends the job the way SIGABRT ends the native binary.
      exitCode = 134;
      trap = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
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
