import { allowListed, checkDestination, classifyAddress, DestinationError, guardedLookup, parseAllowList, type Resolver } from '../../../shared/net/destination';

describe('classifyAddress', () => {
  it.each([
    // IPv4
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['192.169.0.1', 'public'],
    ['223.255.255.255', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'sharedAddressSpace'],
    ['100.127.255.255', 'sharedAddressSpace'],
    ['169.254.169.254', 'linkLocal'],
    ['168.63.129.16', 'platform'],
    ['168.63.129.17', 'public'],
    ['169.254.0.1', 'linkLocal'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    // IPv6
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['febf:ffff::1', 'linkLocal'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['100::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:a9fe:a9fe', 'linkLocal'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::169.254.169.254', 'linkLocal'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:c0a8:0101::1', 'private'],
    ['2002:0808:0808::1', 'public'],
    ['[::1]', 'loopback'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('throws for what is not an address', () => {
    expect(() => classifyAddress('example.com')).toThrow(TypeError);
  });
});

describe('checkDestination', () => {
  const strict = { allowPrivateNetworks: false };
  const open = { allowPrivateNetworks: true };
  const codeOf = (url: string, opts = strict) => {
    try {
      checkDestination(url, opts);
      return 'ok';
    } catch (err) {
      return err instanceof DestinationError ? err.code : 'other';
    }
  };

  it.each([
    ['https://hooks.example.com/credman', 'ok'],
    ['https://8.8.8.8/hook', 'ok'],
    ['https://[2606:4700:4700::1111]/hook', 'ok'],
    ['not a url', 'InvalidUrl'],
    ['/relative/path', 'InvalidUrl'],
    ['ftp://hooks.example.com/', 'SchemeNotAllowed'],
    ['file:///etc/passwd', 'SchemeNotAllowed'],
    ['javascript:alert(1)', 'SchemeNotAllowed'],
    ['http://hooks.example.com/', 'SchemeNotAllowed'],
    ['https://user:pass@hooks.example.com/', 'CredentialsInUrl'],
    ['https://user@hooks.example.com/', 'CredentialsInUrl'],
    ['https://169.254.169.254/latest/meta-data/', 'DestinationNotAllowed'],
    ['https://127.0.0.1/', 'DestinationNotAllowed'],
    ['https://2130706433/', 'DestinationNotAllowed'], // 127.0.0.1 as one number
    ['https://0x7f.1/', 'DestinationNotAllowed'],
    ['https://0/', 'DestinationNotAllowed'],
    ['https://10.1.2.3/', 'DestinationNotAllowed'],
    ['https://172.20.0.1/', 'DestinationNotAllowed'],
    ['https://192.168.0.10/', 'DestinationNotAllowed'],
    ['https://100.100.100.100/', 'DestinationNotAllowed'],
    ['https://[::1]/', 'DestinationNotAllowed'],
    ['https://[::ffff:127.0.0.1]/', 'DestinationNotAllowed'],
    ['https://[fe80::1]/', 'DestinationNotAllowed'],
    ['https://[fd00::1]/', 'DestinationNotAllowed'],
    ['https://localhost/', 'DestinationNotAllowed'],
    ['https://LOCALHOST./', 'DestinationNotAllowed'],
    ['https://api.localhost/', 'DestinationNotAllowed'],
  ])('%s → %s', (url, expected) => {
    expect(codeOf(url)).toBe(expected);
  });

  it('allows http, loopback and private addresses where private networks are allowed, but never credentials or other schemes', () => {
    expect(codeOf('http://127.0.0.1:8080/hook', open)).toBe('ok');
    expect(codeOf('http://localhost:8080/hook', open)).toBe('ok');
    expect(codeOf('https://10.0.0.5/hook', open)).toBe('ok');
    expect(codeOf('http://u:p@localhost/', open)).toBe('CredentialsInUrl');
    expect(codeOf('gopher://localhost/', open)).toBe('SchemeNotAllowed');
  });
});

describe('guardedLookup', () => {
  const lookupWith = (resolve: Resolver | undefined, allowPrivateNetworks: boolean, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((done) => {
      guardedLookup({ allowPrivateNetworks, resolve })('receiver.test', { all }, (err, address, family) => done({ err, address, family }));
    });
  const fixed =
    (...addresses: string[]): Resolver =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('answers with the checked public address, one or all', async () => {
    expect(await lookupWith(fixed('93.184.215.14'), false, false)).toEqual({ err: null, address: '93.184.215.14', family: 4 });
    expect((await lookupWith(fixed('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'), false, true)).address).toHaveLength(2);
  });

  it('refuses when any resolved address is not public', async () => {
    for (const r of [fixed('127.0.0.1'), fixed('93.184.215.14', '169.254.169.254'), fixed('::1'), fixed('10.0.0.7')]) {
      const { err } = await lookupWith(r, false, false);
      expect(err).toBeInstanceOf(DestinationError);
      expect((err as DestinationError).code).toBe('DestinationNotAllowed');
    }
  });

  it('lets private addresses through where private networks are allowed', async () => {
    expect((await lookupWith(fixed('127.0.0.1'), true, false)).address).toBe('127.0.0.1');
  });

  it('refuses localhost as the system resolver answers it (the rebinding case: a name resolving to loopback)', async () => {
    const { err } = await new Promise<{ err: NodeJS.ErrnoException | null }>((done) => {
      guardedLookup({ allowPrivateNetworks: false })('localhost', {}, (e) => done({ err: e }));
    });
    expect((err as DestinationError).code).toBe('DestinationNotAllowed');
  });
});

describe('allow-list (private identity providers)', () => {
  const allowList = parseAllowList(['Keycloak.Corp.Internal', '10.20.0.0/16', '127.0.0.1', 'fd00:1::/32']);
  const strict = { allowPrivateNetworks: false, allowList };
  const codeOf = (url: string) => {
    try {
      checkDestination(url, strict);
      return 'ok';
    } catch (err) {
      return err instanceof DestinationError ? err.code : 'other';
    }
  };

  it('parses host names, addresses and CIDR ranges, and refuses anything else naming the entry', () => {
    expect([...allowList.names]).toEqual(['keycloak.corp.internal']);
    expect(allowList.ranges).toHaveLength(3);
    for (const bad of ['10.0.0.0/33', '*.corp.internal', 'https://idp.corp', 'fd00::/129', '10.0.0.0/8/1', 'a_b.corp', '']) {
      expect(() => parseAllowList([bad])).toThrow(TypeError);
    }
  });

  it.each([
    ['http://keycloak.corp.internal:8080/realms/x/protocol/openid-connect/token', 'ok'], // named: http and any address allowed
    ['https://KEYCLOAK.corp.internal./token', 'ok'],
    ['https://10.20.3.4/token', 'ok'],
    ['http://127.0.0.1:4444/token', 'ok'],
    ['https://[::ffff:10.20.3.4]/token', 'ok'],
    ['https://[fd00:1:2::5]/token', 'ok'],
    ['https://other.corp.internal/token', 'ok'], // a name is judged by its addresses at connect time
    ['http://other.corp.internal/token', 'SchemeNotAllowed'],
    ['https://10.21.0.1/token', 'DestinationNotAllowed'],
    ['https://127.0.0.2/token', 'DestinationNotAllowed'],
    ['https://169.254.169.254/latest/meta-data/', 'DestinationNotAllowed'],
    ['https://[fd00:2::1]/token', 'DestinationNotAllowed'],
    ['https://localhost/token', 'DestinationNotAllowed'],
    ['https://sub.keycloak.corp.internal/token', 'ok'], // not named: falls to the lookup, like any name
    ['https://u:p@keycloak.corp.internal/token', 'CredentialsInUrl'],
  ])('%s → %s', (url, expected) => {
    expect(codeOf(url)).toBe(expected);
  });

  it('knows which URL hosts it names', () => {
    expect(allowListed(allowList, 'keycloak.corp.internal')).toBe(true);
    expect(allowListed(allowList, '[fd00:1::9]')).toBe(true);
    expect(allowListed(allowList, 'sub.keycloak.corp.internal')).toBe(false);
    expect(allowListed(undefined, '127.0.0.1')).toBe(false);
  });

  const lookup = (hostname: string, ...addresses: string[]) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((done) => {
      const resolve: Resolver = async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      guardedLookup({ ...strict, resolve })(hostname, {}, (err, address) => done({ err, address }));
    });

  it('lets a named host resolve anywhere, and any name resolve into an allowed range, but nowhere else private', async () => {
    expect(await lookup('keycloak.corp.internal', '192.168.7.7')).toEqual({ err: null, address: '192.168.7.7' });
    expect(await lookup('idp.example', '10.20.9.9')).toEqual({ err: null, address: '10.20.9.9' });
    for (const addresses of [['127.0.0.2'], ['10.20.9.9', '169.254.169.254'], ['::1']]) {
      const { err } = await lookup('idp.example', ...addresses);
      expect((err as DestinationError).code).toBe('DestinationNotAllowed');
    }
  });
});
