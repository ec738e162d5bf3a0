// Moves old history to the blob store now, with progress, instead of waiting for the store's
// own hourly run: full segments of messages older than the cut-off, from every permanent
// conversation; then takes out of the archive what retention has deleted. The history and the
// blob store are the ones the store's environment selects (MONGODB_URI or DATA_DIR/history.db;
// MINIO_ENDPOINT and ARCHIVE_BUCKET or DATA_DIR/archive). Safe while the store runs: a segment
// whose rows changed before its commit is dropped and taken again next time.
//
//   npm run archive [-- --data-dir DIR] [-- --older-than 30d] [-- --segment 1000]
import { parseArgs } from "node:util";
import { parseEnv, z } from "@messenger/config";
import { archiveEnv, archiveFromEnv, archiveOldHistory, collectArchive, historyEnv, historyRepositoryFromEnv, withArchivedReads } from "@messenger/store";

const { values } = parseArgs({ options: { "data-dir": { type: "string" }, "older-than": { type: "string" }, segment: { type: "string" } } });
const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function duration(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) throw new Error(`--older-than takes a duration such as 12h or 30d, not ${text}`);
  return Number(m[1]) * units[m[2]!]!;
}

try {
  const env = parseEnv(z.object({ DATA_DIR: z.string().min(1).default("./data"), ...historyEnv, ...archiveEnv }));
  const dataDir = values["data-dir"] ?? env.DATA_DIR;
  const archive = await archiveFromEnv(env, dataDir);
  const history = await historyRepositoryFromEnv(env, dataDir, { largeGroupThreshold: 256, onCommitted: () => undefined });
  const repo = withArchivedReads(history.repo, archive.blobs);
  const olderThanMs = values["older-than"] ? duration(values["older-than"]) : archive.settings.olderThanMs;
  const segmentMessages = values.segment ? Number(values.segment) : archive.settings.segmentMessages;
  if (!Number.isInteger(segmentMessages) || segmentMessages < 2) throw new Error("--segment takes a number of messages, at least 2");
  console.log(`archive: history ${history.describe} -> ${archive.describe}; messages older than ${olderThanMs / 86_400_000} days, segments of ${segmentMessages}`);
  const started = Date.now();
  let bytes = 0;
  let messages = 0;
  const run = await archiveOldHistory(repo, archive.blobs, {
    olderThanMs,
    segmentMessages,
    now: Date.now(),
    maxSegments: Number.MAX_SAFE_INTEGER,
    onSegment: (s) => {
      bytes += s.bytes;
      messages += s.count;
      console.log(`  ${s.conversationId} ${s.fromSeq}..${s.toSeq}: ${s.count} messages, ${(s.bytes / 1024).toFixed(1)} KiB (${messages} messages, ${(bytes / 1_048_576).toFixed(2)} MiB so far)`);
    },
  });
  const seconds = (Date.now() - started) / 1000;
  console.log(`archive: ${run.segments} segments, ${run.messages} messages, ${(run.bytes / 1_048_576).toFixed(2)} MiB in ${seconds.toFixed(1)} s${run.conflicts ? `; ${run.conflicts} changed while written (taken next time)` : ""}`);
  const collected = await collectArchive(repo, archive.blobs, { limit: 1_000 });
  console.log(`archive: retention's deletions taken out of the archive: ${collected.dropped} segments dropped, ${collected.rewritten} rewritten, ${collected.blobsDeleted} blobs deleted`);
  await history.repo.close();
  await archive.blobs.close();
} catch (err) {
  console.error(`archive: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
