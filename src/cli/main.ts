/**
 * The `visionq` command: one binary for the controller, the worker agent and the
 * local sandbox. Subcommands are imported lazily so that e.g. the agent in a GPU pod
 * does not load the sandbox's API server.
 */
type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  sandbox: async () => (await import('../sandbox/sandbox-command.js')).sandboxCommand,
  controller: async () => (await import('../controller/index.js')).controllerCommand,
  agent: async () => (await import('../agent/agent-command.js')).agentCommand,
  dashboard: async () => (await import('../dashboard/dashboard-command.js')).dashboardCommand,
};

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`visionq: unknown command "${cmd}"\n\n${usage()}`);
    return 2;
  }
  return (await load())(rest);
}

function usage(): string {
  return [
    'usage: visionq <command> [options]',
    '',
    'commands:',
    '  sandbox      run API server, nats-server, controller and simulated GPU nodes locally',
    '  controller   run the VisionJob/WorkerPool controller',
    '  agent        run the worker agent around an algorithm command',
    '  dashboard    serve a live web view of pools and jobs',
    '',
    'Run `visionq <command> --help` for its options.',
    '',
  ].join('\n');
}
