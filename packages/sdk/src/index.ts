export { MessengerClient, type MessengerClientOptions, type MessengerEvents, type ResumeState } from "./client.js";
export { ConversationOrder } from "./conversation-order.js";
export { backoffDelay } from "./backoff.js";
