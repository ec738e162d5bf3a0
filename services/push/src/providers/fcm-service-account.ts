import { readFileSync } from "node:fs";
import { z } from "@messenger/config";

const serviceAccountSchema = z.object({
  project_id: z.string().min(1),
  client_email: z.string().min(1),
  private_key: z.string().includes("PRIVATE KEY"),
  token_uri: z.string().url().default("https://oauth2.googleapis.com/token"),
});

/** The fields of a Google service account key file that FCM HTTP v1 needs. */
export type FcmServiceAccount = z.infer<typeof serviceAccountSchema>;

/** Raised when a service account key cannot be read or lacks a field; says which. */
export class ServiceAccountError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ServiceAccountError";
  }
}

/** A service account from its JSON text (as downloaded from the Firebase console). */
export function parseServiceAccount(json: string, from: string): FcmServiceAccount {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ServiceAccountError(`the FCM service account in ${from} is not JSON`, { cause: error });
  }
  const result = serviceAccountSchema.safeParse(value);
  if (!result.success) throw new ServiceAccountError(`the FCM service account in ${from}: ${result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return result.data;
}

/** A service account from a key file. */
export function readServiceAccount(path: string): FcmServiceAccount {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ServiceAccountError(`cannot read the FCM service account file ${path}`, { cause: error });
  }
  return parseServiceAccount(text, path);
}
