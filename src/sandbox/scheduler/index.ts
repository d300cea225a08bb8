import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { componentLogger } from '../kubelet/logger.js';
import { Scheduler } from './scheduler.js';

export { unfitReasons, unschedulableMessage } from './node-fit.js';
export { podRequests } from './resources.js';

/** Starts the sandbox kube-scheduler (binds pods of `default-scheduler` or with no schedulerName). */
export async function startScheduler(opts: { kc: KubeConfig; logger?: Logger; schedulerName?: string }): Promise<{ stop(): Promise<void> }> {
  const scheduler = new Scheduler({ kc: opts.kc, logger: componentLogger(opts.logger, 'scheduler'), schedulerName: opts.schedulerName });
  await scheduler.start();
  return { stop: () => scheduler.stop() };
}
