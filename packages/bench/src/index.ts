export { renderComparison, renderTable, type CompareMetric, type Figure } from "./report.js";
export { median, quantile } from "./stats.js";
export { formatSendCost, SendMeter, type MeteredResult, type SendCost } from "./send-meter.js";
