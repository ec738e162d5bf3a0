/** A stored account. */
export interface AccountRecord {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly passwordHash: string;
  readonly createdAt: number;
}

/** A stored refresh token (only its hash is kept). */
export interface RefreshTokenRecord {
  readonly tokenHash: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly expiresAt: number;
}

/** A registered device: from its first login until its logout. */
export interface DeviceRecord {
  readonly userId: string;
  readonly deviceId: string;
  readonly registeredAt: number;
}

/** How a refresh token comes: from a login (a new family) or by rotating the token just taken. */
export type RefreshTokenPut = { readonly newFamily: true; readonly now: number } | { readonly newFamily: false; readonly now: number; readonly replaces: string };

/** The accounts store port. */
export interface AccountRepository {
  /** Returns false when the username is taken. */
  insertUser(user: AccountRecord): Promise<boolean>;
  userByName(username: string): Promise<AccountRecord | undefined>;
  usersById(ids: readonly string[]): Promise<AccountRecord[]>;
  /**
   * Stores a device's new refresh token. A login (`newFamily`) revokes every token the device
   * held and registers the device when it is not registered (at `now`). A rotation names the
   * token it `replaces` (the one just taken) and keeps the used ones, so that their reuse is
   * recognised; it stores nothing and returns false when that token is gone (its family was
   * revoked, or the device logged out, since it was taken), so no revocation is outlived by
   * a rotation racing it.
   */
  putRefreshToken(record: RefreshTokenRecord, opts: RefreshTokenPut): Promise<boolean>;
  /**
   * Marks the token used and returns it ("fresh"); a token already used comes back "reused"
   * after every token of its device was revoked (RFC 9700 §4.14: a replayed refresh token
   * means it leaked, so the whole family goes). Undefined for an unknown token.
   */
  takeRefreshToken(tokenHash: string, now: number): Promise<{ readonly use: "fresh" | "reused"; readonly record: RefreshTokenRecord } | undefined>;
  /**
   * Revokes every token of the device and forgets it, its push registration included (one
   * transaction); nothing happens for an unknown one.
   */
  removeDevice(userId: string, deviceId: string): Promise<void>;
  /** The registered devices of the users, by user id then device id. */
  devicesOf(userIds: readonly string[]): Promise<DeviceRecord[]>;
  close(): Promise<void>;
}
