/**
 * `/admin/node-keys`: worker nodes' own keys (src/core/node-key.ts), issued and revoked by the admin
 * as API keys are (admin.ts). Revoking a key deregisters its nodes in the Scheduler object of every
 * queue of its scope, which re-queues their jobs, and those objects refuse the key from then on.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { newKey } from '../../core/api-key';
import { bindingsOverlap, describeBinding, type NodeKeyBinding } from '../../core/node-key';
import { dbOf } from '../../db/client';
import { insertNodeKey, listNodeKeys, revokeNodeKey } from '../../db/node-keys';
import type { NodeKey } from '../../db/node-keys';
import { log } from '../../log';
import { QueueName, WorkerId } from '../../protocol/common';
import { schedulerFor, type AppEnv } from '../context';
import { ApiError } from '../errors';
import { forgetNodeKey } from '../node-key-cache';
import { errors, jsonBody } from '../openapi-helpers';

const KeyId = z
  .string()
  .regex(/^[a-z2-9]{12}$/, 'a key id')
  .openapi({ param: { name: 'id', in: 'path' } });

const NodeKeyCreate = z
  .strictObject({
    node_id: WorkerId.optional().openapi({ description: 'The one node id this key acts as' }),
    node_prefix: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,126}$/,
        'the start of a node id: letters, digits, "_", ".", ":" and "-", at most 127 characters',
      )
      .optional()
      .openapi({
        description: 'A pool: the key acts as any node id that starts with this',
        example: 'gpu-',
      }),
    queues: z
      .array(QueueName)
      .min(1)
      .max(32)
      .openapi({ description: 'The queues its nodes may register for' }),
    labels: z
      .record(z.string().min(1).max(64), z.string().min(1).max(256))
      .refine((l) => Object.keys(l).length <= 64, 'at most 64 labels')
      .optional()
      .openapi({
        description:
          'The labels its nodes may claim, each with its one allowed value or `*` for any; omitted: any labels',
        example: { gpu: 'a100', zone: '*' },
      }),
    name: z.string().min(1).max(128).optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.node_id === undefined) === (b.node_prefix === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [b.node_id === undefined ? 'node_id' : 'node_prefix'],
        message:
          b.node_id === undefined
            ? 'give node_id (one node) or node_prefix (a pool of nodes)'
            : 'give node_id or node_prefix, not both',
      });
  })
  .openapi('NodeKeyCreate');

const NodeKeyView = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    node_id: z.string().nullable(),
    node_prefix: z.string().nullable(),
    queues: z.array(z.string()),
    labels: z.record(z.string(), z.string()).nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi('NodeKey');

const view = (k: NodeKey): z.infer<typeof NodeKeyView> => ({
  id: k.id,
  name: k.name,
  node_id: k.binding.nodeId,
  node_prefix: k.binding.nodePrefix,
  queues: k.scope.queues,
  labels: k.scope.labels,
  created_at: new Date(k.createdAt).toISOString(),
  revoked_at: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
});

const create = createRoute({
  method: 'post',
  path: '/admin/node-keys',
  tags: ['admin'],
  summary:
    "Issue a worker node's own key, bound to a node id or an id prefix and scoped to queues and labels; the key is in this answer only",
  security: [{ adminToken: [] }],
  request: { body: jsonBody(NodeKeyCreate) },
  responses: {
    201: {
      description: 'Issued',
      content: {
        'application/json': { schema: z.object({ key: z.string(), node_key: NodeKeyView }) },
      },
    },
    ...errors(400, 401, 409, 415, 503),
  },
});

const list = createRoute({
  method: 'get',
  path: '/admin/node-keys',
  tags: ['admin'],
  summary: 'Node keys, live and revoked (never their secrets)',
  security: [{ adminToken: [] }],
  request: { query: z.strictObject({}) },
  responses: {
    200: {
      description: 'Node keys, newest first',
      content: { 'application/json': { schema: z.object({ node_keys: z.array(NodeKeyView) }) } },
    },
    ...errors(400, 401, 503),
  },
});

const revoke = createRoute({
  method: 'delete',
  path: '/admin/node-keys/{id}',
  tags: ['admin'],
  summary:
    'Revoke a node key: its nodes are deregistered (their jobs re-queued) and refused from then on; repeat it if it answers 503',
  security: [{ adminToken: [] }],
  request: { params: z.object({ id: KeyId }) },
  responses: {
    200: {
      description: 'Revoked, and every queue of its scope told',
      content: {
        'application/json': {
          schema: z.object({
            revoked: z.literal(true),
            revoked_at: z.string(),
            deregistered: z.array(z.string()).openapi({ description: 'Node ids it removed' }),
            requeued: z.number().int().openapi({ description: 'Jobs their nodes held' }),
          }),
        },
      },
    },
    ...errors(400, 401, 404, 503),
  },
});

export const nodeKeyRoutes = new OpenAPIHono<AppEnv>();

nodeKeyRoutes.openapi(create, async (c) => {
  const body = c.req.valid('json');
  const db = dbOf(c.env.DB);
  const binding: NodeKeyBinding = {
    nodeId: body.node_id ?? null,
    nodePrefix: body.node_prefix ?? null,
  };
  const field = binding.nodeId !== null ? 'node_id' : 'node_prefix';
  const clash = (await listNodeKeys(db, { live: true })).find((k) =>
    bindingsOverlap(k.binding, binding),
  );
  if (clash) {
    const message = `overlaps live node key ${clash.id} (${describeBinding(clash.binding)}): two keys may claim one node id only with the same binding`;
    throw new ApiError(409, 'node_key_overlap', `${field}: ${message}`, {
      problems: [{ field, message }],
    });
  }
  const { id, key, secretHash } = await newKey('nk');
  const row: NodeKey = {
    id,
    name: body.name ?? null,
    binding,
    scope: { queues: [...new Set(body.queues)], labels: body.labels ?? null },
    secretHash,
    createdAt: Date.now(),
    revokedAt: null,
  };
  await insertNodeKey(db, row);
  log({
    event: 'node_key_created',
    key_id: id,
    binding: describeBinding(binding),
    queues: row.scope.queues,
    request_id: c.get('requestId'),
  });
  return c.json({ key, node_key: view(row) }, 201);
});

nodeKeyRoutes.openapi(list, async (c) => {
  const keys = await listNodeKeys(dbOf(c.env.DB));
  return c.json({ node_keys: keys.map(view) }, 200);
});

nodeKeyRoutes.openapi(revoke, async (c) => {
  const id = c.req.valid('param').id;
  // A key revoked before is told to its queues again: a revocation that answered 503 is repeated.
  const key = await revokeNodeKey(dbOf(c.env.DB), id, Date.now());
  if (!key) throw new ApiError(404, 'node_key_not_found', `no node key ${id}`);
  forgetNodeKey(id);
  const told = await Promise.allSettled(
    key.scope.queues.map((q) => schedulerFor(c.env, q).revokeNodeKey(q, id)),
  );
  const untold = key.scope.queues.filter((_, i) => told[i].status === 'rejected');
  if (untold.length > 0)
    throw new ApiError(
      503,
      'revocation_incomplete',
      `node key ${id} is revoked, but the queues ${untold.join(', ')} could not be told to drop its nodes: repeat the DELETE`,
      { queues: untold },
      { 'retry-after': '1' },
    );
  const done = told.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : []));
  const deregistered = [...new Set(done.flatMap((d) => d.deregistered))];
  const requeued = done.reduce((s, d) => s + d.requeued, 0);
  log({
    event: 'node_key_revoked',
    key_id: id,
    deregistered,
    requeued,
    request_id: c.get('requestId'),
  });
  return c.json(
    {
      revoked: true as const,
      revoked_at: new Date(key.revokedAt!).toISOString(),
      deregistered,
      requeued,
    },
    200,
  );
});
