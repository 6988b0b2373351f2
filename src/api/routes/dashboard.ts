import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { observeScope, readScope, type AppEnv } from '../context';
import {
  ICON_HEADERS,
  PAGE_HEADERS,
  SCRIPT_HEADERS,
  serveAsset,
  STYLE_HEADERS,
} from '../static-assets';
import { mergeSeries, observeAll } from '../observe';
import { HISTORY_SEC, SERIES_STEP_SEC } from '../../protocol/telemetry';

const text = (type: string, description: string) => ({
  200: { description, content: { [type]: { schema: z.string() } } },
});

const page = createRoute({
  method: 'get',
  path: '/dashboard',
  tags: ['dashboard'],
  summary: 'The live dashboard (HTML)',
  responses: text('text/html', 'The dashboard page'),
});
const script = createRoute({
  method: 'get',
  path: '/dashboard/app.js',
  tags: ['dashboard'],
  summary: "The dashboard's script",
  responses: text('text/javascript', 'JavaScript'),
});
const style = createRoute({
  method: 'get',
  path: '/dashboard/app.css',
  tags: ['dashboard'],
  summary: 'The stylesheet of the dashboard and the API reference',
  responses: text('text/css', 'CSS'),
});
const icon = createRoute({
  method: 'get',
  path: '/dashboard/icon.svg',
  tags: ['dashboard'],
  summary: 'The icon of the dashboard and the API reference',
  responses: text('image/svg+xml', 'SVG'),
});
// Browsers ask for it by themselves when a page names no icon (or its icon fails): the same SVG, so
// that request never shows up as a 404 in the console.
const favicon = createRoute({
  method: 'get',
  path: '/favicon.ico',
  tags: ['dashboard'],
  summary: 'The same icon, where browsers look for one by default',
  responses: text('image/svg+xml', 'SVG'),
});

const History = z
  .object({
    start: z.number().int().openapi({ description: 'Epoch seconds of the first point' }),
    step: z.number().int().openapi({ description: 'Seconds per point' }),
    finished: z
      .array(z.number().int())
      .openapi({ description: 'Jobs that succeeded or failed in each step' }),
    submitted: z.array(z.number().int()),
    depth: z.array(z.number().nullable()).openapi({
      description: 'Queue depth at the end of each step; null before the first sample',
    }),
  })
  .openapi('StatsHistory');

const history = createRoute({
  method: 'get',
  path: '/stats/history',
  tags: ['operations'],
  summary: `Throughput and queue depth over the last ${HISTORY_SEC / 60} minutes, one point per ${SERIES_STEP_SEC} s`,
  responses: {
    200: { description: 'History', content: { 'application/json': { schema: History } } },
  },
});

export const dashboardRoutes = new OpenAPIHono<AppEnv>()
  // The page, its script, stylesheet and icon are built from dashboard/ (scripts/build-assets.mjs).
  .openapi(page, (c) => serveAsset(c, '/dashboard/index.html', PAGE_HEADERS))
  .openapi(script, (c) => serveAsset(c, '/dashboard/app.js', SCRIPT_HEADERS))
  .openapi(style, (c) => serveAsset(c, '/dashboard/app.css', STYLE_HEADERS))
  .openapi(icon, (c) => serveAsset(c, '/dashboard/icon.svg', ICON_HEADERS))
  .openapi(favicon, (c) => serveAsset(c, '/dashboard/icon.svg', ICON_HEADERS))
  .openapi(history, async (c) => {
    const o = await observeAll(
      c.env,
      { tenant: observeScope(c), jobs: readScope(c) },
      c.get('config').WORKER_HEARTBEAT_TIMEOUT_SEC,
    );
    // A queue's history mixes every tenant's jobs: a tenant's view has none (observe.ts).
    const merged = mergeSeries(o.queues.flatMap((q) => (q.telemetry ? [q.telemetry.series] : [])));
    const nowSec = Math.floor(o.now / 1000);
    const points = HISTORY_SEC / SERIES_STEP_SEC;
    const empty = {
      start: (Math.floor(nowSec / SERIES_STEP_SEC) - points + 1) * SERIES_STEP_SEC,
      step: SERIES_STEP_SEC,
      finished: Array(points).fill(0),
      submitted: Array(points).fill(0),
      depth: Array(points).fill(null),
    };
    return c.json(merged ?? empty, 200);
  });
