import { describe, expect, it } from "vitest";

describe("exitOnUnhandled", () => {
  it("ends the process with code 1 and a fatal log line naming the cause when a rejection goes unhandled", async () => {
    const { execFile } = await import("node:child_process");
    const script = `
      import { createLogger, exitOnUnhandled } from ${JSON.stringify(new URL("./index.ts", import.meta.url).pathname)};
      exitOnUnhandled(createLogger("crash-test", "info"));
      void Promise.reject(new Error("sweep exploded"));
      setTimeout(() => console.log("still running"), 2_000);
    `;
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], (_err, stdout) => resolve({ code: child.exitCode, stdout }));
    });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain("still running");
    const fatal = result.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } });
    expect(fatal).toMatchObject([{ level: 60, msg: "unhandled promise rejection: exiting", err: { message: "sweep exploded" } }]);
  });
});
