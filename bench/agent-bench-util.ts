import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO } from './report-util.js';

export { REPO, percentile, writeResult } from './report-util.js';

const CLK_TCK = 100;

/** CPU seconds (user + system) of a process from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based) of the full line, 12/13 after the comm.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export interface SpawnedAgent {
  child: ChildProcess;
  lines: string[];
  logs(): string;
}

/** Runs the agent entry under tsx as a child process (what a worker pod runs). */
export function spawnAgent(args: string[], command: string[], env: NodeJS.ProcessEnv = {}): SpawnedAgent {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/agent/main.ts'), ...args, '--', ...command], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, VISIONQ_LOG_LEVEL: 'warn', ...env },
  });
  const lines: string[] = [];
  let logs = '';
  let buf = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    logs += d.toString();
    if (logs.length > 100_000) logs = logs.slice(-50_000);
  });
  return { child, lines, logs: () => logs };
}

export async function waitUntil(fn: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  console.table(rows);
}

