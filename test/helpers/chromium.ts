/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser): headless, no
 * network services of its own, a fresh profile in a temp dir removed on close.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.VISIONQ_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(viewport = { width: 1400, height: 1000 }): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'visionq-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, viewport });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
}

/**
 * What functions run inside the page (page.evaluate / waitForFunction) touch, typed without the
 * DOM lib (the project compiles for Node): `const g = globalThis as unknown as PageGlobals`.
 */
export interface PageGlobals {
  document: { querySelector(sel: string): PageElement | null; querySelectorAll(sel: string): { length: number }; body: unknown };
  MutationObserver: new (cb: () => void) => { observe(target: unknown, opts: Record<string, boolean>): void };
  __dashboardStats: {
    firstRowsMs?: number;
    batches: number;
    batchApplyMs: number[];
    batchParseMs: number[];
    renderMs: number[];
    rowsUpdated: number;
  };
  seen?: number[];
}
