import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Hono } from 'hono';
import type { AppEnv } from '../context';
import { PAGE_HEADERS } from './dashboard';

/**
 * `GET /docs`: the API reference, rendered on the server from the app's own /openapi.json, so it can
 * never disagree with it. No CDN and no script: plain HTML with the dashboard's stylesheet.
 */
const docs = createRoute({
  method: 'get',
  path: '/docs',
  tags: ['operations'],
  summary: 'API reference (HTML) rendered from /openapi.json',
  responses: {
    200: { description: 'The API reference', content: { 'text/html': { schema: z.string() } } },
  },
});

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  additionalProperties?: boolean | Schema;
  format?: string;
  nullable?: boolean;
};
type Parameter = {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
};
type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: Schema }> }
  >;
};
type Document = {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** The reference of `root` (the whole app, whose /openapi.json it renders). */
export function docsRoutes(root: Hono<AppEnv>) {
  return new OpenAPIHono<AppEnv>().openapi(docs, async (c) => {
    const res = await root.request('/openapi.json', undefined, c.env);
    const doc = (await res.json()) as Document;
    return c.html(renderReference(doc), 200, { ...PAGE_HEADERS, 'cache-control': 'no-cache' });
  });
}

export function renderReference(doc: Document): string {
  const ops: { method: string; path: string; op: Operation; anchor: string }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS)
      if (item[method])
        ops.push({
          method,
          path,
          op: item[method],
          anchor: `${method}-${path.replace(/[^a-zA-Z0-9]+/g, '-')}`,
        });
  }
  const byTag = new Map<string, typeof ops>();
  for (const o of ops) {
    const tag = o.op.tags?.[0] ?? 'other';
    byTag.set(tag, [...(byTag.get(tag) ?? []), o]);
  }
  const nav = ops
    .map(
      (o) =>
        `<li><a href="#${o.anchor}"><span class="method ${o.method}">${o.method.toUpperCase()}</span>${esc(o.path)}</a></li>`,
    )
    .join('');
  const sections = [...byTag]
    .map(
      ([tag, list]) =>
        `<h2>${esc(tag)}</h2>${list.map((o) => operation(o.method, o.path, o.op, o.anchor)).join('')}`,
    )
    .join('');
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(
      ([name, s]) =>
        `<section class="op" id="schema-${esc(name)}"><h3>${esc(name)}</h3>${s.description ? `<p class="muted">${esc(s.description)}</p>` : ''}<div class="schema">${schema(s, 0)}</div></section>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} · API reference</title><link rel="icon" href="/dashboard/icon.svg" type="image/svg+xml"><link rel="stylesheet" href="/dashboard/app.css"></head><body>
<header><h1>${esc(doc.info.title)} API <span class="muted">${esc(doc.info.version)}</span></h1><nav><a href="/dashboard">dashboard</a> · <a href="/openapi.json">openapi.json</a></nav></header>
<main><p class="muted">${esc(doc.info.description ?? '')}. Every request and response is JSON unless noted; errors are <code>{"error":{"code","message","details"}}</code>.</p>
<ul class="doc-nav">${nav}</ul>${sections}<h2>Schemas</h2>${schemas}</main></body></html>`;
}

function operation(method: string, path: string, op: Operation, anchor: string): string {
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<tr><td><code>${esc(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ''}</td><td>${esc(p.in)}</td><td class="schema">${inline(p.schema)}</td><td class="muted">${esc(p.description ?? p.schema?.description ?? '')}</td></tr>`,
    )
    .join('');
  const body = op.requestBody?.content
    ? Object.entries(op.requestBody.content)
        .map(
          ([type, m]) =>
            `<h4 class="muted">Body <code>${esc(type)}</code></h4><div class="schema">${schema(m.schema, 0)}</div>`,
        )
        .join('')
    : '';
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => {
      const types = Object.entries(r.content ?? {})
        .map(([type, m]) => `<code>${esc(type)}</code> ${inline(m.schema)}`)
        .join(', ');
      return `<tr><td><code>${esc(status)}</code></td><td>${esc(r.description ?? '')}</td><td class="schema">${types}</td></tr>`;
    })
    .join('');
  const auth = op.security?.length ? ` <span class="pill">Bearer WORKER_TOKEN</span>` : '';
  return `<section class="op" id="${anchor}" data-method="${method}" data-path="${esc(path)}"><h3><span class="method ${method}">${method.toUpperCase()}</span>${esc(path)}${auth}</h3>
<p>${esc(op.summary ?? '')}</p>${op.description ? `<p class="muted">${esc(op.description)}</p>` : ''}
${params ? `<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th></th></tr></thead><tbody>${params}</tbody></table>` : ''}
${body}<table><thead><tr><th>Status</th><th>Meaning</th><th>Body</th></tr></thead><tbody>${responses}</tbody></table></section>`;
}

/** A one-line type: a link for a named schema, else the type with its bounds. */
function inline(s: Schema | undefined): string {
  if (!s) return '';
  if (s.$ref) {
    const name = s.$ref.split('/').pop()!;
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  if (s.anyOf || s.oneOf) return (s.anyOf ?? s.oneOf)!.map(inline).join(' | ');
  if (s.const !== undefined) return `<span class="type">${esc(JSON.stringify(s.const))}</span>`;
  if (s.enum)
    return `<span class="type">${esc(s.enum.map((v) => JSON.stringify(v)).join(' | '))}</span>`;
  const type = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any');
  if (type === 'array') return `${inline(s.items)}[]`;
  const bounds = [
    s.format,
    s.minimum !== undefined ? `≥ ${s.minimum}` : '',
    s.maximum !== undefined ? `≤ ${s.maximum}` : '',
    s.maxLength !== undefined ? `≤ ${s.maxLength} chars` : '',
    s.maxItems !== undefined ? `≤ ${s.maxItems} items` : '',
    s.default !== undefined ? `default ${JSON.stringify(s.default)}` : '',
  ].filter(Boolean);
  return `<span class="type">${esc(type)}${s.nullable ? ' | null' : ''}</span>${bounds.length ? ` <span class="muted">(${esc(bounds.join(', '))})</span>` : ''}`;
}

/** An object schema as a nested list of its fields; anything else inline. */
function schema(s: Schema | undefined, depth: number): string {
  if (!s) return '';
  if (s.allOf) return s.allOf.map((x) => schema(x, depth)).join('');
  if (s.type === 'object' && s.properties && depth < 4) {
    const required = new Set(s.required ?? []);
    const fields = Object.entries(s.properties)
      .map(
        ([name, p]) =>
          `<li><code>${esc(name)}</code>${required.has(name) ? ' <span class="req">*</span>' : ''}: ${p.type === 'object' && p.properties ? `object${schema(p, depth + 1)}` : inline(p)}${p.description ? ` <span class="desc">— ${esc(p.description)}</span>` : ''}</li>`,
      )
      .join('');
    return `<ul>${fields}</ul>`;
  }
  return inline(s);
}

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );
}
