import type { Context } from 'hono';
import { ApiError } from './errors';
import type { AppEnv } from './context';

/**
 * The dashboard and the API reference are files of the Worker's static assets (wrangler.toml
 * [assets], built from dashboard/ by scripts/build-assets.mjs) rather than strings in its bundle:
 * Scalar's reference UI alone is 3.5 MB, past a Worker script's size limit. `run_worker_first` sends
 * every request through the app first, so these pages get the same request id, log line and
 * security headers as every other answer, and no file of the assets directory can shadow an API
 * path. Their routes fetch the file from the ASSETS binding and set the headers below.
 */

/**
 * Everything the dashboard loads comes from this Worker: no CDN, no inline script or style, so the
 * policy can be `'self'` for scripts, styles and fetches and nothing else. The pages are static
 * files with no inline script, so no per-request nonce is needed (a nonce would mean rewriting
 * every HTML answer for nothing the policy does not already forbid).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * /docs runs Scalar's reference UI, which inserts its stylesheet and theme as `<style>` elements
 * and sets `style` attributes while it renders; those carry no nonce Scalar could be given, so this
 * page alone allows inline styles. Scripts stay `'self'` (no inline script, no eval), and fetches,
 * fonts and frames stay this origin or none: nothing the reference does can reach another host.
 */
export const DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
  "style-src 'self'",
  "style-src 'self' 'unsafe-inline'",
);

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

export const PAGE_HEADERS = {
  ...SECURITY_HEADERS,
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  // Revalidated on every load (the asset's ETag makes that a 304), so a deploy shows at once.
  'cache-control': 'no-cache',
} as const;

export const DOCS_HEADERS = {
  ...PAGE_HEADERS,
  'content-security-policy': DOCS_CONTENT_SECURITY_POLICY,
} as const;

export const SCRIPT_HEADERS = {
  ...SECURITY_HEADERS,
  'content-type': 'text/javascript; charset=utf-8',
  'cache-control': 'no-cache',
} as const;

export const STYLE_HEADERS = {
  ...SECURITY_HEADERS,
  'content-type': 'text/css; charset=utf-8',
  'cache-control': 'no-cache',
} as const;

export const ICON_HEADERS = {
  ...SECURITY_HEADERS,
  'content-type': 'image/svg+xml',
  'cache-control': 'public, max-age=86400',
} as const;

/**
 * The asset at `path` (its path under dashboard/dist) with `headers`. The request's own headers go
 * along, so a browser's If-None-Match gets a 304 from the asset's ETag.
 */
export async function serveAsset(
  c: Context<AppEnv>,
  path: string,
  headers: Readonly<Record<string, string>>,
): Promise<Response> {
  const url = new URL(path, c.req.url);
  const res = await c.env.ASSETS.fetch(new Request(url, { headers: c.req.raw.headers }));
  if (res.status !== 200 && res.status !== 304)
    // Only a deployment made without its build step lacks one (wrangler builds before it deploys):
    // like a bad variable, a fault of the deployment that names itself (config_invalid).
    throw new ApiError(
      503,
      'asset_missing',
      `the static asset ${path} is missing: deploy with wrangler, which runs npm run build:assets`,
      { status: res.status },
    );
  const out = new Response(res.body, res);
  for (const [k, v] of Object.entries(headers)) out.headers.set(k, v);
  return out;
}
