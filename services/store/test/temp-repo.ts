import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GroupChange } from "../src/domain/group-change.js";
import type { HistoryRepository } from "../src/storage/history-repository.js";
import { openSqliteHistoryRepository } from "../src/storage/sqlite-history-repository.js";

/** Fresh SQLite history files in one temp dir; `cleanup` closes them and removes the dir. */
export function tempRepos(prefix: string): { dir: string; open(name?: string): HistoryRepository; cleanup(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), `messenger-${prefix}-`));
  const opened: HistoryRepository[] = [];
  let n = 0;
  return {
    dir,
    open(name) {
      const repo = openSqliteHistoryRepository(join(dir, name ?? `h-${n++}.db`));
      opened.push(repo);
      return repo;
    },
    async cleanup() {
      await Promise.allSettled(opened.map((r) => r.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends and group changes against a repository, for the use-case tests. */
export function scenario(repo: HistoryRepository) {
  let clock = 1_000;
  const versions = new Map<string, number>();
  return {
    async send(conversationId: string, sender: string, text = "hi", device = "phone") {
      const [o] = await repo.append([
        { conversationId, senderUserId: sender, senderDeviceId: device, clientMessageId: `c${clock}`, body: { kind: "text", text }, replyToSeq: 0, clientSentAt: undefined, now: clock++ },
      ]);
      if (!o!.ok) throw new Error(o!.error);
      return o!.message;
    },
    async change(conversationId: string, actor: string, change: GroupChange) {
      const out = await repo.applyGroupChange({ conversationId, actorUserId: actor, expectedMemberVersion: versions.get(conversationId) ?? 0, change, now: clock++ });
      versions.set(conversationId, out.memberVersion);
      return out;
    },
    async group(id: string, owner: string, members: string[], title = "group") {
      return this.change(id, owner, { kind: "create", title, description: "", memberUserIds: members });
    },
  };
}
