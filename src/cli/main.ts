/**
 * The `visionq` command: one binary for the controller, the worker agent and the
 * local sandbox. Each subcommand lives in its own module and is loaded lazily so
 * that e.g. the agent does not pay for the sandbox's imports.
 */
export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage());
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`visionq: unknown command "${cmd}"\n\n${usage()}`);
      void rest;
      return 2;
  }
}

function usage(): string {
  return [
    'usage: visionq <command> [options]',
    '',
    'commands:',
    '  sandbox      run API server, nats-server, controller and simulated GPU nodes locally',
    '  controller   run the VisionJob/WorkerPool controller',
    '  agent        run the worker agent around an algorithm command',
    '',
  ].join('\n');
}
