import { existsSync, readFileSync } from 'node:fs';
import { unstable_readConfig } from 'wrangler';
import { ConfigSchema, parseConfig, type ConfigResult } from '../src/env';

/** The variables wrangler dev will give the Worker: wrangler.toml [vars], then .dev.vars, then the shell's overrides. */
export function localVars(root: string): {
  vars: Record<string, string>;
  overrides: Record<string, string>;
} {
  const fromToml = (unstable_readConfig({ config: `${root}/wrangler.toml` }).vars ?? {}) as Record<
    string,
    string
  >;
  const fromDevVars: Record<string, string> = {};
  const file = `${root}/.dev.vars`;
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (m) fromDevVars[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  const overrides: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape))
    if (process.env[key] !== undefined) overrides[key] = process.env[key]!;
  return { vars: { ...fromToml, ...fromDevVars, ...overrides }, overrides };
}

export function checkLocalConfig(
  root: string,
): ConfigResult & { vars: Record<string, string>; overrides: Record<string, string> } {
  const { vars, overrides } = localVars(root);
  return { ...parseConfig(vars), vars, overrides };
}
