import { pino, type Logger } from 'pino';

/** The logger a component uses when the caller gives none: quiet unless LOG_LEVEL says otherwise. */
export function componentLogger(logger: Logger | undefined, component: string): Logger {
  return (logger ?? pino({ level: process.env.LOG_LEVEL ?? 'warn' })).child({ component });
}
