import { describe, expect, it } from 'vitest';
import { api } from './helpers';

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
    expect(js.body).toContain("api('GET', '/stats')");
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
      expect((await api('GET', page)).body).toContain(
        '<link rel="icon" href="/dashboard/icon.svg" type="image/svg+xml">',
      );
  });
});

describe('GET /docs', () => {
  it('renders every operation of /openapi.json, with the same strict policy', async () => {
    const res = await api('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = res.body as string;
    expect(html).not.toMatch(/<script/);
    const doc = (await api('GET', '/openapi.json')).body;
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(item))
        expect(html).toContain(`data-method="${method}" data-path="${path}"`);
    }
    expect(html).toContain('id="schema-JobSubmit"');
  });
});
