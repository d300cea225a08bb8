/**
 * Takes docs/images/dashboard.png: `visionq sandbox --demo` in one process, `visionq dashboard`
 * in another (both the built CLI, as a user runs them), Chromium on the dashboard while the demo
 * jobs run. Not a test; run it after `npm run build`: npx tsx test/e2e/dashboard-screenshot.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/sandbox/package-root.js';
import { launchChromium, type PageGlobals } from '../helpers/chromium.js';
import { freePort } from '../helpers/free-port.js';

const OUT = process.argv[2] ?? join(packageRoot, 'docs', 'images', 'dashboard.png');

/** Starts the CLI and resolves the first stdout match of `ready`. */
function cli(args: string[], ready: RegExp): { child: ChildProcess; match: Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, [join(packageRoot, 'bin', 'visionq.js'), ...args], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const match = new Promise<RegExpExecArray>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      process.stdout.write(d);
      buf += d.toString();
      const m = ready.exec(buf);
      if (m) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`visionq ${args[0]} exited (${code}) before it was ready`)));
  });
  return { child, match };
}

const dir = await mkdtemp(join(tmpdir(), 'visionq-shot-'));
const children: ChildProcess[] = [];
try {
  const sandbox = cli(['sandbox', '--demo', '--dir', dir], /sandbox ready: kubeconfig=(\S+)/);
  children.push(sandbox.child);
  const kubeconfig = (await sandbox.match)[1]!;
  const dashboard = cli(['dashboard', '--kubeconfig', kubeconfig, '--port', String(await freePort()), '--log-level', 'warn'], /visionq dashboard: (http\S+)/);
  children.push(dashboard.child);
  const url = (await dashboard.match)[1]!;
  const browser = await launchChromium({ width: 1400, height: 900 });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    // A moment with a job mid-progress and one already failed shows the most.
    await page.waitForFunction(
      () => {
        const d = (globalThis as unknown as PageGlobals).document;
        return d.querySelector('[data-phase="Failed"]') !== null && d.querySelector('[data-phase="Running"] .bar:not([data-percent="0"])') !== null;
      },
      undefined,
      { timeout: 120_000, polling: 100 },
    );
    await page.screenshot({ path: OUT });
    console.log(`wrote ${OUT}`);
  } finally {
    await browser.close();
  }
} finally {
  for (const c of children.reverse()) {
    if (c.exitCode === null) c.kill('SIGTERM');
    await new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)));
  }
  await rm(dir, { recursive: true, force: true });
}
