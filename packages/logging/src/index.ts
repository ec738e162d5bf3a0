import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/**
 * Creates the structured JSON logger of a service. Every line carries the service name;
 * the level comes from LOG_LEVEL (default "info"), "silent" turns logging off.
 */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
