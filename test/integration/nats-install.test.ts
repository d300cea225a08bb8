import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

// Proves that the install step in .ci/run provides a working nats-server with JetStream.
describe('nats-server install', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('starts with JetStream enabled on its own port', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.getAccountInfo();
      expect(info.limits).toBeDefined();
      expect(nc.info?.jetstream).toBe(true);
      expect(nc.info?.version).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      await nc.close();
    }
  });
});
