/**
 * The dashboard in real Chromium against the whole sandbox (API server, nats-server, controller,
 * process kubelet): jobs applied with kubectl show up and move live, a failure shows its reason,
 * the pool view follows a scale-up, and cancelling exists only with allowCancel.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from '../../src/dashboard/dashboard-server.js';
import { launchChromium, type Browser, type PageGlobals } from '../helpers/chromium.js';
import { waitFor } from '../helpers/wait-for.js';
import { condition, createPool, job, probeJob, NS, probePool, startHarness, waitPhase, type Harness } from './harness.js';

let h: Harness;
let browser: Browser;
let readOnly: DashboardServer;
let withCancel: DashboardServer;
let seq = 0;

beforeAll(async () => {
  // 6 GPUs: one worker each for three pools and two for the one that scales up.
  h = await startHarness({ nodes: 3, gpusPerNode: 2 });
  readOnly = await startDashboardServer({ kc: h.sandbox.kc, namespace: NS, port: 0, batchMs: 50 });
  withCancel = await startDashboardServer({ kc: h.sandbox.kc, namespace: NS, port: 0, allowCancel: true, batchMs: 50 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await readOnly?.stop();
  await withCancel?.stop();
  await h?.stop();
});

async function kubectlApply(manifest: Record<string, unknown>): Promise<void> {
  const file = join(h.probeDir, `manifest-${++seq}.json`);
  await writeFile(file, JSON.stringify(manifest));
  const r = await h.kubectl('apply', '-f', file);
  expect(r.code, r.stderr).toBe(0);
}

async function open(server: DashboardServer, hash = ''): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}/${hash}`);
  await page.waitForSelector('[data-testid="connection"]:text("live")');
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}

const pageErrors = (p: Page): string[] => (p as Page & { errors?: string[] }).errors ?? [];
const row = (name: string) => `[data-job="${NS}/${name}"]`;

describe('dashboard in Chromium', () => {
  it('shows a job applied with kubectl, its progress moving, then Succeeded, with its detail page', async () => {
    await kubectlApply(probePool(h, 'dash-a', { minReplicas: 1, maxReplicas: 1 }));
    const page = await open(readOnly);
    await kubectlApply(probeJob('dash-ok', 'dash-a', { durationSeconds: 8 }));
    await page.waitForSelector(row('dash-ok'));

    // Every percent the bar showed until the job succeeded, recorded in the page on each DOM change.
    await page.evaluate((sel) => {
      const g = globalThis as unknown as PageGlobals;
      const seen: number[] = [];
      g.seen = seen;
      const record = () => {
        const bar = g.document.querySelector(`${sel} .bar`);
        const p = bar ? Number(bar.getAttribute('data-percent')) : NaN;
        if (!Number.isNaN(p) && seen[seen.length - 1] !== p) seen.push(p);
      };
      record();
      new g.MutationObserver(record).observe(g.document.body, { subtree: true, childList: true, attributes: true });
    }, row('dash-ok'));
    await page.waitForSelector(`${row('dash-ok')}[data-phase="Succeeded"]`, { timeout: 60_000 });
    const seen = await page.evaluate(() => (globalThis as unknown as PageGlobals).seen!);
    expect(seen.some((p) => p > 0 && p < 100), `percents seen: ${seen.join(',')}`).toBe(true);
    expect(seen[seen.length - 1]).toBe(100);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(await page.locator(`${row('dash-ok')} [data-testid="cancel"]`).count()).toBe(0);

    await page.click(row('dash-ok'));
    const detail = page.locator(`[data-job-page="${NS}/dash-ok"]`);
    await detail.waitFor();
    expect(await detail.getAttribute('data-phase')).toBe('Succeeded');
    await page.waitForSelector('[data-condition="Succeeded"]');
    const api = job(h, 'dash-ok')!;
    expect(await page.locator('[data-testid="result"]').textContent()).toContain(`"uid": "${api.metadata!.uid}"`);
    expect(await page.locator('[data-testid="timeline"]').textContent()).toContain(`pod ${api.status!.currentAttempt!.pod}`);
    // The agent's own log lines of this job, read through pods/log.
    await page.waitForFunction((uid) => (globalThis as unknown as PageGlobals).document.querySelector('[data-testid="log"]')?.textContent?.includes(uid), api.metadata!.uid!);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('shows the reason of a failed job', async () => {
    await kubectlApply(probePool(h, 'dash-f', { minReplicas: 1, maxReplicas: 1 }));
    const page = await open(readOnly);
    await kubectlApply(probeJob('dash-bad', 'dash-f', { durationSeconds: 1, failMode: 'permanent' }));
    await waitPhase(h, 'dash-bad', 'Failed', 60_000);
    const reason = condition(job(h, 'dash-bad'), 'Failed')!.reason!;
    expect(reason).not.toBe('');
    await page.fill('[data-testid="search"]', 'dash-bad');
    await page.waitForSelector(`${row('dash-bad')}[data-phase="Failed"]`);
    await page.waitForFunction(
      ([sel, r]) => (globalThis as unknown as PageGlobals).document.querySelector(`${sel} [data-testid="reason"]`)?.textContent?.includes(r!),
      [row('dash-bad'), reason] as const,
    );
    // The phase filter hides it when asking for Succeeded jobs only.
    await page.selectOption('[data-testid="phase-filter"]', 'Succeeded');
    await page.waitForSelector(row('dash-bad'), { state: 'detached' });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('follows a pool scaling up', async () => {
    await createPool(h, probePool(h, 'dash-s', { minReplicas: 1, maxReplicas: 2 }));
    const page = await open(readOnly);
    const pool = `[data-pool="${NS}/dash-s"]`;
    await page.waitForSelector(pool);
    expect(await page.locator(`${pool} [data-field="capacity"]`).textContent()).toContain('/2');
    await page.waitForFunction((sel) => (globalThis as unknown as PageGlobals).document.querySelector(`${sel} [data-field="replicas"]`)?.textContent?.startsWith('1 '), pool);
    for (const n of ['dash-s1', 'dash-s2']) await kubectlApply(probeJob(n, 'dash-s', { durationSeconds: 10 }));
    // Two running jobs need the second worker: the row follows the pool's status to 2 busy.
    await page.waitForFunction((sel) => (globalThis as unknown as PageGlobals).document.querySelector(`${sel} [data-field="busy"]`)?.textContent === '2', pool, { timeout: 60_000 });
    expect(await page.locator(`${pool} [data-field="replicas"]`).textContent()).toMatch(/^2 /);
    expect(await page.locator(`${pool} [data-field="running"]`).textContent()).toBe('2');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('has no cancel by default (the API answers 403) and cancels with allowCancel', async () => {
    await createPool(h, probePool(h, 'dash-c', { minReplicas: 1, maxReplicas: 1 }));
    await kubectlApply(probeJob('dash-long', 'dash-c', { durationSeconds: 60 }));
    await waitPhase(h, 'dash-long', 'Running', 60_000);

    const ro = await open(readOnly);
    await ro.waitForSelector(`${row('dash-long')}[data-phase="Running"]`);
    expect(await ro.locator('[data-testid="cancel"]').count()).toBe(0);
    const refused = await fetch(`${readOnly.url}/api/job?namespace=${NS}&name=dash-long`, { method: 'DELETE' });
    expect(refused.status).toBe(403);
    expect(job(h, 'dash-long')?.metadata?.deletionTimestamp).toBeUndefined();
    await ro.close();

    const page = await open(withCancel);
    page.on('dialog', (d) => void d.accept());
    await page.click(`${row('dash-long')} [data-testid="cancel"]`);
    await waitFor(() => job(h, 'dash-long') === undefined, { timeoutMs: 30_000, message: 'dash-long deleted' });
    await page.waitForSelector(row('dash-long'), { state: 'detached' });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
