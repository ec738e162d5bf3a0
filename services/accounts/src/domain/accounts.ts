import { createHash, randomBytes, randomUUID } from "node:crypto";
import { DomainError } from "@messenger/rpc/domain-error";
import type { IssuedToken, TokenIssuer } from "@messenger/auth";
import type { AccountRecord, AccountRepository, DeviceRecord } from "../storage/account-repository.js";

const usernamePattern = /^[a-z0-9_.-]{3,32}$/;
const deviceIdPattern = /^[A-Za-z0-9_.-]{1,64}$/;

/** Tokens of one device session. */
export interface DeviceTokens {
  readonly access: IssuedToken;
  readonly refreshToken: string;
}

/** Something an operator must see: a refresh token presented after it was used. */
export interface SecurityEvent {
  readonly event: "refresh_token_reuse";
  readonly userId: string;
  readonly deviceId: string;
}

/** Settings of the accounts use cases. */
export interface AccountsSettings {
  readonly scryptLogN: number;
  readonly refreshTokenTtlSeconds: number;
}

/**
 * Password hashing (PasswordHasher): bounded, so it may refuse (HashQueueFullError) or give
 * up when the caller does (`signal`).
 */
export interface PasswordHashing {
  hash(password: string, logN: number, signal?: AbortSignal): Promise<string>;
  verify(password: string, stored: string, signal?: AbortSignal): Promise<boolean>;
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/** Registration, login and token refresh. */
export class Accounts {
  /** Compared against when the username is unknown, so timing does not reveal which usernames exist. */
  private dummyHash: Promise<string>;

  constructor(
    private readonly repo: AccountRepository,
    private readonly issuer: TokenIssuer,
    private readonly passwords: PasswordHashing,
    private readonly settings: AccountsSettings,
    /** Told of what an operator must see (a refresh token replayed). */
    private readonly onSecurityEvent: (event: SecurityEvent) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.dummyHash = passwords.hash(randomUUID(), settings.scryptLogN);
    // Awaited by the first login of an unknown user; one that fails (the pool closed before
    // it ran) must not be an unhandled rejection meanwhile.
    this.dummyHash.catch(() => undefined);
  }

  async register(username: string, password: string, displayName: string, signal?: AbortSignal): Promise<AccountRecord> {
    if (!usernamePattern.test(username)) throw new DomainError("invalid_argument", "username must be 3 to 32 characters of a-z 0-9 _ . -");
    if (password.length < 8 || password.length > 256) throw new DomainError("invalid_argument", "password must be 8 to 256 characters");
    if (displayName.length > 64) throw new DomainError("invalid_argument", "display_name must be at most 64 characters");
    const user: AccountRecord = {
      id: `u_${randomUUID().replaceAll("-", "")}`,
      username,
      displayName: displayName || username,
      passwordHash: await this.passwords.hash(password, this.settings.scryptLogN, signal),
      createdAt: this.now(),
    };
    if (!(await this.repo.insertUser(user))) throw new DomainError("already_exists", `username ${username} is taken`);
    return user;
  }

  async login(username: string, password: string, deviceId: string, signal?: AbortSignal): Promise<{ user: AccountRecord; tokens: DeviceTokens }> {
    if (!deviceIdPattern.test(deviceId)) throw new DomainError("invalid_argument", "device_id must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
    const user = await this.repo.userByName(username);
    const ok = await this.passwords.verify(password, user?.passwordHash ?? (await this.dummyHash), signal);
    if (!user || !ok) throw new DomainError("unauthenticated", "invalid username or password");
    const tokens = await this.issue(user.id, deviceId, undefined);
    // A login starts a new family: nothing it depends on can have been revoked.
    if (!tokens) throw new Error("a login's refresh token was not stored");
    return { user, tokens };
  }

  /**
   * Trades a refresh token for new tokens, once. A token presented a second time means it
   * leaked (the rightful device or the thief already traded it): every token of that device
   * is revoked, so both must log in again, and the event is reported.
   */
  async refresh(refreshToken: string): Promise<DeviceTokens> {
    const taken = refreshToken ? await this.repo.takeRefreshToken(sha256(refreshToken), this.now()) : undefined;
    if (taken?.use === "reused") {
      this.onSecurityEvent({ event: "refresh_token_reuse", userId: taken.record.userId, deviceId: taken.record.deviceId });
      throw new DomainError("unauthenticated", "this refresh token was already used: the device's sessions are revoked, log in again");
    }
    if (!taken || taken.record.expiresAt <= this.now()) throw new DomainError("unauthenticated", "invalid or expired refresh token");
    const tokens = await this.issue(taken.record.userId, taken.record.deviceId, taken.record.tokenHash);
    // The family was revoked (a replay elsewhere, or a logout) after this token was taken.
    if (!tokens) throw new DomainError("unauthenticated", "this device's sessions were revoked: log in again");
    return tokens;
  }

  async lookup(username: string): Promise<AccountRecord> {
    const user = await this.repo.userByName(username);
    if (!user) throw new DomainError("not_found", `user ${username} not found`);
    return user;
  }

  async getUsers(ids: readonly string[]): Promise<AccountRecord[]> {
    if (ids.length > 500) throw new DomainError("invalid_argument", "at most 500 user ids");
    return this.repo.usersById(ids);
  }

  /** Ends the device's session: its refresh tokens stop working and the device is forgotten. */
  async logout(userId: string, deviceId: string): Promise<void> {
    await this.repo.removeDevice(userId, deviceId);
  }

  /** The registered devices of up to 1000 users. */
  async devices(userIds: readonly string[]): Promise<DeviceRecord[]> {
    if (userIds.length > 1000) throw new DomainError("invalid_argument", "at most 1000 user ids");
    return this.repo.devicesOf(userIds);
  }

  /**
   * New tokens for the device: a new family (a login) when `replaces` is undefined, else the
   * rotation of that token hash; undefined when the rotation found it revoked meanwhile.
   */
  private async issue(userId: string, deviceId: string, replaces: string | undefined): Promise<DeviceTokens | undefined> {
    const refreshToken = randomBytes(32).toString("base64url");
    const now = this.now();
    const stored = await this.repo.putRefreshToken(
      { tokenHash: sha256(refreshToken), userId, deviceId, expiresAt: now + this.settings.refreshTokenTtlSeconds * 1000 },
      replaces === undefined ? { newFamily: true, now } : { newFamily: false, now, replaces },
    );
    if (!stored) return undefined;
    return { access: await this.issuer.issue({ userId, deviceId }), refreshToken };
  }
}
