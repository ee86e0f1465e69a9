/**
 * What other domains need from the audit log, kept apart from the log itself so that
 * domain modules take an AuditSink as a parameter and never import the store.
 */

/** One security-relevant action. Never put secrets, keys or personal data in clear here. */
export interface AuditEventInput {
  /** Who acted: a token id (`token:<id>`), a device (`device:<id>`), or `system`. */
  actor: string;
  /** The tenant the action belongs to; null for city-wide actions. */
  tenant: string | null;
  /** Dotted verb, e.g. `vault.key.create`, `pki.cert.revoke`, `tenant.create`. */
  action: string;
  /** What was acted on, e.g. a key id, a serial number, a tenant id. */
  subject: string;
  /** Extra facts, JSON-serialisable, small. */
  details?: Record<string, unknown>;
}

export interface AuditReceipt {
  /** 0-based leaf index of the event in the Merkle log. */
  index: number;
}

export interface AuditSink {
  /** Resolves only after the event is durably committed. */
  append(event: AuditEventInput): Promise<AuditReceipt>;
}

/**
 * Signs checkpoints (C2SP signed-note). The key vault provides one backed by a vault key;
 * until it is wired in, a process-local Ed25519 signer serves in tests.
 */
export interface NoteSigner {
  /** Key name as it appears on the signature line, e.g. `citytrust.local/audit`. */
  readonly name: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature (64 bytes) over the note text. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}
