/** How an attempt's process ended. */
export interface ProcessOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The process could not be started at all (e.g. command not found). */
  spawnError?: string;
}

export type Classification =
  | { kind: 'success' }
  | { kind: 'permanent'; reason: string }
  | { kind: 'retryable'; reason: string };

/** 0 = success; a configured exit code = permanent; any other code, a signal or the timeout = retryable. */
export function classifyExit(o: ProcessOutcome, permanentExitCodes: ReadonlySet<number>): Classification {
  if (o.spawnError) return { kind: 'retryable', reason: `cannot start command: ${o.spawnError}` };
  if (o.timedOut) return { kind: 'retryable', reason: 'timeout: the attempt exceeded timeoutSeconds' };
  if (o.exitCode === 0) return { kind: 'success' };
  if (o.exitCode !== null && permanentExitCodes.has(o.exitCode)) return { kind: 'permanent', reason: `exit code ${o.exitCode} is permanent` };
  if (o.exitCode !== null) return { kind: 'retryable', reason: `exit code ${o.exitCode}` };
  return { kind: 'retryable', reason: `killed by signal ${o.signal ?? 'unknown'}` };
}
