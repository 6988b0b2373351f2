/**
 * The dashboard in a real browser against the real stack: wrangler dev (local D1, the Scheduler
 * Durable Object) and one worker node process, started by the e2e harness. Headless Chromium through
 * playwright-core submits a job with the form, watches it go from queued to succeeded, cancels a
 * delayed job with its button, opens a job's details, and saves docs/dashboard.png for the README.
 * The API reference (/docs, Scalar's UI from the Worker's static assets) must render the API's own
 * operations. Every request either page makes is recorded: none may go to another origin than the
 * Worker's. /metrics from the same stack goes through `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitFor, type Stack } from '../e2e/harness';
import { REPO_ROOT } from '../e2e/node-process';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// npm test installs Chromium and promtool first (scripts/setup.sh), so a missing one is a failure,
// never a skip that passes.
if (!existsSync(CHROMIUM))
  throw new Error(
    `no Chromium at ${CHROMIUM}: run npm run setup (apt-get install chromium), or set CHROMIUM_PATH`,
  );

describe('dashboard in a real browser', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  // Every request the page makes that fails or answers 4xx/5xx: a missing favicon counts.
  const failedRequests: string[] = [];
  // Every URL either page asks for: all must be the Worker's own (no CDN, no fonts, no telemetry).
  const requested: string[] = [];
  const elsewhere = () =>
    requested.filter((url) => new URL(url).origin !== new URL(stack.api).origin);

  beforeAll(async () => {
    stack = await startStack({ vars: { ALLOW_ANONYMOUS: 'true', RATE_LIMIT_JOBS_PER_MIN: '0' } });
    await stack.startNode({ id: 'browser-node-1', capacity: 2 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-gpu',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    // A CSP violation or a script error shows up here: the page must load clean.
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('request', (r) => requested.push(r.url()));
    page.on('requestfailed', (r) =>
      failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`),
    );
    page.on(
      'response',
      (r) => r.status() >= 400 && failedRequests.push(`${r.status()} ${r.url()}`),
    );
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('loads live, with stats, workers and the autoscaling advice', async () => {
    const res = await page.goto(`${stack.api}/dashboard`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
    await page.waitForSelector('#workers tr[data-worker-id="browser-node-1"]', { timeout: 15_000 });
    expect(await page.textContent('#live')).toBe('1');
    expect(await page.getAttribute('#advice', 'data-action')).toMatch(
      /^(scale_up|scale_down|hold)$/,
    );
    // Loaded clean: no console error (a CSP violation, a script error, a 404) and no failed request.
    await page.waitForLoadState('networkidle');
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    expect(requested).toContain(`${stack.api}/dashboard/app.js`);
    expect(elsewhere()).toEqual([]);
  });

  it('submits a job with the form and shows it go from queued to succeeded', async () => {
    // Both slots of the node busy for a few seconds and its one prefetched lease taken (wire
    // version 3), so the new job visibly waits in the queue.
    const busy = await Promise.all(
      [0, 1, 2].map(() => stack.submit({ type: 'sleep', payload: { ms: 5000 }, priority: 0 })),
    );
    for (const j of busy) await stack.waitForJob(j.id, 'running', 15_000);
    await page.fill('#f-type', 'echo');
    await page.fill('#f-payload', '{"hello":"browser"}');
    await page.selectOption('#f-priority', '0');
    await page.fill('#f-timeout', '30');
    await page.click('#f-submit');
    await page.waitForSelector('#submit-result[data-job-id]', { timeout: 10_000 });
    const id = (await page.getAttribute('#submit-result', 'data-job-id'))!;
    expect(await page.textContent('#submit-result')).toMatch(/Submitted .* \(queued\)/);
    const row = `#jobs tr[data-job-id="${id}"]`;
    await page.waitForSelector(`${row}[data-status="queued"]`, { timeout: 10_000 });
    expect(await page.textContent('#depth-0')).toBe('1');
    await page.waitForSelector(`${row}[data-status="succeeded"]`, { timeout: 60_000 });
    expect(await page.textContent(`${row} .status`)).toBe('succeeded');
    expect(await page.textContent(`${row} .prio`)).toBe('P0');
    const job = await stack.job(id);
    expect(job).toMatchObject({
      status: 'succeeded',
      priority: 0,
      payload: { hello: 'browser' },
      timeout_sec: 30,
    });

    // Open it: the details show the attempt, the result and no error.
    await page.click(`${row} button.link`);
    await page.waitForSelector('#job-dialog[open]');
    expect(await page.textContent('#job-title')).toBe(id);
    expect(await page.textContent('#job-fields')).toContain('attempts1');
    expect(await page.textContent('#job-result')).toContain('"exit_code": 0');
    await page.click('#job-dialog button.close');
  });

  it('cancels a delayed job with its Cancel button', async () => {
    await page.fill('#f-payload', '"wait for me"');
    await page.selectOption('#f-priority', '2');
    await page.fill('#f-delay', '600');
    await page.click('#f-submit');
    await page.waitForFunction(
      () => /\(scheduled\)/.test(document.getElementById('submit-result')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    const id = (await page.getAttribute('#submit-result', 'data-job-id'))!;
    await page.fill('#f-delay', '');
    const row = `#jobs tr[data-job-id="${id}"]`;
    await page.waitForSelector(`${row}[data-status="scheduled"] button.cancel`, {
      timeout: 10_000,
    });
    await page.click(`${row} button.cancel`);
    await page.waitForSelector(`${row}[data-status="cancelled"]`, { timeout: 10_000 });
    expect(await page.$(`${row} button.cancel`)).toBeNull();
    expect((await stack.job(id)).status).toBe('cancelled');
  });

  it('filters the job list and draws the chart; saves the screenshot', async () => {
    // A few waves of jobs, a poll apart, so the chart and the list have something to show.
    for (let wave = 0; wave < 3; wave++) {
      await stack.call('POST', '/jobs/batch', {
        jobs: Array.from({ length: 4 + wave * 3 }, (_, i) => ({
          payload: { wave, i },
          priority: i % 3,
        })),
      });
      await waitFor(
        `wave ${wave} to finish`,
        async () => (await stack.call('GET', '/stats')).body.queue_depth === 0,
        30_000,
        250,
      );
      await new Promise((r) => setTimeout(r, 5000)); // the chart's resolution: the next wave lands in the next point
    }
    await page.selectOption('#filter-status', 'cancelled');
    await waitFor(
      'only cancelled rows',
      async () => {
        const statuses = await page.$$eval('#jobs tbody tr', (rows) =>
          rows.map((r) => r.getAttribute('data-status')),
        );
        return statuses.length > 0 && statuses.every((s) => s === 'cancelled');
      },
      10_000,
    );
    await page.selectOption('#filter-status', '');
    await waitFor(
      'all jobs to finish',
      async () => (await stack.call('GET', '/stats')).body.jobs_by_status.succeeded >= 20,
      60_000,
      250,
    );
    await waitFor(
      'the chart to show finished jobs',
      async () => {
        const h = (await stack.call('GET', '/stats/history')).body;
        return h.finished.some((n: number) => n > 0);
      },
      10_000,
    );
    await page.waitForTimeout(2500); // one more poll, so the screenshot shows the final state
    const drawn = await page.$eval('#chart', (c) => (c as HTMLCanvasElement).toDataURL().length);
    expect(drawn).toBeGreaterThan(5000);
    mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'docs', 'dashboard.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    expect(elsewhere()).toEqual([]);
  });

  it('pauses and resumes a queue from the queues panel', async () => {
    const row = '#queues tr[data-queue="default"]';
    await page.waitForSelector(`${row}[data-paused="false"] button.pause`, { timeout: 10_000 });
    await page.click(`${row} button.pause`);
    await page.waitForSelector(`${row}[data-paused="true"] button.resume`, { timeout: 10_000 });
    expect((await stack.call<{ paused: boolean }>('GET', '/queues/default')).body.paused).toBe(
      true,
    );
    await page.click(`${row} button.resume`);
    await page.waitForSelector(`${row}[data-paused="false"]`, { timeout: 10_000 });
    expect((await stack.call<{ paused: boolean }>('GET', '/queues/default')).body.paused).toBe(
      false,
    );
  });

  it('loads the API reference clean too, and has an icon where browsers look unasked', async () => {
    requested.length = 0;
    const res = await page.goto(`${stack.api}/docs`);
    expect(res?.status()).toBe(200);
    // Scalar drew the reference from the Worker's /openapi.json: the API's own operations show.
    await page.waitForFunction(() => /\bPOST\s+\/jobs\s/.test(document.body.innerText), undefined, {
      timeout: 30_000,
    });
    // Every operation of the document is listed under its tag, as its method and path.
    const text = (await page.evaluate(() => document.body.innerText)).replace(/\s+/g, ' ');
    const doc = (await stack.call('GET', '/openapi.json')).body;
    const operations = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toContain('POST /jobs');
    expect(operations.filter((op) => !text.includes(` ${op} `))).toEqual([]);
    await page.waitForLoadState('networkidle');
    expect(requested).toContain(`${stack.api}/docs/scalar.js`);
    expect(requested).toContain(`${stack.api}/openapi.json`);
    expect(elsewhere()).toEqual([]);
    const favicon = await page.request.get(`${stack.api}/favicon.ico`);
    expect(favicon.status()).toBe(200);
    expect(favicon.headers()['content-type']).toBe('image/svg+xml');
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
  });

  it('serves /metrics that promtool accepts', async () => {
    const res = await stack.call('GET', '/metrics');
    expect(res.status).toBe(200);
    const text = res.body as string;
    expect(text).toMatch(/^jobs_dispatched_total\{queue="default"\} [1-9]/m);
    expect(text).toMatch(
      /^job_dispatch_latency_seconds_count\{queue="default",priority="0"\} [1-9]/m,
    );
    expect(text).toMatch(/^job_run_seconds_count\{queue="default"\} [1-9]/m);
    expect(text).toMatch(/^worker_heartbeat_age_seconds\{worker="browser-node-1"\} /m);
    if (spawnSync('promtool', ['--version']).error)
      throw new Error('no promtool: run npm run setup (apt-get install prometheus)');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });
});
