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

/**
 * Stops writing log lines, for a process whose output pipe's reader is gone. Without it, a
 * line still being written when the process exits makes pino's exit flush retry the broken
 * pipe forever (sonic-boom's flushSync sleeps and retries on every error but EAGAIN), and the
 * process never exits.
 */
export function dropLogOutput(log: Logger): void {
  const stream = (log as unknown as Record<symbol, { write: (line: string) => boolean; flushSync?: () => void } | undefined>)[pino.symbols.streamSym];
  if (!stream) return;
  stream.write = () => true;
  stream.flushSync = () => undefined;
}
