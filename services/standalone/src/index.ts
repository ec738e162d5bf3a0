export { startSystem, type RunningSystem } from "./system.js";
export { loadStandaloneConfig, standaloneEnv, type StandaloneConfig } from "./config.js";
