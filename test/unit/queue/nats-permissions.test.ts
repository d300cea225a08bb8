import { describe, expect, it } from 'vitest';
import { controllerPermissions, renderAuthorization, workerInboxPrefix, workerPermissions, workerUserName } from '../../../src/queue/nats-permissions.js';

describe('workerPermissions', () => {
  const p = workerPermissions('team.a', 'gpu');

  it('allows only its own pool durable and its own namespace events', () => {
    expect(p.publish.allow).toContain('$JS.API.CONSUMER.MSG.NEXT.VISIONQ_JOBS.visionq_team~a_gpu');
    expect(p.publish.allow).toContain('$JS.ACK.VISIONQ_JOBS.visionq_team~a_gpu.>');
    expect(p.publish.allow).toContain('visionq.events.team~a.>');
    expect(p.publish.allow.some((s) => s.includes('visionq_team~a_cpu'))).toBe(false);
    expect(p.publish.allow.some((s) => s.startsWith('visionq.jobs'))).toBe(false);
  });

  it('denies publishing jobs and managing streams or consumers', () => {
    expect(p.publish.deny).toEqual(expect.arrayContaining(['visionq.jobs.>', '$JS.API.STREAM.CREATE.>', '$JS.API.STREAM.DELETE.>', '$JS.API.CONSUMER.CREATE.>', '$JS.API.CONSUMER.DURABLE.CREATE.>', '$JS.API.CONSUMER.DELETE.>']));
  });

  it('subscribes only to its pool inbox and its namespace control subjects', () => {
    expect(p.subscribe.allow).toEqual([`${workerInboxPrefix('team.a', 'gpu')}.>`, 'visionq.control.team~a.gpu.*.*']);
    expect(p.subscribe.deny).toEqual(expect.arrayContaining(['visionq.jobs.>', '_INBOX.>']));
    expect(p.allowResponses).toBe(true);
  });

  it('gives two pools disjoint inboxes and user names', () => {
    expect(workerInboxPrefix('a', 'gpu')).not.toBe(workerInboxPrefix('a', 'cpu'));
    expect(workerUserName('a', 'gpu')).toBe('visionq-worker.a.gpu');
  });
});

describe('renderAuthorization', () => {
  it('renders users with quoted subjects, deny lists and allow_responses', () => {
    const text = renderAuthorization([
      { user: 'controller', password: 'c"p', permissions: controllerPermissions() },
      { user: workerUserName('a', 'gpu'), password: 'w', permissions: workerPermissions('a', 'gpu') },
    ]);
    expect(text).toMatch(/^authorization \{\n {2}users = \[\n/);
    expect(text).toContain('{ user = "controller", password = "c\\"p", permissions = {');
    expect(text).toContain('publish = { allow = [">"] }');
    expect(text).toContain('deny = ["visionq.jobs.>"');
    expect(text).toContain('"$JS.API.CONSUMER.MSG.NEXT.VISIONQ_JOBS.visionq_a_gpu"');
    expect(text.match(/allow_responses = true/g)).toHaveLength(1);
  });
});
