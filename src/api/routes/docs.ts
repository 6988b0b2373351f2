import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context';
import { DOCS_HEADERS, SCRIPT_HEADERS, serveAsset } from '../static-assets';

/**
 * `GET /docs`: the API reference, drawn in the browser by Scalar's reference UI from this Worker's
 * own /openapi.json, so it can never disagree with it. Scalar's bundle and the few lines that
 * configure it are static assets of this Worker (dashboard/src/reference.ts): no CDN, and the page's
 * policy keeps every request on this origin.
 */
const text = (type: string, description: string) => ({
  200: { description, content: { [type]: { schema: z.string() } } },
});

const docs = createRoute({
  method: 'get',
  path: '/docs',
  tags: ['operations'],
  summary: 'API reference (HTML, Scalar) drawn from /openapi.json',
  responses: text('text/html', 'The API reference'),
});
const scalar = createRoute({
  method: 'get',
  path: '/docs/scalar.js',
  tags: ['dashboard'],
  summary: "Scalar's API reference UI (its standalone bundle, @scalar/api-reference)",
  responses: text('text/javascript', 'JavaScript'),
});
const reference = createRoute({
  method: 'get',
  path: '/docs/reference.js',
  tags: ['dashboard'],
  summary:
    "The API reference page's script: Scalar pointed at /openapi.json, with no outside calls",
  responses: text('text/javascript', 'JavaScript'),
});

export const docsRoutes = new OpenAPIHono<AppEnv>()
  .openapi(docs, (c) => serveAsset(c, '/docs/index.html', DOCS_HEADERS))
  .openapi(scalar, (c) => serveAsset(c, '/docs/scalar.js', SCRIPT_HEADERS))
  .openapi(reference, (c) => serveAsset(c, '/docs/reference.js', SCRIPT_HEADERS));
