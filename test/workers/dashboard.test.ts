import { createExecutionContext, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app';
import { api } from './helpers';

const ICON_LINK = /<link rel="icon" href="\/dashboard\/icon\.svg" type="image\/svg\+xml" ?\/?>/;

describe('GET /dashboard', () => {
  it('serves the page with a strict Content-Security-Policy and no third-party origin', async () => {
    const res = await api('GET', '/dashboard');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = res.body as string;
    expect(html).toContain('<script src="/dashboard/app.js" defer></script>');
    expect(html).toContain('id="submit-form"');
    // Nothing inline that the policy would block, and nothing from elsewhere.
    expect(html).not.toMatch(/<script>|<style|style="|on(click|load|submit)=/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves its script and stylesheet from the Worker', async () => {
    const js = await api('GET', '/dashboard/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    // Built by esbuild from dashboard/src, which prints strings in double quotes.
    expect(js.body).toMatch(/api\(["']GET["'], ["']\/stats["']\)/);
    expect(js.body).not.toMatch(/innerHTML|eval\(|new Function/);
    const css = await api('GET', '/dashboard/app.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });
});

describe('the icon', () => {
  it('is an SVG the dashboard and the reference name, and also where browsers look unasked', async () => {
    for (const path of ['/dashboard/icon.svg', '/favicon.ico']) {
      const res = await api('GET', path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/svg+xml');
      expect(res.body).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
    for (const page of ['/dashboard', '/docs'])
      expect((await api('GET', page)).body).toMatch(ICON_LINK);
  });
});

describe('GET /docs', () => {
  it("serves Scalar's reference over /openapi.json from the Worker, scripts 'self' only", async () => {
    const res = await api('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    // Scalar's inserted <style> elements are the one thing this page allows beyond the dashboard.
    expect(csp).toContain("style-src 'self' 'unsafe-inline';");
    expect(csp).not.toMatch(/unsafe-eval|https?:/);
    const html = res.body as string;
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toEqual([' src="/docs/scalar.js" defer', ' src="/docs/reference.js" defer']);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);

    const scalar = await api('GET', '/docs/scalar.js');
    expect(scalar.status).toBe(200);
    expect(scalar.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(scalar.body).toContain('@scalar/api-reference');
    const reference = await api('GET', '/docs/reference.js');
    expect(reference.body).toContain('url: "/openapi.json"');
    expect(reference.body).toContain('withDefaultFonts: false');
    expect(reference.body).toContain('telemetry: false');
  });
});

describe('the static assets', () => {
  it('answer a revalidation with 304 from their ETag, keeping the page headers', async () => {
    const first = await api('GET', '/dashboard');
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await api('GET', '/dashboard', undefined, { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(again.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('are public where an API key is required, while the API behind them is not', async () => {
    const app = createApp();
    const get = (path: string) =>
      app.fetch(
        new Request(`http://cloud.test${path}`),
        { ...env, ALLOW_ANONYMOUS: 'false' },
        createExecutionContext(),
      );
    for (const path of ['/dashboard', '/dashboard/app.js', '/docs', '/docs/scalar.js'])
      expect((await get(path)).status, path).toBe(200);
    expect((await get('/stats')).status).toBe(401);
  });

  it("serve only the files the app routes: any other path is the API's JSON 404", async () => {
    for (const path of ['/dashboard/index.html', '/docs/index.html', '/dashboard/nope.js']) {
      const res = await api('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe('route_not_found');
    }
  });
});
