import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertCallbackUrl, checkCallbackUrl, type HostLookup } from '../../../shared/callbacks';
import { isGatewayError } from '../../../shared/errors';

/** A resolver answering from a table; no DNS traffic leaves the machine. */
function fakeLookup(answers: Record<string, string[]>): HostLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (host: string) => {
    calls.push(host);
    const addresses = answers[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

describe('checkCallbackUrl', () => {
  const refusedLiterals = [
    'http://127.0.0.1/hook',
    'http://127.1.2.3:8080/hook',
    'http://[::1]/hook',
    'http://10.0.0.5/hook',
    'http://172.16.3.4/hook',
    'http://192.168.0.10/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fc00::1]/hook',
    'http://[fd12:3456::1]/hook',
    'http://[fe80::1]/hook',
    'http://0.0.0.0/hook',
    'http://[::]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://2130706433/hook', // 127.0.0.1 as one decimal number
    'http://0x7f.1/hook', // 127.0.0.1 in hex shorthand
  ];
  for (const url of refusedLiterals) {
    it(`refuses ${url}`, async () => {
      const lookup = fakeLookup({});
      const result = await checkCallbackUrl(url, { lookup });
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.code, 'forbidden_address');
      assert.deepEqual(lookup.calls, [], 'IP literals are never sent to DNS');
    });
  }

  it('refuses a host name that resolves to loopback (real resolver, localhost)', async () => {
    const result = await checkCallbackUrl('http://localhost:9/hook');
    assert.deepEqual(result, {
      ok: false,
      code: 'forbidden_address',
      reason: 'host localhost resolves to a loopback address (the tenant policy does not allow private callbacks)',
    });
  });

  it('refuses when any one of several addresses is private (the connection could land there)', async () => {
    const lookup = fakeLookup({ 'mixed.example': ['93.184.216.34', '10.1.2.3'] });
    const result = await checkCallbackUrl('https://mixed.example/hook', { lookup });
    assert.deepEqual(result, {
      ok: false,
      code: 'forbidden_address',
      reason: 'host mixed.example resolves to a private address (the tenant policy does not allow private callbacks)',
    });
  });

  it('accepts public literal IPs without connecting to them', async () => {
    for (const [url, address, family] of [
      ['https://93.184.216.34/hook', '93.184.216.34', 4],
      ['http://[2606:2800:220:1:248:1893:25c8:1946]:8443/x', '2606:2800:220:1:248:1893:25c8:1946', 6],
    ] as const) {
      const result = await checkCallbackUrl(url, { lookup: fakeLookup({}) });
      assert.equal(result.ok, true, url);
      assert.equal(result.ok && result.address, address);
      assert.equal(result.ok && result.family, family);
    }
  });

  it('returns the first vetted address of a public name, to connect to', async () => {
    const lookup = fakeLookup({ 'hooks.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] });
    const result = await checkCallbackUrl('https://hooks.example/a?b=c', { lookup });
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.address, '93.184.216.34');
    assert.equal(result.ok && result.family, 4);
    assert.equal(result.ok && result.url.href, 'https://hooks.example/a?b=c');
    assert.deepEqual(lookup.calls, ['hooks.example']);
  });

  it('allows private and loopback addresses when the tenant policy says so', async () => {
    const result = await checkCallbackUrl('http://localhost:9/hook', { allowPrivate: true });
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.address, '127.0.0.1');
    assert.equal((await checkCallbackUrl('http://10.0.0.5/', { allowPrivate: true })).ok, true);
    assert.equal((await checkCallbackUrl('http://[fc00::1]/', { allowPrivate: true })).ok, true);
  });

  it('refuses metadata and unspecified addresses even when private ones are allowed', async () => {
    for (const url of ['http://169.254.169.254/', 'http://0.0.0.0:8080/', 'http://[fd00:ec2::254]/']) {
      const result = await checkCallbackUrl(url, { allowPrivate: true });
      assert.equal(result.ok, false, url);
      assert.equal(!result.ok && result.code, 'forbidden_address');
    }
  });

  it('refuses schemes other than http and https, and non-URLs', async () => {
    const cases: Array<[string, string]> = [
      ['ftp://93.184.216.34/x', 'unsupported_scheme'],
      ['file:///etc/passwd', 'unsupported_scheme'],
      ['gopher://93.184.216.34/', 'unsupported_scheme'],
      ['/relative/path', 'invalid_url'],
      ['not a url', 'invalid_url'],
      [`https://93.184.216.34/${'a'.repeat(2_100)}`, 'invalid_url'],
    ];
    for (const [url, code] of cases) {
      const result = await checkCallbackUrl(url, { lookup: fakeLookup({}) });
      assert.equal(!result.ok && result.code, code, url);
    }
  });

  it('refuses a name that does not resolve', async () => {
    const result = await checkCallbackUrl('https://nowhere.invalid/x', { lookup: fakeLookup({}) });
    assert.deepEqual(result, { ok: false, code: 'unresolvable', reason: 'host nowhere.invalid does not resolve (ENOTFOUND)' });
  });

  it('assertCallbackUrl: a 400 invalid_request naming callback_url, else the normalised URL', async () => {
    assert.equal(await assertCallbackUrl('HTTPS://93.184.216.34/Hook'), 'https://93.184.216.34/Hook');
    await assert.rejects(assertCallbackUrl('http://127.0.0.1/'), (error: unknown) => {
      assert.ok(isGatewayError(error));
      assert.equal(error.status, 400);
      assert.equal(error.code, 'invalid_request');
      assert.deepEqual(error.details, { param: 'callback_url', reason: 'forbidden_address' });
      assert.equal(error.message, 'callback_url refused: 127.0.0.1 is a loopback address (the tenant policy does not allow private callbacks)');
      return true;
    });
  });
});
