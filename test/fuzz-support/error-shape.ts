/**
 * The pass rule for one answer to bad input: never a 5xx, and every 4xx in the one error shape
 * `{ error: { code, message, details? } }` with a non-empty message; a validation error lists the
 * fields it refused in `details.problems[].field`. Throws with the whole exchange so a failing
 * property's counterexample says what was sent and what came back.
 */
export interface Answer {
  status: number;
  body: unknown;
  headers?: Headers;
}

export function describeExchange(what: string, res: Answer): string {
  const body = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  return `${what} -> ${res.status} ${body === undefined ? '' : body.slice(0, 600)}`;
}

/** Problems with an error answer, or [] when it has the shape. `validationCodes` must name fields. */
export function errorShapeProblems(
  res: Answer,
  validationCodes: readonly string[] = ['validation_failed'],
): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`a ${res.status}`);
  if (res.status < 400) return problems;
  const body = res.body as
    { error?: { code?: unknown; message?: unknown; details?: any } } | string;
  if (typeof body !== 'object' || body === null) return [...problems, 'the body is not JSON'];
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'error')
    problems.push(`top-level keys ${JSON.stringify(keys)}, expected ["error"]`);
  const err = body.error;
  if (typeof err !== 'object' || err === null) return [...problems, 'no error object'];
  if (typeof err.code !== 'string' || !/^[a-z_]+$/.test(err.code))
    problems.push(`error.code ${JSON.stringify(err.code)}`);
  if (typeof err.message !== 'string' || err.message.trim() === '')
    problems.push(`error.message ${JSON.stringify(err.message)}`);
  const extra = Object.keys(err).filter((k) => !['code', 'message', 'details'].includes(k));
  if (extra.length) problems.push(`unexpected error keys ${JSON.stringify(extra)}`);
  if (typeof err.code === 'string' && validationCodes.includes(err.code)) {
    const list = err.details?.problems;
    if (!Array.isArray(list) || list.length === 0)
      problems.push('a validation error without details.problems');
    else if (
      !list.every(
        (p: any) =>
          typeof p?.field === 'string' &&
          p.field !== '' &&
          typeof p?.message === 'string' &&
          p.message !== '',
      )
    ) {
      problems.push(
        `details.problems entries without field/message: ${JSON.stringify(list).slice(0, 200)}`,
      );
    }
  }
  return problems;
}

export function assertErrorShape(
  what: string,
  res: Answer,
  validationCodes?: readonly string[],
): void {
  const problems = errorShapeProblems(res, validationCodes);
  if (problems.length) throw new Error(`${problems.join('; ')}\n  ${describeExchange(what, res)}`);
}
