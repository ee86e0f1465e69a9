/**
 * The audit log. Device-safe parts (hashing, proof verification, checkpoint notes) are
 * usable anywhere; the durable log and `verifyAuditLog` need a store.
 */
export type { AuditEventInput, AuditReceipt, AuditSink, NoteSigner } from './types.ts';
export { HASH_SIZE, emptyRoot, hashLeaf, hashChildren, rootFromInclusionProof, verifyInclusion, verifyConsistency } from './merkle.ts';
export { MerkleTree } from './tree.ts';
export { formatCheckpoint, signCheckpoint, openCheckpoint, signNote, openNote, type Checkpoint, type CheckpointInput, type OpenCheckpointOptions } from './checkpoint.ts';
export { ed25519KeyId, encodeVerifierKey, parseVerifierKey, isValidKeyName, type NoteVerifierKey } from './note-signer.ts';
export { leafBytes, LEAF_VERSION, type StoredEvent } from './leaf.ts';
export { AuditLog, type AuditLogOptions, type StoredCheckpoint, type AuditEventRecord } from './log.ts';
export { verifyAuditLog, type VerifyReport, type VerifyOptions, type Problem, type ProblemKind } from './verify.ts';
