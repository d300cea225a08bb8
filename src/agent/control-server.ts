import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { controlSubject } from '../queue/subjects.js';

/** What the control protocol asks of the agent. Replies are sent as JSON. */
export interface ControlHandler {
  /** Stops job `jobUid` and resolves once it is settled. */
  cancel(jobUid: string): Promise<unknown>;
  drain(): Promise<unknown>;
  status(): unknown;
}

/**
 * The agent's side of the control protocol: request/reply on
 * `visionq.control.<namespace>.<pod>.<verb>` (cancel, drain, status). Decodes requests, routes
 * them to the handler and answers every one, errors included, so the controller never waits
 * for its timeout on a live agent.
 */
export class ControlServer {
  private sub?: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly namespace: string,
    private readonly pool: string,
    private readonly pod: string,
    private readonly handler: ControlHandler,
  ) {}

  /** Subscribes; the caller flushes so the server has registered it before relying on it. */
  start(): void {
    this.sub = this.nc.subscribe(controlSubject(this.namespace, this.pool, this.pod, 'status').replace(/\.status$/, '.*'), {
      callback: (err, msg) => {
        if (err) return;
        void this.handle(msg.subject.split('.').pop() ?? '', msg.data).then(
          (reply) => msg.respond(JSON.stringify(reply)),
          (e: Error) => msg.respond(JSON.stringify({ ok: false, error: e.message })),
        );
      },
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  /** One request: `verb` is the subject's last token, `data` its JSON body (may be empty). */
  async handle(verb: string, data: Uint8Array): Promise<unknown> {
    let body: Record<string, unknown> = {};
    try {
      body = data.length ? (JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>) : {};
    } catch {
      return { ok: false, error: 'body is not JSON' };
    }
    switch (verb) {
      case 'cancel':
        return this.handler.cancel(String(body.jobUid ?? ''));
      case 'drain':
        return this.handler.drain();
      case 'status':
        return this.handler.status();
      default:
        return { ok: false, error: `unknown control verb ${verb}` };
    }
  }
}
