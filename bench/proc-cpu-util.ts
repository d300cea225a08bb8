/**
 * CPU seconds of processes from /proc (Linux): a benchmark's per-component split. A process's
 * own time is utime+stime; its waited-for children (an agent's algorithm runs) are in
 * cutime+cstime, which the kernel only adds once a child has exited and been reaped.
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

export interface ProcCpu {
  self: number;
  children: number;
}

/** CPU seconds of one process, undefined when it is gone. */
export function procCpu(pid: number | 'self'): ProcCpu | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) may hold spaces and parentheses: split after its closing one.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const n = (i: number): number => Number(f[i - 3]);
  return { self: (n(14) + n(15)) / TICK, children: (n(16) + n(17)) / TICK };
}

/** A process's argv joined by spaces; '' when it is gone. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Pids whose command line contains `needle`. */
export function pidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    if (cmdlineOf(Number(d)).includes(needle)) out.push(Number(d));
  }
  return out;
}
