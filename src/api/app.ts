import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { except } from 'hono/combine';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { log } from '../log';
import { ApiError, validationError } from './errors';
import type { AppEnv } from './context';
import { requestId } from './middleware/request-id';
import { configGuard } from './middleware/config-guard';
import { requestLog } from './middleware/request-log';
import { costMeter } from './middleware/cost-meter';
import { jsonOnly, jsonText } from './middleware/json-only';
import { declaredBodyWithin, readBodyWithin } from './middleware/body-limits';
import { jobRoutes } from './routes/jobs';
import { jobEditRoutes } from './routes/job-edit';
import { workerRoutes } from './routes/workers';
import { leaseRoutes } from './routes/lease';
import { resultRoutes } from './routes/results';
import { systemRoutes } from './routes/system';
import { metricsRoutes } from './routes/metrics';
import { dashboardRoutes } from './routes/dashboard';
import { docsRoutes } from './routes/docs';
import { rateLimit } from './middleware/rate-limit';
import { clientAuth, isWorkerProtocol } from './middleware/auth';
import { adminRoutes } from './routes/admin';
import { nodeKeyRoutes } from './routes/node-keys';
import { deadLetterRoutes } from './routes/dead-letters';
import { progressRoutes } from './routes/progress';
import { attemptRoutes } from './routes/attempts';
import { scheduleRoutes } from './routes/schedules';
import { queueRoutes } from './routes/queues';
import { blobRoutes, isBlobUpload, isSignedBlobRequest } from './routes/blobs';
import { bulkRoutes } from './routes/bulk';

const TARGET_NAMES = { json: 'body', query: 'query', param: 'path', header: 'header' } as const;

/** The app's type, for the typed client (src/client.ts). */
export type AppType = ReturnType<typeof createApp>;

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    // Every zod failure becomes a 400 naming the field and the reason.
    defaultHook: (result) => {
      if (!result.success)
        throw validationError(
          result.error.issues,
          TARGET_NAMES[result.target as keyof typeof TARGET_NAMES] ?? 'body',
        );
    },
  });

  app.use('*', requestId());
  app.use('*', costMeter());
  app.use('*', configGuard());
  // After the config guard, which sets the log level this isolate writes at.
  app.use('*', requestLog());
  // Blob uploads are raw bytes streamed to R2 (routes/blobs.ts, which bounds them): no JSON checks.
  // Nothing reads a body before the caller is known and the body is within its path's size: the
  // declared length is judged from the headers, then authentication, then the bounded read.
  app.use('*', except(isBlobUpload, jsonOnly()));
  app.use('*', except(isBlobUpload, declaredBodyWithin()));
  // A signed blob URL is its own credential; its handler verifies it.
  app.use('*', except(isSignedBlobRequest, clientAuth()));
  // The worker protocol's routes run these two themselves, after checking the worker token.
  app.use('*', except([isBlobUpload, isWorkerProtocol], readBodyWithin()));
  app.use('*', except([isBlobUpload, isWorkerProtocol], jsonText()));
  app.use('*', rateLimit());

  // One chain, so the returned app carries every route's types for the typed client (src/client.ts).
  const routes = app
    .route('/', systemRoutes)
    .route('/', bulkRoutes)
    .route('/', jobRoutes)
    .route('/', jobEditRoutes)
    .route('/', workerRoutes)
    .route('/', leaseRoutes)
    .route('/', resultRoutes)
    .route('/', scheduleRoutes)
    .route('/', queueRoutes)
    .route('/', metricsRoutes)
    .route('/', dashboardRoutes)
    .route('/', adminRoutes)
    .route('/', nodeKeyRoutes)
    .route('/', deadLetterRoutes)
    .route('/', progressRoutes)
    .route('/', attemptRoutes)
    .route('/', blobRoutes)
    .route('/', docsRoutes);

  app.openAPIRegistry.registerComponent('securitySchemes', 'workerToken', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A node key (nk_..., /admin/node-keys) or the shared WORKER_TOKEN; with a node key, every call is also signed (X-Cloud-Timestamp, X-Cloud-Signature)',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (ck_...), or X-API-Key',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'cloud',
      version: '0.1.0',
      description: 'An edge-native distributed job scheduler',
    },
  });

  app.notFound((c) =>
    c.json(
      {
        error: {
          code: 'route_not_found',
          message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}`,
        },
      },
      404,
    ),
  );

  app.onError((err, c) => {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v);
      return c.json(
        {
          error: {
            code: err.code,
            message: err.message,
            ...(err.details !== undefined ? { details: err.details } : {}),
          },
        },
        err.status,
      );
    }
    if (err instanceof HTTPException) {
      const malformed = /json/i.test(err.message);
      return c.json(
        {
          error: {
            code: malformed ? 'invalid_json' : 'bad_request',
            message: malformed ? `the body is not valid JSON: ${err.message}` : err.message,
            details: { problems: [{ field: '(body)', message: err.message }] },
          },
        },
        err.status as ContentfulStatusCode,
      );
    }
    log({
      level: 'error',
      event: 'internal_error',
      request_id: c.get('requestId'),
      error: String(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
    return c.json(
      {
        error: {
          code: 'internal_error',
          message: 'an internal error occurred',
          details: { request_id: c.get('requestId') },
        },
      },
      500,
    );
  });

  return routes;
}
