import { describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { ControlServer } from '../../../src/agent/control-server.js';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('control server', () => {
  // handle() is the protocol without the subscription; the connection is not touched.
  const calls: string[] = [];
  const server = new ControlServer({} as NatsConnection, 'ns', 'pool-1', 'pod-1', {
    cancel: async (uid) => (calls.push(`cancel ${uid}`), { ok: true, state: 'cancelled' }),
    drain: async () => (calls.push('drain'), { ok: true, accepted: true }),
    status: () => ({ ok: true, pod: 'pod-1' }),
  });

  it('routes each verb to the handler with the decoded body', async () => {
    expect(await server.handle('cancel', enc({ jobUid: 'u-1' }))).toEqual({ ok: true, state: 'cancelled' });
    expect(await server.handle('drain', new Uint8Array())).toEqual({ ok: true, accepted: true });
    expect(await server.handle('status', new Uint8Array())).toEqual({ ok: true, pod: 'pod-1' });
    expect(calls).toEqual(['cancel u-1', 'drain']);
  });

  it('answers bad requests instead of leaving the caller to time out', async () => {
    expect(await server.handle('cancel', enc('{not json'))).toEqual({ ok: false, error: 'body is not JSON' });
    expect(await server.handle('reboot', new Uint8Array())).toEqual({ ok: false, error: 'unknown control verb reboot' });
  });
});
