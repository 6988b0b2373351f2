/**
 * `node-keys create|list|revoke`: worker nodes' own keys through the admin API (`CLOUD_ADMIN_TOKEN`,
 * or for a local API the ADMIN_TOKEN in .dev.vars), as `keys` manages tenants' API keys.
 */
import type { Command } from 'commander';
import { printJson, type Ctx } from '../context';
import { renderTable, type Column } from '../format';
import type { Runner } from '../program';

/** The admin API's view of a node key (src/api/routes/node-keys.ts); the secret is only in the create answer. */
export interface NodeKeyView {
  id: string;
  name: string | null;
  node_id: string | null;
  node_prefix: string | null;
  queues: string[];
  labels: Record<string, string> | null;
  created_at: string;
  revoked_at: string | null;
}

export function nodeKeyTable(keys: NodeKeyView[]): string {
  const columns: Column<NodeKeyView>[] = [
    { header: 'ID', value: (k) => k.id },
    { header: 'NODES', value: (k) => k.node_id ?? `${k.node_prefix}*` },
    { header: 'QUEUES', value: (k) => k.queues.join(',') },
    {
      header: 'LABELS',
      value: (k) =>
        k.labels === null
          ? 'any'
          : Object.entries(k.labels)
              .map(([n, v]) => `${n}=${v}`)
              .join(','),
    },
    { header: 'STATUS', value: (k) => (k.revoked_at ? 'revoked' : 'live') },
    { header: 'CREATED', value: (k) => k.created_at },
    { header: 'NAME', value: (k) => k.name ?? '' },
  ];
  return renderTable(columns, keys);
}

const list = (csv: string) =>
  csv
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `gpu=a100,zone=*` as an object; a pair without `=` is passed as is for the API to refuse by name. */
function labels(csv: string): Record<string, string> {
  return Object.fromEntries(
    list(csv).map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? [pair, ''] : [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
    }),
  );
}

interface CreateFlags {
  nodeId?: string;
  nodePrefix?: string;
  queues: string;
  labels?: string;
  name?: string;
}

export function registerNodeKeys(program: Command, run: Runner): void {
  const keys = program
    .command('node-keys')
    .description("worker nodes' own keys (admin: needs CLOUD_ADMIN_TOKEN)");

  keys
    .command('create')
    .description(
      'issue a key for one node (--node-id) or a pool (--node-prefix); the key is shown only now',
    )
    .option('--node-id <id>', 'the one node id the key acts as')
    .option('--node-prefix <prefix>', 'a pool: any node id that starts with this')
    .requiredOption('--queues <csv>', 'the queues its nodes may serve')
    .option('--labels <csv>', 'key=value labels they may claim (value * for any); default any')
    .option('--name <name>', 'a name to recognise the key by')
    .action(
      run(async (ctx: Ctx, flags: CreateFlags) => {
        const answer = await ctx.client.call<{ key: string; node_key: NodeKeyView }>(
          'POST',
          '/admin/node-keys',
          {
            auth: 'admin',
            body: {
              ...(flags.nodeId !== undefined ? { node_id: flags.nodeId } : {}),
              ...(flags.nodePrefix !== undefined ? { node_prefix: flags.nodePrefix } : {}),
              queues: list(flags.queues),
              ...(flags.labels !== undefined ? { labels: labels(flags.labels) } : {}),
              ...(flags.name ? { name: flags.name } : {}),
            },
          },
        );
        if (ctx.json) return printJson(ctx.io, answer);
        const k = answer.node_key;
        ctx.io.err(
          `created node key ${k.id} for ${k.node_id ?? `${k.node_prefix}*`} (queues ${k.queues.join(', ')}); it is shown only now: give it to the node as WORKER_TOKEN_FILE\n`,
        );
        ctx.io.out(`${answer.key}\n`);
      }),
    );

  keys
    .command('list', { isDefault: true })
    .description('list node keys, never their secrets (the default)')
    .action(
      run(async (ctx: Ctx) => {
        const answer = await ctx.client.call<{ node_keys: NodeKeyView[] }>(
          'GET',
          '/admin/node-keys',
          { auth: 'admin' },
        );
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(answer.node_keys.length ? nodeKeyTable(answer.node_keys) : 'no node keys\n');
      }),
    );

  keys
    .command('revoke')
    .description('revoke a node key: its nodes are deregistered, their jobs re-queued')
    .argument('<id>', 'key id (the part after nk_ in the key)')
    .action(
      run(async (ctx: Ctx, id: string) => {
        const answer = await ctx.client.call<{
          revoked: true;
          deregistered: string[];
          requeued: number;
        }>('DELETE', `/admin/node-keys/${encodeURIComponent(id)}`, { auth: 'admin' });
        if (ctx.json) return printJson(ctx.io, answer);
        const nodes = answer.deregistered.length ? answer.deregistered.join(', ') : 'none';
        ctx.io.out(
          `revoked ${id}; nodes deregistered: ${nodes}; jobs re-queued: ${answer.requeued}\n`,
        );
      }),
    );
}
