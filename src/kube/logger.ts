import { pino, type Logger } from 'pino';

export type { Logger };

/** The default for components constructed without a logger (tests, libraries): say nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
