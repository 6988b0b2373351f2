import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { newApiKey } from '../../core/api-key';
import { dbOf } from '../../db/client';
import { insertApiKey, listApiKeys, revokeApiKey } from '../../db/api-keys';
import type { ApiKeyRow } from '../../db/schema';
import { log } from '../../log';
import { ApiError } from '../errors';
import { schedulerFor, type AppEnv } from '../context';
import { JobId, QueueName } from '../../protocol/common';
import { errors, jsonBody } from '../openapi-helpers';

const Tenant = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, ".", "_" or "-"');
const KeyView = z
  .object({
    id: z.string(),
    tenant: z.string(),
    name: z.string().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi('ApiKey');

const view = (r: ApiKeyRow) => ({
  id: r.id,
  tenant: r.tenant,
  name: r.name,
  created_at: new Date(r.createdAt).toISOString(),
  revoked_at: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
});

const create = createRoute({
  method: 'post',
  path: '/admin/keys',
  tags: ['admin'],
  summary: 'Create an API key for a tenant; the key is in this answer only',
  security: [{ adminToken: [] }],
  request: {
    body: jsonBody(z.strictObject({ tenant: Tenant, name: z.string().min(1).max(128).optional() })),
  },
  responses: {
    201: {
      description: 'Created',
      content: { 'application/json': { schema: z.object({ key: z.string(), api_key: KeyView }) } },
    },
    ...errors(400, 401, 415, 503),
  },
});

const list = createRoute({
  method: 'get',
  path: '/admin/keys',
  tags: ['admin'],
  summary: 'API keys (never their secrets)',
  security: [{ adminToken: [] }],
  request: { query: z.strictObject({ tenant: Tenant.optional() }) },
  responses: {
    200: {
      description: 'Keys',
      content: { 'application/json': { schema: z.object({ api_keys: z.array(KeyView) }) } },
    },
    ...errors(400, 401, 503),
  },
});

const revoke = createRoute({
  method: 'delete',
  path: '/admin/keys/{id}',
  tags: ['admin'],
  summary: 'Revoke an API key: it is refused from the next request on',
  security: [{ adminToken: [] }],
  request: {
    params: z.object({
      id: z
        .string()
        .regex(/^[a-z2-9]{12}$/, 'a key id')
        .openapi({ param: { name: 'id', in: 'path' } }),
    }),
  },
  responses: {
    200: {
      description: 'Revoked',
      content: { 'application/json': { schema: z.object({ revoked: z.literal(true) }) } },
    },
    ...errors(400, 401, 404, 503),
  },
});

const states = createRoute({
  method: 'post',
  path: '/admin/queues/{name}/states',
  tags: ['admin'],
  summary:
    "Jobs' states as the queue's Scheduler object holds them (the system of record; D1 follows it)",
  security: [{ adminToken: [] }],
  request: {
    params: z.object({ name: QueueName.openapi({ param: { name: 'name', in: 'path' } }) }),
    body: jsonBody(z.strictObject({ ids: z.array(JobId).min(1).max(500) })),
  },
  responses: {
    200: {
      description: "Each job's status, or `unknown` when the object never took it",
      content: {
        'application/json': { schema: z.object({ states: z.record(z.string(), z.string()) }) },
      },
    },
    ...errors(400, 401, 415, 503),
  },
});

export const adminRoutes = new OpenAPIHono<AppEnv>();

adminRoutes.openapi(states, async (c) => {
  const queue = c.req.valid('param').name;
  const found = await schedulerFor(c.env, queue).states(queue, c.req.valid('json').ids);
  return c.json({ states: found }, 200);
});

adminRoutes.openapi(create, async (c) => {
  const body = c.req.valid('json');
  const { id, key, secretHash } = await newApiKey();
  const row: ApiKeyRow = {
    id,
    tenant: body.tenant,
    name: body.name ?? null,
    secretHash,
    createdAt: Date.now(),
    revokedAt: null,
  };
  await insertApiKey(dbOf(c.env.DB), row);
  log({
    event: 'api_key_created',
    key_id: id,
    tenant: body.tenant,
    request_id: c.get('requestId'),
  });
  return c.json({ key, api_key: view(row) }, 201);
});

adminRoutes.openapi(list, async (c) => {
  const rows = await listApiKeys(dbOf(c.env.DB), c.req.valid('query').tenant);
  return c.json({ api_keys: rows.map(view) }, 200);
});

adminRoutes.openapi(revoke, async (c) => {
  const id = c.req.valid('param').id;
  if (!(await revokeApiKey(dbOf(c.env.DB), id, Date.now())))
    throw new ApiError(404, 'api_key_not_found', 'no live API key with this id');
  log({ event: 'api_key_revoked', key_id: id, request_id: c.get('requestId') });
  return c.json({ revoked: true as const }, 200);
});
