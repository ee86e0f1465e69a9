/**
 * Where a tap gets its randomness: ephemeral key pairs and nonces from the OS CSPRNG. Injectable
 * so that exactly one test can reproduce the published test vector (docs/tap-protocol.md §6);
 * nothing else should ever pass another source.
 */
import { generateEphemeralKeyPair, randomBytes, type KeyPair } from '../crypto/index.ts';

export interface TapRandomness {
  ephemeralKeyPair(): KeyPair;
  nonce(length: number): Uint8Array;
}

export const systemRandomness: TapRandomness = Object.freeze({
  ephemeralKeyPair: () => generateEphemeralKeyPair(),
  nonce: (length: number) => randomBytes(length),
});
