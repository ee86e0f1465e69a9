/** The device registry: input checks, lifecycle transitions, tenancy, bootstrap token rules. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rejectsWith } from '../vault/helpers.ts';
import { openPki } from '../pki/helpers.ts';

describe('the device registry', () => {
  it('refuses bad ids, types, sites and unknown tenants with specific codes and stores nothing', async (t) => {
    const { devices } = await openPki(t, {}, false);
    await rejectsWith(devices.register({ tenant: 'transit', id: 'Gate 1', type: 'gate', site: 'x' }, 't'), 'INPUT_INVALID');
    await rejectsWith(devices.register({ tenant: 'transit', id: 'gate-1', type: 'toaster', site: 'x' }, 't'), 'DEVICE_TYPE_UNKNOWN');
    await rejectsWith(devices.register({ tenant: 'transit', id: 'gate-1', type: 'gate', site: '' }, 't'), 'INPUT_INVALID');
    await rejectsWith(devices.register({ tenant: 'nowhere', id: 'gate-1', type: 'gate', site: 'x' }, 't'), 'TENANT_NOT_FOUND');
    await rejectsWith(devices.register({ tenant: 'transit', id: 'gate-1', type: 'gate', site: 'x', label: 5 }, 't'), 'INPUT_INVALID');
    assert.deepEqual(await devices.list(null), []);
  });

  it('lets two tenants use the same device id and keeps each one\'s devices to itself', async (t) => {
    const { devices } = await openPki(t, {}, false);
    await devices.register({ tenant: 'transit', id: 'm-1', type: 'meter', site: 'a' }, 't');
    await devices.register({ tenant: 'utility', id: 'm-1', type: 'meter', site: 'b' }, 't');
    await rejectsWith(devices.register({ tenant: 'utility', id: 'm-1', type: 'meter', site: 'b' }, 't'), 'DEVICE_EXISTS');
    assert.deepEqual((await devices.list('utility')).map((d) => `${d.tenant}/${d.id}`), ['utility/m-1']);
    assert.equal((await devices.list(null)).length, 2);
    await rejectsWith(devices.get('utility', 'transit', 'm-1'), 'DEVICE_NOT_FOUND');
    await rejectsWith(devices.setState('utility', 'transit', 'm-1', 'retired', 't'), 'DEVICE_NOT_FOUND');
    assert.equal((await devices.get('transit', 'transit', 'm-1')).state, 'pending');
  });

  it('follows the lifecycle: suspended and active go back and forth, compromised and retired are final', async (t) => {
    const { devices, audit } = await openPki(t, {}, false);
    await devices.register({ tenant: 'transit', id: 'r-1', type: 'reader', site: 'a' }, 't');
    assert.equal((await devices.setState(null, 'transit', 'r-1', 'active', 't')).state, 'active');
    assert.equal((await devices.setState(null, 'transit', 'r-1', 'suspended', 't')).state, 'suspended');
    assert.equal((await devices.setState(null, 'transit', 'r-1', 'active', 't')).state, 'active');
    await rejectsWith(devices.setState(null, 'transit', 'r-1', 'pending', 't'), 'DEVICE_STATE_INVALID');
    await rejectsWith(devices.setState(null, 'transit', 'r-1', 'broken', 't'), 'INPUT_INVALID');
    assert.equal((await devices.setState(null, 'transit', 'r-1', 'retired', 't')).state, 'retired');
    await rejectsWith(devices.setState(null, 'transit', 'r-1', 'active', 't'), 'DEVICE_STATE_INVALID');
    assert.equal(audit.actions().filter((a) => a === 'device.state').length, 4);
  });

  it('issues bootstrap tokens only for pending or active devices, within allowed lifetimes', async (t) => {
    const { devices, bootstrap } = await openPki(t, {}, false);
    await devices.register({ tenant: 'transit', id: 'r-1', type: 'reader', site: 'a' }, 't');
    await rejectsWith(bootstrap.create(null, 'transit', 'r-1', 't', 10), 'INPUT_INVALID');
    await rejectsWith(bootstrap.create('utility', 'transit', 'r-1', 't'), 'DEVICE_NOT_FOUND');
    const tok = await bootstrap.create(null, 'transit', 'r-1', 't', 600);
    assert.match(tok.token, /^ctb_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    await devices.setState(null, 'transit', 'r-1', 'compromised', 't');
    await rejectsWith(bootstrap.create(null, 'transit', 'r-1', 't'), 'DEVICE_NOT_ACTIVE');
    await rejectsWith(bootstrap.check(tok.token), 'DEVICE_NOT_ACTIVE');
  });
});
