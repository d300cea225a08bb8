import { join } from 'node:path';
import type { Logger } from 'pino';
import { startController } from '../controller/index.js';
import type { SandboxEnvironment } from './sandbox.js';
import { packageRoot } from './package-root.js';

/**
 * The controller as the sandbox runs it: one replica (no leader election), worker pods
 * run the agent from this package's build instead of copying it from an image.
 */
export async function startSandboxController(env: SandboxEnvironment, logger: Logger): Promise<{ stop(): Promise<void> }> {
  return startController({
    kc: env.kc,
    // nats.js takes a list, not a comma-joined string; workers get the string (the agent splits it).
    natsUrl: env.natsUrl.split(','),
    ...(env.natsAuth ? { natsUser: env.natsAuth.controllerUser, natsPassword: env.natsAuth.controllerPassword } : {}),
    logger: logger.child({ component: 'controller' }),
    settings: {
      // Signed jobs by default, so the sandbox runs the same protection as a cluster.
      jobSigner: env.jobSigner,
      natsUrlForWorkers: env.natsUrl,
      agentCommand: [process.execPath, join(packageRoot, 'bin', 'visionq.js'), 'agent'],
      ...(env.natsAuth ? { workerNatsUserSecret: env.natsAuth.workerSecret } : {}),
    },
  });
}
