/** `visionq dashboard`: serves the web dashboard until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadKubeConfig } from '../kube/kube-clients.js';
import { startDashboardServer } from './dashboard-server.js';

const USAGE = `usage: visionq dashboard [--kubeconfig K] [--namespace NS | --all-namespaces]
                         [--port 8090] [--address 127.0.0.1] [--allow-cancel] [--log-level LEVEL]

Serves a live web view of WorkerPools and VisionJobs (read-only unless --allow-cancel).
Without --namespace it watches the kubeconfig context's namespace (default "default");
--all-namespaces watches every namespace.
`;

/** The command's flags (the chart test parses the Deployment's args with them). */
export const DASHBOARD_OPTIONS = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A', default: false },
  port: { type: 'string', default: '8090' },
  address: { type: 'string', default: '127.0.0.1' },
  'allow-cancel': { type: 'boolean', default: false },
  'log-level': { type: 'string', default: 'info' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function dashboardCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: DASHBOARD_OPTIONS, strict: true }));
  } catch (err) {
    process.stderr.write(`visionq dashboard: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`visionq dashboard: --port must be 0..65535, got "${values.port}"\n`);
    return 2;
  }
  if (values.namespace && values['all-namespaces']) {
    process.stderr.write('visionq dashboard: --namespace and --all-namespaces exclude each other\n');
    return 2;
  }
  const logger = pino({ level: values['log-level'] }, pino.destination(2));
  const kc = loadKubeConfig(values.kubeconfig);
  const namespace = values['all-namespaces'] ? undefined : (values.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default');
  const server = await startDashboardServer({ kc, namespace, port, address: values.address, allowCancel: values['allow-cancel'], logger });
  logger.info({ url: server.url, namespace: namespace ?? '(all)', allowCancel: values['allow-cancel'] }, 'dashboard listening');
  process.stdout.write(`visionq dashboard: ${server.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  return 0;
}
