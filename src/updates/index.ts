/** Signed software and data delivery with TUF (docs/updates.md). Server side; the device side is ./client.ts. */
export { Updates, type UpdateActor, type RepoView, type PublishedTarget, type ReleaseView, type RootDraftView, type DelegationDraft, type UpdatesDeps } from './repository.ts';
export { type UpdateSettings } from './engine.ts';
export { InstallReports, pkiDeviceKeys, staticDeviceKeys, type DeviceDirectory, type DeviceKeys, type InstalledVersion } from './reports.ts';
export { UpdateRefresher } from './refresher.ts';
export { signRootDraft, generateOfflineKey, describeRootDraft, parseDelegationDraft, describeDelegationDraft, signDelegationDraft, mergeSignedFiles, type DelegationDraftFile } from './ceremony.ts';
export { DeviceUpdateAgent, readJsonBundle, type UpdateAgentOptions, type AgentRun, type ApplyArtifact } from './agent.ts';
export { DeviceUpdater, reportBytes, type DeviceIdentity, type DeviceUpdaterOptions, type InstalledArtifact, type ReportSigner, type InstallReport, type SignedReport, type Decision } from './client.ts';
export { TUF_KEY_TYPES, keyId, parseTufKey, tufKeyFromSpki, tufKeyFromKeyObject, type TufKeyType, type TufPublicKey } from './keys.ts';
export { SPEC_VERSION, canonicalBytes, parseMetadataFile, countValidSignatures, type Signed, type TufSignature, type RoleKeys } from './metadata.ts';
export { compareVersions, checkVersion, rolloutBucket, inRollout, targetPath, channelPath, imagePattern, REPO_ID, DEVICE_CLASS } from './names.ts';
export { parseChannel, type Channel, type ChannelRelease } from './channel.ts';
