export { renderComparison, renderTable, type CompareMetric, type Figure } from "./report.js";
export { median, quantile } from "./stats.js";
