/**
 * A sleep that an abort ends early: every fault's nemesis loop waits with it, so stopping a phase
 * never waits out a long pause. The abort listener goes when the pause ends, or they would pile up.
 */
export const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
