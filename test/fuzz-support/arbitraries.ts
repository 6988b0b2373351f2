/**
 * Arbitraries shared by the fuzz suites (API in workerd, worker node and runner in Node): hostile
 * strings and numbers, junk JSON values and texts, bodies that are a valid body with one thing
 * broken, and valid job bodies generated from the rules of JobSubmit (src/protocol/job.ts).
 * Pure: no Node or Workers imports, so both runtimes load it.
 */
import fc from 'fast-check';

export const loneSurrogate = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((c) => String.fromCharCode(c));

/** Strings that have broken parsers, path routers, databases and loggers. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u0000abc',
    '\t\n\r',
    '\u2028\u2029',
    '\ufeff',
    '\ufffd',
    '\u202e',
    'é',
    'e\u0301',
    '😀',
    '𝕏',
    '../../etc/passwd',
    '..',
    '.',
    '%00',
    '%2e%2e%2f',
    '%ZZ',
    '%',
    '\\',
    '/',
    '//',
    '?',
    '#',
    '&',
    '=',
    "' OR 1=1 --",
    '"; DROP TABLE jobs; --',
    '<script>alert(1)</script>',
    '${7*7}',
    '{{7*7}}',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'null',
    'undefined',
    'NaN',
    'Infinity',
    '-0',
    '1e309',
    'default',
    'echo',
    'native',
    'wasm',
    'true',
  ),
  fc
    .tuple(fc.string({ maxLength: 5 }), loneSurrogate, fc.string({ maxLength: 5 }))
    .map(([a, s, b]) => a + s + b),
  fc
    .tuple(fc.constantFrom('x', 'é', '😀', 'a b', '\u0000'), fc.integer({ min: 100, max: 2000 }))
    .map(([c, n]) => c.repeat(n)),
);

/** Numbers at and past every boundary the schemas draw: negative, fractional, huge, tiny. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1.5,
    -1.5,
    1e-300,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    Number.MAX_SAFE_INTEGER,
    1e21,
    1e308,
    -1e308,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    86_401,
    1025,
    10_001,
    31_536_001,
  ),
);

/**
 * Object keys: hostile, except the empty key, which the API names as field "" (a known bug with its
 * own reproduction in test/workers/fuzz-regressions.test.ts); leaving it in would stop every property
 * at that one bug instead of finding the next. FUZZ_KNOWN=1 puts it back.
 */
export const KNOWN_BAD_KEYS: readonly string[] = [];
export const junkKey = fc.oneof(
  nastyString.filter((k) => !KNOWN_BAD_KEYS.includes(k)),
  fc.constantFrom(
    'payload',
    'type',
    'priority',
    'queue',
    'jobs',
    'id',
    'url',
    'running',
    'worker_id',
    'attempt',
    'token',
    'exit_code',
    'cron',
    'job',
    'tenant',
    'name',
  ),
);

/** Any JSON value, hostile in every leaf; depth and width kept small so a run stays fast. */
export const junkJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    nastyNumber,
    nastyString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(junkKey, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** `[[[...]]]` or `{"a":{"a":...}}` nested `depth` levels, as JSON text. */
export function deepJson(depth: number, kind: 'array' | 'object' | 'mixed', leaf = '1'): string {
  if (kind === 'array') return '['.repeat(depth) + leaf + ']'.repeat(depth);
  if (kind === 'object') return '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    if (i % 2) {
      open += '[';
      close = ']' + close;
    } else {
      open += '{"k":';
      close = '}' + close;
    }
  }
  return open + leaf + close;
}

/**
 * Nesting depths. 3000 and more answer 500 today (zod's z.json() recursion overflows the stack): a
 * known bug reproduced in test/workers/fuzz-regressions.test.ts. The properties leave them out unless
 * FUZZ_KNOWN=1 (VITE_FUZZ_KNOWN in workerd): set it once the bug is fixed, then drop the filter.
 */
export const KNOWN_DEEP_OVERFLOW = 3000;
export const deepDepth = fc.constantFrom(129, 500, 1000, 2000, KNOWN_DEEP_OVERFLOW, 10_000);

/** Text that is not JSON, or JSON that JavaScript's parser accepts only with a surprise. */
export const malformedJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '[',
    '{"payload":',
    '{"payload":1,}',
    '{payload:1}',
    "{'payload':1}",
    '{"payload":NaN}',
    '{"payload":Infinity}',
    '{"payload":-Infinity}',
    '{"payload":undefined}',
    '{"payload":1e99999}',
    '{"payload":-1e99999}',
    '{"payload":01}',
    '{"payload":-}',
    '{"payload":.5}',
    '{"payload":"\\x41"}',
    '{"payload":"\\u12"}',
    '{"payload":"\\ud800"}',
    '{"payload":"\\udc00\\ud800"}',
    '{"payload":"a\u0000b"}',
    '{"payload":"tab\tin string"}',
    '\ufeff{"payload":1}',
    '{"payload":1} trailing',
    '{"payload":1}{"payload":2}',
    '// c\n{"payload":1}',
    '{"payload":1 /* c */}',
    'null',
    'true',
    '0',
    '"just a string"',
    '[]',
    '[{}]',
    '{"payload":1,"payload":2}',
    '{"__proto__":{"payload":1}}',
    '{"constructor":{"prototype":{"x":1}}}',
    'nul',
    'tru',
    '"unterminated',
  ),
  fc.json().map((t) => t.slice(0, Math.max(0, t.length - 1))),
  fc.tuple(fc.json(), fc.string({ maxLength: 3 })).map(([t, junk]) => t + junk),
  fc.string({ maxLength: 60 }),
);

