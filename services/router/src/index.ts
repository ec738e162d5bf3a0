export { createRouterApp, defaultRouterSettings, type RouterApp, type RouterDeps, type RouterSettings } from "./app.js";
