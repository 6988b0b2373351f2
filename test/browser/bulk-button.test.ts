/**
 * The job list's bulk action in a real browser against the real stack (wrangler dev, local D1, the
 * queue's Scheduler object and a BulkRunner object): filter the list to one queue, choose cancel,
 * confirm, and watch the background action's progress reach the end; every job of the queue, and
 * only those, is cancelled.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../e2e/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// A missing Chromium is a failure, never a skip that passes (as dashboard.test.ts).
if (!existsSync(CHROMIUM))
  throw new Error(
    `no Chromium at ${CHROMIUM}: run npm run setup (apt-get install chromium), or set CHROMIUM_PATH`,
  );

describe('the dashboard bulk action', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ vars: { ALLOW_ANONYMOUS: 'true', RATE_LIMIT_JOBS_PER_MIN: '0' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('cancels every job matching the filter after a confirm, showing its progress', async () => {
    // More than one page (100), so the action runs in the background; no node runs them meanwhile.
    for (const [queue, count] of [
      ['bulk-ui', 250],
      ['bulk-ui-other', 50],
    ] as const)
      for (let i = 0; i < count; i += 50) {
        const res = await stack.call('POST', '/jobs/batch', {
          jobs: Array.from({ length: 50 }, (_, k) => ({ payload: i + k, queue })),
        });
        expect(res.status).toBe(201);
      }
    await page.goto(`${stack.api}/dashboard`);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
    await page.fill('#filter-queue', 'bulk-ui');
    await page.waitForFunction(
      () => /250/.test(document.getElementById('jobs-total')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    await page.selectOption('#bulk-action', 'cancel');
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await page.click('#bulk-apply');
    await page.waitForSelector('#bulk-result[data-bulk-status="completed"]', { timeout: 60_000 });
    expect(asked[0]).toMatch(/cancel every job matching \(queue bulk-ui\)\? The list shows 250/);
    expect(await page.textContent('#bulk-result')).toBe(
      'cancel completed: 250 of 250 reached, 250 done, 0 skipped, 0 failed',
    );
    expect(await page.$eval('#bulk-progress', (p) => (p as HTMLProgressElement).value)).toBe(250);
    const cancelled = await stack.call('GET', '/jobs?queue=bulk-ui&status=cancelled&limit=1');
    expect(cancelled.body.total).toBe(250);
    const other = await stack.call('GET', '/jobs?queue=bulk-ui-other&status=queued&limit=1');
    expect(other.body.total).toBe(50);
    expect(consoleErrors).toEqual([]);
  });

  it('does nothing when the confirm is dismissed, and shows a refusal by its field', async () => {
    await page.fill('#filter-queue', 'bulk-ui-other');
    const posted: string[] = [];
    page.on('request', (r) => r.method() === 'POST' && posted.push(r.url()));
    const dismissed = new Promise<void>((resolve) =>
      page.once('dialog', (d) => void d.dismiss().then(resolve)),
    );
    await page.click('#bulk-apply');
    await dismissed;
    // The page's next poll has come and gone: still no POST, and nothing changed.
    await page.waitForResponse((r) => r.url().includes('/jobs?'), { timeout: 10_000 });
    expect(posted).toEqual([]);
    expect(
      (await stack.call('GET', '/jobs?queue=bulk-ui-other&status=queued&limit=1')).body.total,
    ).toBe(50);
    // Retry acts on failed or cancelled jobs: the list filtered to queued ones is refused.
    await page.selectOption('#filter-status', 'queued');
    await page.selectOption('#bulk-action', 'retry');
    page.once('dialog', (d) => void d.accept());
    await page.click('#bulk-apply');
    await page.waitForFunction(
      () => /filter\.status/.test(document.getElementById('bulk-result')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.getAttribute('#bulk-result', 'class')).toBe('error');
  });
});
