import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { classifyExit, decideRetry } from '../../../src/agent/exit-classifier.js';
import { parseAgentArgs, UsageError } from '../../../src/agent/agent-command.js';
import { pipeWithPrefix } from '../../../src/agent/output-prefixer.js';

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
  it('retries while failures <= retries and max_deliver leaves room', () => {
    const job = { retries: 2, backoff: { initialSeconds: 1, maxSeconds: 3, factor: 2 } };
    expect(decideRetry(job, 1, 1, -1)).toEqual({ willRetry: true, nextDelayMs: 1000 });
    expect(decideRetry(job, 2, 2, -1)).toEqual({ willRetry: true, nextDelayMs: 2000 });
    expect(decideRetry(job, 3, 3, -1)).toEqual({ willRetry: false });
    expect(decideRetry(job, 1, 5, 5)).toEqual({ willRetry: false });
  });
});

describe('agent arguments', () => {
  it('parses options, env fallbacks and the command after --', () => {
    const o = parseAgentArgs(
      ['--namespace', 'ns', '--pool', 'gpu', '--slots', '2', '--permanent-exit-codes', '3,4', '--grace-seconds', '5', '--', 'python', 'run.py', '--x'],
      { POD_NAME: 'pod-1', NODE_NAME: 'node-1', VISIONQ_NATS_URL: 'nats://a:4222,nats://b:4222' },
    );
    expect(o).toMatchObject({
      namespace: 'ns', pool: 'gpu', slots: 2, permanentExitCodes: [3, 4], graceSeconds: 5, pod: 'pod-1', node: 'node-1',
      natsUrl: ['nats://a:4222', 'nats://b:4222'], command: ['python', 'run.py', '--x'], httpPort: 0,
    });
  });
  it('rejects missing required values with a usage error', () => {
    expect(() => parseAgentArgs(['--pool', 'p', '--', 'x'], {})).toThrow(UsageError);
    expect(() => parseAgentArgs(['--namespace', 'n', '--pool', 'p'], {})).toThrow(/COMMAND/);
    expect(() => parseAgentArgs(['--namespace', 'n', '--pool', 'p', '--slots', '0', '--', 'x'], {})).toThrow(/slots/);
    expect(() => parseAgentArgs(['--namespace', 'n', '--pool', 'p', '--permanent-exit-codes', 'a', '--', 'x'], {})).toThrow(/integer/);
  });
});

describe('output prefixing', () => {
  it('prefixes every line, including a last partial one', async () => {
    const lines: string[] = [];
    await pipeWithPrefix(Readable.from(['hel', 'lo\nwor', 'ld\n', 'tail']), '[j] ', 'stdout', (_s, l) => lines.push(l));
    expect(lines).toEqual(['[j] hello', '[j] world', '[j] tail']);
  });
});