/** A JSON body as raw bytes with invalid UTF-8 inside a string (0xff, overlong, encoded surrogates, cut sequences). */
export const invalidUtf8Body = (prefix: string) =>
  fc
    .tuple(
      fc.constantFrom(
        [0xff],
        [0xfe],
        [0xc0, 0x80],
        [0xed, 0xa0, 0x80],
        [0xe2, 0x82],
        [0xf0, 0x9f, 0x98],
        [0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
      ),
      fc.string({ maxLength: 5 }),
    )
    .map(([bad, text]) => {
      const enc = new TextEncoder();
      const head = enc.encode(`${prefix}"${text}`);
      const tail = enc.encode('"}');
      const out = new Uint8Array(head.length + bad.length + tail.length);
      out.set(head, 0);
      out.set(bad, head.length);
      out.set(tail, head.length + bad.length);
      return out;
    });

/**
 * encodeURIComponent that also takes lone surrogates, as the percent-encoded bytes of their WTF-8
 * form (`%ED%A0%80`): invalid UTF-8 in a URL, which is exactly the junk a path or query should survive.
 */
export function pctEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const pair =
      c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(s[i]);
  }
  return out;
}

/** Like encodeURI: leaves `/`, `?`, `&`, `=` and friends as they are, so they reach the router raw. */
export const rawEncode = (s: string) =>
  pctEncode(s).replace(/%(25|2F|3F|26|3D|3A|40|2C|3B|24|2B|21|27|28|29|2A|7E)/g, (_, h: string) =>
    String.fromCharCode(parseInt(h, 16)),
  );

export type Mutation =
  | { kind: 'set'; field: string; value: unknown }
  | { kind: 'delete'; field: string }
  | { kind: 'unknown'; field: string; value: unknown };

/** One way to break a valid body: a field of the wrong value, a missing field, or an unknown one. */
export function mutation(fields: readonly string[]): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({
      kind: fc.constant('set' as const),
      field: fc.constantFrom(...fields),
      value: junkJson,
    }),
    fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...fields) }),
    fc.record({
      kind: fc.constant('unknown' as const),
      field: nastyString.filter(
        (k) => !fields.includes(k) && k !== '__proto__' && !KNOWN_BAD_KEYS.includes(k),
      ),
      value: junkJson,
    }),
  );
}

/** Applies a mutation with own-property semantics (a `__proto__` key stays a key, as JSON.parse makes it). */
export function applyMutation(body: Record<string, unknown>, m: Mutation): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  if (m.kind === 'delete') delete out[m.field];
  else
    Object.defineProperty(out, m.field, {
      value: m.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

/** Any JSON value a client may send as a payload, including lone surrogates and every kind of number. */
export const payloadValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }),
  fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' }),
  fc
    .array(fc.oneof(loneSurrogate, fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 6 })
    .map((parts) => parts.join('')),
  fc.constantFrom(
    0,
    -0,
    1e308,
    -1e-308,
    5e-324,
    2 ** 53 + 2,
    0.1,
    '',
    null,
    [],
    {},
    { '': '' },
    { __proto__x: 1 },
  ),
);

const labelSelector = fc.stringMatching(/^[A-Za-z0-9_./-]{1,64}(=[A-Za-z0-9_./:-]{0,128})?$/);

/** A valid JobSubmit body for `queue`, per the rules of src/protocol/job.ts. */
export function validJobSubmit(queue: string): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record(
      {
        payload: payloadValue,
        type: fc.stringMatching(/^[a-z][a-z0-9_.-]{0,63}$/),
        priority: fc.constantFrom(0, 1, 2),
        timeout_sec: fc.integer({ min: 1, max: 86_400 }),
        max_retries: fc.integer({ min: 0, max: 10 }),
        executor: fc.constantFrom('native', 'wasm'),
        delay_sec: fc.integer({ min: 0, max: 31_536_000 }),
        run_at: fc
          .tuple(
            fc.date({
              min: new Date('2000-01-01T00:00:00Z'),
              max: new Date('2099-12-31T00:00:00Z'),
              noInvalidDate: true,
            }),
            fc.constantFrom('Z', '+00:00', '+05:30', '-08:00'),
          )
          .map(([d, off]) => (off === 'Z' ? d.toISOString() : d.toISOString().replace('Z', off))),
        concurrency_key: fc
          .oneof(
            fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
            fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
          )
          .filter((s) => s.length >= 1 && s.length <= 128),
        concurrency_limit: fc.integer({ min: 1, max: 10_000 }),
        requires: fc.array(labelSelector, { maxLength: 16 }),
        backoff: fc.record(
          {
            type: fc.constantFrom('fixed', 'exponential'),
            base_sec: fc.double({ min: 0.1, max: 86_400, noNaN: true }),
            max_sec: fc.double({ min: 0.1, max: 86_400, noNaN: true }),
            jitter: fc.boolean(),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['payload'] },
    )
    .map((b) => {
      const body: Record<string, unknown> = { ...b, queue };
      if (body.delay_sec !== undefined && body.run_at !== undefined) delete body.run_at;
      if (body.concurrency_limit !== undefined && body.concurrency_key === undefined)
        delete body.concurrency_limit;
      return body;
    });
}
