/**
 * `keys create|list|revoke`: tenant API keys through the admin API (`CLOUD_ADMIN_TOKEN`, or for a
 * local API the ADMIN_TOKEN in .dev.vars). `npm run keys` runs this command.
 */
import type { Command } from 'commander';
import { printJson, type Ctx } from '../context';
import { renderTable, type Column } from '../format';
import type { Runner } from '../program';

/** The admin API's view of a key (src/api/routes/admin.ts); the secret is only in the create answer. */
export interface ApiKeyView {
  id: string;
  tenant: string;
  name: string | null;
  created_at: string;
  revoked_at: string | null;
}

export function keyTable(keys: ApiKeyView[]): string {
  const columns: Column<ApiKeyView>[] = [
    { header: 'ID', value: (k) => k.id },
    { header: 'TENANT', value: (k) => k.tenant },
    { header: 'STATUS', value: (k) => (k.revoked_at ? 'revoked' : 'live') },
    { header: 'CREATED', value: (k) => k.created_at },
    { header: 'NAME', value: (k) => k.name ?? '' },
  ];
  return renderTable(columns, keys);
}

export function registerKeys(program: Command, run: Runner): void {
  const keys = program
    .command('keys')
    .description('tenant API keys (admin: needs CLOUD_ADMIN_TOKEN)');

  keys
    .command('create')
    .description('create an API key for a tenant; the key is shown only now')
    .requiredOption('--tenant <tenant>', 'the tenant the key acts for')
    .option('--name <name>', 'a name to recognise the key by')
    .action(
      run(async (ctx: Ctx, flags: { tenant: string; name?: string }) => {
        const answer = await ctx.client.call<{ key: string; api_key: ApiKeyView }>(
          'POST',
          '/admin/keys',
          {
            auth: 'admin',
            body: { tenant: flags.tenant, ...(flags.name ? { name: flags.name } : {}) },
          },
        );
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.err(
          `created key ${answer.api_key.id} for tenant ${answer.api_key.tenant}; it is shown only now:\n`,
        );
        ctx.io.out(`${answer.key}\n`);
      }),
    );

  keys
    .command('list', { isDefault: true })
    .description('list API keys, never their secrets (the default)')
    .option('--tenant <tenant>', "only this tenant's keys")
    .action(
      run(async (ctx: Ctx, flags: { tenant?: string }) => {
        const answer = await ctx.client.call<{ api_keys: ApiKeyView[] }>('GET', '/admin/keys', {
          auth: 'admin',
          query: { tenant: flags.tenant },
        });
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(answer.api_keys.length ? keyTable(answer.api_keys) : 'no API keys\n');
      }),
    );

  keys
    .command('revoke')
    .description('revoke an API key: it is refused from the next request on')
    .argument('<id>', 'key id (the part after ck_ in the key)')
    .action(
      run(async (ctx: Ctx, id: string) => {
        const answer = await ctx.client.call<{ revoked: true }>(
          'DELETE',
          `/admin/keys/${encodeURIComponent(id)}`,
          { auth: 'admin' },
        );
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(`revoked ${id}\n`);
      }),
    );
}
