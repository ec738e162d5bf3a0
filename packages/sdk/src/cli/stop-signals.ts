import { constants } from "node:os";

/** After a signal, how long leaving (closing the client, saving) may take before the process exits anyway. */
const graceMs = 3_000;
/** A second signal this soon is the first one relayed by a wrapper process (npm, tsx), not a second request. */
const repeatMs = 1_000;
const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Installed signal handling: `stopWith` acts as if the signal came (Ctrl-C read as a key in raw mode). */
export interface StopSignals {
  stopWith(signal: NodeJS.Signals): void;
  uninstall(): void;
}

/**
 * While installed, SIGINT, SIGTERM and SIGHUP ask `stop` to leave cleanly; the process exits
 * (128 + the signal's number) if that takes more than a few seconds or another signal comes,
 * so a signal always ends it, whatever hangs.
 */
export function handleStopSignals(stop: () => void): StopSignals {
  let first: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = 128 + (constants.signals[signal] ?? 0);
    const now = Date.now();
    if (first !== undefined) {
      if (now - first < repeatMs) return;
      process.exit(code);
    }
    first = now;
    setTimeout(() => process.exit(code), graceMs).unref();
    stop();
  };
  for (const s of signals) process.on(s, onSignal);
  return {
    stopWith: onSignal,
    uninstall() {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
