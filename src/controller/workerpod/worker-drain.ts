import { RequestError, TimeoutError } from '@nats-io/transport-node';
import { isNoResponders } from '../../queue/errors.js';
import { controlSubject } from '../../queue/subjects.js';
import type { NatsAccess } from '../manager/context.js';

/**
 * - accepted:    the agent takes no more jobs; the pod may be deleted
 * - refused:     the agent is running (or just took) a job: choose another worker or retry later
 * - no-agent:    nobody listens on the pod's control subject (agent not started, or gone)
 * - unavailable: NATS is down or the agent did not answer in time: nothing is known, do nothing
 */
export type DrainOutcome = 'accepted' | 'refused' | 'no-agent' | 'unavailable';

export interface DrainResult {
  outcome: DrainOutcome;
  reason?: string;
}

export type DrainFn = (namespace: string, pool: string, pod: string) => Promise<DrainResult>;

/** The drain handshake over the agent's control subject (request/reply, see src/queue/subjects.ts). */
export function natsDrainer(nats: NatsAccess, timeoutMs = 2_000): DrainFn {
  return async (namespace, pool, pod) => {
    const h = nats.current();
    if (!h) return { outcome: 'unavailable', reason: 'NATS not connected' };
    try {
      const msg = await h.nc.request(controlSubject(namespace, pool, pod, 'drain'), JSON.stringify({}), { timeout: timeoutMs });
      const reply = parseReply(msg.string());
      if (reply.accepted === true) return { outcome: 'accepted' };
      return { outcome: 'refused', reason: typeof reply.reason === 'string' ? reply.reason : 'refused' };
    } catch (err) {
      if (isNoResponders(err)) return { outcome: 'no-agent' };
      if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
        return { outcome: 'unavailable', reason: 'agent did not answer' };
      }
      return { outcome: 'unavailable', reason: err instanceof Error ? err.message : String(err) };
    }
  };
}

function parseReply(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
