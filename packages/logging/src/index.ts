import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/**
 * Creates the structured JSON logger of a service. Every line carries the service name;
 * the level comes from LOG_LEVEL (default "info"), "silent" turns logging off.
 */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}

/**
 * A failure nothing handled ends the process visibly, logged as fatal with its cause,
 * instead of Node's bare stack trace or, for code that swallows, not at all; the
 * orchestrator restarts it.
 */
export function exitOnUnhandled(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on("unhandledRejection", (reason: unknown) => {
    log.fatal({ err: reason }, "unhandled promise rejection: exiting");
    exit(1);
  });
  process.on("uncaughtException", (err: Error) => {
    log.fatal({ err }, "uncaught exception: exiting");
    exit(1);
  });
}
