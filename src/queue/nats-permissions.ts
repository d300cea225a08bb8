/**
 * NATS permissions by role, as static users in the nats-server config (`authorization { users }`).
 * A worker user is scoped to one pool: it can pull and ack only its pool's durable, read and
 * write the attempts KV, publish events of its namespace and answer control requests addressed to
 * its namespace. Everything else is refused by the server: allow lists are exhaustive (NATS
 * denies what no allow names), and the explicit deny lists repeat what matters most so a later
 * widening of an allow cannot reopen it (deny wins over allow in nats-server).
 */
import { ATTEMPTS_BUCKET, CONTROL_SUBJECT_PREFIX, EVENTS_SUBJECT_PREFIX, JOBS_STREAM, JOBS_SUBJECT_PREFIX, consumerName, subjectToken } from './subjects.js';

export interface SubjectPermission {
  allow: string[];
  deny: string[];
}

export interface NatsPermissions {
  publish: SubjectPermission;
  subscribe: SubjectPermission;
  /** Lets the user reply to requests it received (control requests) without a publish allow on `_INBOX.>`. */
  allowResponses: boolean;
}

export interface NatsUser {
  user: string;
  password: string;
  permissions?: NatsPermissions;
}

/**
 * Inbox prefix of a pool's agents. Pull deliveries and JetStream API replies go to the
 * requester's inbox; with the default `_INBOX.>` any user allowed to subscribe there could read
 * every pool's job payloads, so each pool gets its own inbox subtree.
 */
export function workerInboxPrefix(namespace: string, pool: string): string {
  return `_INBOX_visionq.${subjectToken(namespace)}.${subjectToken(pool)}`;
}

/** The user name of a pool's workers: `visionq-worker.<ns>.<pool>` (tokens as in subjects). */
export function workerUserName(namespace: string, pool: string): string {
  return `visionq-worker.${subjectToken(namespace)}.${subjectToken(pool)}`;
}

export function workerPermissions(namespace: string, pool: string): NatsPermissions {
  const ns = subjectToken(namespace);
  const durable = consumerName(namespace, pool);
  const kvStream = `KV_${ATTEMPTS_BUCKET}`;
  return {
    publish: {
      allow: [
        // jetstreamManager() and server-features probe the account
        '$JS.API.INFO',
        `$JS.API.CONSUMER.INFO.${JOBS_STREAM}.${durable}`,
        `$JS.API.CONSUMER.MSG.NEXT.${JOBS_STREAM}.${durable}`,
        `$JS.ACK.${JOBS_STREAM}.${durable}.>`,
        // attempts KV: open (stream info), get (direct or msg get), create/update (publish)
        `$JS.API.STREAM.INFO.${kvStream}`,
        `$JS.API.STREAM.MSG.GET.${kvStream}`,
        `$JS.API.DIRECT.GET.${kvStream}.>`,
        `$JS.API.DIRECT.GET.${kvStream}`,
        `$KV.${ATTEMPTS_BUCKET}.>`,
        `${EVENTS_SUBJECT_PREFIX}.${ns}.>`,
      ],
      deny: [
        `${JOBS_SUBJECT_PREFIX}.>`,
        '$JS.API.STREAM.CREATE.>',
        '$JS.API.STREAM.UPDATE.>',
        '$JS.API.STREAM.DELETE.>',
        '$JS.API.STREAM.PURGE.>',
        '$JS.API.STREAM.MSG.DELETE.>',
        '$JS.API.CONSUMER.CREATE.>',
        '$JS.API.CONSUMER.DURABLE.CREATE.>',
        '$JS.API.CONSUMER.DELETE.>',
      ],
    },
    subscribe: {
      allow: [`${workerInboxPrefix(namespace, pool)}.>`, `${CONTROL_SUBJECT_PREFIX}.${ns}.${subjectToken(pool)}.*.*`],
      deny: [`${JOBS_SUBJECT_PREFIX}.>`, '_INBOX.>'],
    },
    allowResponses: true,
  };
}

/** The controller manages streams, consumers and KV, publishes jobs and reads every event: no limits. */
export function controllerPermissions(): NatsPermissions {
  return { publish: { allow: ['>'], deny: [] }, subscribe: { allow: ['>'], deny: [] }, allowResponses: false };
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function list(items: string[]): string {
  return `[${items.map(quote).join(', ')}]`;
}

function renderPermissions(p: NatsPermissions, indent: string): string {
  const side = (name: string, s: SubjectPermission): string =>
    `${indent}  ${name} = { allow = ${list(s.allow)}${s.deny.length > 0 ? `, deny = ${list(s.deny)}` : ''} }\n`;
  return `{\n${side('publish', p.publish)}${side('subscribe', p.subscribe)}${p.allowResponses ? `${indent}  allow_responses = true\n` : ''}${indent}}`;
}

/** nats-server config text: `authorization { users = [...] }` (include it in or append it to a server config). */
export function renderAuthorization(users: NatsUser[]): string {
  const lines = users.map((u) => {
    const perms = u.permissions ? `, permissions = ${renderPermissions(u.permissions, '    ')}` : '';
    return `    { user = ${quote(u.user)}, password = ${quote(u.password)}${perms} }`;
  });
  return `authorization {\n  users = [\n${lines.join(',\n')}\n  ]\n}\n`;
}
