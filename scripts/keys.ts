// `npm run keys -- create --tenant acme [--name ci]`, `npm run keys -- list [--tenant acme]`,
// `npm run keys -- revoke <id>`: API keys through the admin API. Reads CLOUD_API_URL (default
// http://localhost:8787) and CLOUD_ADMIN_TOKEN (default: ADMIN_TOKEN from .dev.vars, for local use).
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = 'usage: npm run keys -- create --tenant T [--name N] | list [--tenant T] | revoke ID';

function adminToken(): string | undefined {
  if (process.env.CLOUD_ADMIN_TOKEN) return process.env.CLOUD_ADMIN_TOKEN;
  const file = new URL('../.dev.vars', import.meta.url);
  if (!existsSync(file)) return undefined;
  return /^ADMIN_TOKEN=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.trim();
}

async function call(method: string, path: string, body?: unknown): Promise<any> {
  const base = (process.env.CLOUD_API_URL ?? 'http://localhost:8787').replace(/\/+$/, '');
  const token = adminToken();
  if (!token) throw new Error('set CLOUD_ADMIN_TOKEN to the API\'s ADMIN_TOKEN');
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = (await res.json().catch(() => ({}))) as any;
  if (!res.ok) throw new Error(`${res.status} ${answer?.error?.code ?? ''}: ${answer?.error?.message ?? res.statusText}`);
  return answer;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { tenant: { type: 'string' }, name: { type: 'string' } } });
  const [command, arg] = positionals;
  if (command === 'create' && values.tenant) {
    const out = await call('POST', '/admin/keys', { tenant: values.tenant, ...(values.name ? { name: values.name } : {}) });
    console.log(`created key ${out.api_key.id} for tenant ${out.api_key.tenant}; it is shown only now:\n${out.key}`);
    return 0;
  }
  if (command === 'list') {
    const out = await call('GET', `/admin/keys${values.tenant ? `?tenant=${encodeURIComponent(values.tenant)}` : ''}`);
    for (const k of out.api_keys) console.log(`${k.id}  ${k.tenant.padEnd(16)} ${k.revoked_at ? 'revoked' : 'live   '}  ${k.created_at}  ${k.name ?? ''}`);
    return 0;
  }
  if (command === 'revoke' && arg) {
    await call('DELETE', `/admin/keys/${encodeURIComponent(arg)}`);
    console.log(`revoked ${arg}`);
    return 0;
  }
  console.error(USAGE);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`keys: ${err.message}`);
    process.exit(1);
  },
);
