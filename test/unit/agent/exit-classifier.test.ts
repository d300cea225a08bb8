import { describe, expect, it } from 'vitest';
import { classifyExit } from '../../../src/agent/exit-classifier.js';

describe('exit classification', () => {
  const permanent = new Set([3, 4]);
  it('maps exit codes, signals, timeouts and spawn errors', () => {
    expect(classifyExit({ exitCode: 0, signal: null, timedOut: false }, permanent).kind).toBe('success');
    expect(classifyExit({ exitCode: 3, signal: null, timedOut: false }, permanent).kind).toBe('permanent');
    expect(classifyExit({ exitCode: 1, signal: null, timedOut: false }, permanent).kind).toBe('retryable');
    expect(classifyExit({ exitCode: null, signal: 'SIGSEGV', timedOut: false }, permanent)).toMatchObject({ kind: 'retryable', reason: /SIGSEGV/ });
    expect(classifyExit({ exitCode: null, signal: 'SIGTERM', timedOut: true }, permanent)).toMatchObject({ kind: 'retryable', reason: /timeout/ });
    expect(classifyExit({ exitCode: null, signal: null, timedOut: false, spawnError: 'ENOENT' }, permanent).kind).toBe('retryable');
  });
});
