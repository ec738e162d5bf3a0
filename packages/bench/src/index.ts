export { renderTable, type Figure } from "./report.js";
export { median, quantile } from "./stats.js";
