export { createStoreApp, defaultRetentionSweep, retentionSweepEnv, retentionSweepFromEnv, type RetentionSweepSettings, type StoreApp } from "./app.js";
export { openSqliteHistoryRepository } from "./storage/sqlite-history-repository.js";
export type { HistoryRepository } from "./storage/history-repository.js";
export { historyRepositoryContract } from "./storage/history-repository.contract.js";
export { retentionMetrics, storeWriteMetrics } from "./store-metrics.js";
export { listMessages } from "./domain/list-messages.js";
