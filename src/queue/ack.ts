import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Ack operations addressed by a delivery's reply (ack) subject, so the controller can
 * act on a message it never received (re-queue a dead pod's job) and the agent can
 * retry an ack across reconnects (JsMsg's own methods only send once).
 *
 * Caveat (nats-server ≤ 2.10): the server applies an ack/nak to the stream sequence,
 * not to the exact delivery, so a NAK of an old delivery re-queues a newer one too.
 * Only NAK the subject of the attempt you know is current; the attempt claims in
 * VISIONQ_ATTEMPTS make the superseded runner stop if it happens anyway.
 */

const enc = new TextEncoder();

/** Re-queue at once (or after `delayMs`): what the controller does when a worker pod is gone. */
export function nakByAckSubject(nc: NatsConnection, ackSubject: string, delayMs?: number): void {
  assertAckSubject(ackSubject);
  nc.publish(ackSubject, nakPayload(delayMs));
}

/** Like nakByAckSubject but waits for the server's confirmation. */
export async function nakByAckSubjectConfirmed(nc: NatsConnection, ackSubject: string, delayMs?: number, timeoutMs = 5000): Promise<void> {
  assertAckSubject(ackSubject);
  await nc.request(ackSubject, nakPayload(delayMs), { timeout: timeoutMs });
}

export function workingByAckSubject(nc: NatsConnection, ackSubject: string): void {
  nc.publish(ackSubject, enc.encode('+WPI'));
}

/**
 * Terminates the message. nats-server 2.9 ignores a `+TERM <reason>` payload's reason
 * but understands it; still, we send plain `+TERM` unless the server supports reasons.
 */
export async function termByAckSubject(nc: NatsConnection, ackSubject: string, opts: { reason?: string; timeoutMs?: number } = {}): Promise<void> {
  const payload = opts.reason ? `+TERM ${opts.reason}` : '+TERM';
  await nc.request(ackSubject, enc.encode(payload), { timeout: opts.timeoutMs ?? 5000 });
}

/** Acks and waits for the server's confirmation (the equivalent of JsMsg.ackAck()). */
export async function ackAckByAckSubject(nc: NatsConnection, ackSubject: string, timeoutMs = 5000): Promise<void> {
  await nc.request(ackSubject, enc.encode('+ACK'), { timeout: timeoutMs });
}

export async function nakConfirmed(nc: NatsConnection, ackSubject: string, delayMs: number | undefined, timeoutMs = 5000): Promise<void> {
  await nc.request(ackSubject, nakPayload(delayMs), { timeout: timeoutMs });
}

function nakPayload(delayMs?: number): Uint8Array {
  if (!delayMs || delayMs <= 0) return enc.encode('-NAK');
  return enc.encode(`-NAK ${JSON.stringify({ delay: Math.round(delayMs) * 1_000_000 })}`);
}

function assertAckSubject(s: string): void {
  if (!s.startsWith('$JS.ACK.')) throw new Error(`not a JetStream ack subject: ${s}`);
}

/** Parses `$JS.ACK[.<domain>.<hash>].<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`. */
export function parseAckSubject(s: string): { stream: string; consumer: string; deliveryCount: number; streamSeq: number } | undefined {
  const t = s.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined;
  const off = t.length >= 12 ? 4 : 2;
  const [stream, consumer, dc, sseq] = t.slice(off, off + 4);
  if (!stream || !consumer) return undefined;
  return { stream, consumer, deliveryCount: Number(dc), streamSeq: Number(sseq) };
}
