import type { PushRegistration, PushRegistrationInput } from "../domain/push-registration.js";

/**
 * A registration as flat stored fields, the same in both adapters: the address is the
 * endpoint or the token; fields a kind does not use are ''.
 */
export interface PushRegistrationFields {
  kind: string;
  address: string;
  p256dh: string;
  auth: string;
  environment: string;
}

export function fieldsOf(r: PushRegistrationInput): PushRegistrationFields {
  switch (r.kind) {
    case "web_push":
      return { kind: r.kind, address: r.endpoint, p256dh: r.p256dh, auth: r.auth, environment: "" };
    case "fcm":
      return { kind: r.kind, address: r.token, p256dh: "", auth: "", environment: "" };
    case "apns":
      return { kind: r.kind, address: r.token, p256dh: "", auth: "", environment: r.environment };
  }
}

/** The registration stored as `f`; throws on a kind this code does not know (the store may outlive it). */
export function registrationOf(f: PushRegistrationFields): PushRegistration {
  switch (f.kind) {
    case "web_push":
      return { kind: "web_push", endpoint: f.address, p256dh: f.p256dh, auth: f.auth };
    case "fcm":
      return { kind: "fcm", token: f.address };
    case "apns":
      return { kind: "apns", token: f.address, environment: f.environment === "sandbox" ? "sandbox" : "production" };
    default:
      throw new Error(`a push registration holds an unknown kind ${f.kind}`);
  }
}
