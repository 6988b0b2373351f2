// The job table both builds are checked against: payloads, and what the runner must answer.
// `result` is the known answer (null when only parity and success are checked); `error` is the
// expected stable error code on stderr.
export interface JobCase {
  name: string;
  type: string;
  payload: unknown;
  exit: number;
  result?: unknown;
  error?: string;
}

const ok = (name: string, type: string, payload: unknown, result: unknown = null): JobCase => ({
  name,
  type,
  payload,
  exit: 0,
  result,
});
const bad = (
  name: string,
  type: string,
  payload: unknown,
  exit = 3,
  error = 'bad_payload',
): JobCase => ({ name, type, payload, exit, error });

export const JOB_CASES: JobCase[] = [
  ok('echo string', 'echo', 'just a string', 'just a string'),
  ok(
    'echo object keeps key order',
    'echo',
    { b: 1, a: [true, null, 1.5, 'x'] },
    { b: 1, a: [true, null, 1.5, 'x'] },
  ),
  ok(
    'echo unicode and control characters',
    'echo',
    { s: 'héllo ✓ \u0000 "q" \n' },
    { s: 'héllo ✓ \u0000 "q" \n' },
  ),
  ok('echo number', 'echo', 42, 42),
  ok('echo null', 'echo', null, null),
  ok(
    'echo over the 64 KiB argv cap (stdin has none)',
    'echo',
    'x'.repeat(200_000),
    'x'.repeat(200_000),
  ),
  ok('sleep', 'sleep', { ms: 20 }, { slept_ms: 20 }),
  ok('primes 10^6', 'primes', { limit: 1_000_000 }, { count: 78498 }),
  ok('primes 0', 'primes', { limit: 0 }, { count: 0 }),
  ok('primes integral float', 'primes', { limit: 1e2 }, { count: 25 }),
  ok('fib 10', 'fib', { n: 10 }, { value: 55, modulus: 1_000_000_007 }),
  ok('fib 10^18', 'fib', { n: 1e18 }, { value: 209783453, modulus: 1_000_000_007 }),
  ok(
    'sha256 abc',
    'sha256',
    { data: 'abc' },
    { digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
  ),
  ok(
    'sha256 empty',
    'sha256',
    { data: '' },
    { digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  ),
  ok(
    'sha256 double',
    'sha256',
    { data: 'hello', rounds: 2 },
    { digest: '9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50' },
  ),
  ok('sha256 many rounds', 'sha256', { data: 'x', rounds: 10_000 }),
  ok('matmul 1x1', 'matmul', { n: 1, seed: 0 }),
  ok('matmul 64', 'matmul', { n: 64, seed: 7 }),
  ok('sort 0', 'sort', { n: 0 }, { checksum: 2166136261 }),
  ok('sort 100k', 'sort', { n: 100_000, seed: 3 }),
  ok('mandelbrot', 'mandelbrot', { width: 64, height: 48, max_iter: 200 }),
  ok(
    'wordcount',
    'wordcount',
    { text: 'the cat\nthe hat\n\nthe end', top: 2 },
    {
      lines: 4,
      words: 6,
      bytes: 24,
      unique: 4,
      top: [
        { word: 'the', count: 3 },
        { word: 'cat', count: 1 },
      ],
    },
  ),
  {
    name: 'fail with code',
    type: 'fail',
    payload: { code: 42, message: 'boom' },
    exit: 42,
    error: 'job_failed',
  },
  { name: 'fail default code', type: 'fail', payload: {}, exit: 1, error: 'job_failed' },
  bad('missing payload', 'primes', undefined),
  bad('missing field', 'primes', {}),
  bad('wrong type', 'primes', { limit: '10' }),
  bad('boolean is not a number', 'fib', { n: true }),
  bad('below range', 'primes', { limit: -1 }),
  bad('above range', 'primes', { limit: 2_000_000_001 }),
  bad('non-integral float', 'matmul', { n: 10.5 }),
  bad('payload not an object', 'sort', [1, 2]),
  bad('sleep too long', 'sleep', { ms: 600_001 }),
  bad('fail code out of range', 'fail', { code: 126 }),
  bad('mandelbrot too much work', 'mandelbrot', { width: 16384, height: 16384, max_iter: 1000 }),
  bad('too deep', 'echo', JSON.parse('['.repeat(200) + ']'.repeat(200))),
  bad('unknown type', 'nope', {}, 4, 'unknown_type'),
];
