import { describe, expect, it } from 'vitest';
import { parseAgentArgs, UsageError } from '../../../src/agent/agent-command.js';

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
  it('takes the static NATS user from a flag or env and its password only from env', () => {
    const o = parseAgentArgs(['--namespace', 'n', '--pool', 'p', '--nats-user', 'visionq-worker.n.p', '--', 'x'], { VISIONQ_NATS_PASSWORD: 's3cret' });
    expect(o).toMatchObject({ natsUser: 'visionq-worker.n.p', natsPassword: 's3cret' });
    expect(parseAgentArgs(['--namespace', 'n', '--pool', 'p', '--', 'x'], { VISIONQ_NATS_USER: 'u' })).toMatchObject({ natsUser: 'u', natsPassword: undefined });
    expect(() => parseAgentArgs(['--namespace', 'n', '--pool', 'p', '--nats-password', 'x', '--', 'x'], {})).toThrow();
  });

  it('rejects missing required values with a usage error', () => {
    expect(() => parseAgentArgs(['--pool', 'p', '--', 'x'], {})).toThrow(UsageError);
    expect(() => parseAgentArgs(['--namespace', 'n', '--pool', 'p'], {})).toThrow(/COMMAND/);
    expect(() => parseAgentArgs(['--namespace', 'n', '--pool', 'p', '--slots', '0', '--', 'x'], {})).toThrow(/slots/);
    expect(() => parseAgentArgs(['--namespace', 'n', '--pool', 'p', '--permanent-exit-codes', 'a', '--', 'x'], {})).toThrow(/integer/);
  });
});
