import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';

/** An error with a stable code; `app.onError` renders it as `{ "error": { code, message, details } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** Turns zod issues into field-named problems: `priority: must be 0 (high), 1 (normal) or 2 (low)`. */
export function fieldProblems(issues: z.core.$ZodIssue[], prefix = ''): FieldProblem[] {
  return issues.flatMap((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => {
        const name = k === '' ? '(empty key)' : k;
        return { field: path ? `${path}.${name}` : name, message: 'unknown field' };
      });
    }
    return [{ field: path || '(body)', message: i.message }];
  });
}

export function validationError(
  issues: z.core.$ZodIssue[],
  where: 'body' | 'query' | 'path' | 'header',
): ApiError {
  const problems = fieldProblems(issues);
  const summary = problems
    .slice(0, 5)
    .map((p) => `${p.field}: ${p.message}`)
    .join('; ');
  return new ApiError(400, 'validation_failed', `invalid ${where}: ${summary}`, {
    in: where,
    problems,
  });
}
