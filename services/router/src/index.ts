export { createRouterApp, type RouterApp } from "./app.js";
export { typingTtlMs } from "./rpc/router-service.js";
