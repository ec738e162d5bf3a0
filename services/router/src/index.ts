export { createRouterApp, defaultRouterSettings, type RouterApp, type RouterDeps, type RouterSettings } from "./app.js";
export { typingTtlMs } from "./domain/typing.js";
