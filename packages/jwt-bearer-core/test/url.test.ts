import { configuredUrl, isLoopbackHost } from '../src/trust/url';

describe('configuredUrl (DESIGN §9: https:, or http: to a loopback host only)', () => {
  it('accepts https: anywhere and http: to 127.0.0.0/8, [::1] and localhost', () => {
    for (const url of [
      'https://idp.example.com/jwks',
      'https://10.0.0.1/keys',
      'http://127.0.0.1:8080/jwks',
      'http://127.1.2.3/jwks',
      'http://[::1]:3000/jwks',
      'http://localhost/jwks',
      'http://LOCALHOST:9/x',
      'http://app.localhost/jwks',
    ]) {
      expect(configuredUrl(url, 'x').href).toBe(new URL(url).href);
    }
  });

  it('refuses http: to any other host, other schemes, non-URLs and credentials, with a TypeError naming the option', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['http://idp.example.com/jwks', /http: to idp\.example\.com is not loopback/],
      ['http://10.0.0.1/jwks', /not loopback/],
      ['http://127.0.0.1.nip.io/jwks', /not loopback/],
      ['http://[::ffff:7f00:1]/jwks', /not loopback/],
      ['ftp://idp.example.com/jwks', /scheme ftp: is not accepted/],
      ['file:///etc/jwks.json', /scheme file:/],
      ['not a url', /it is not a URL/],
      ['', /must be an https: URL/],
      [42, /must be an https: URL/],
      ['https://user:pass@idp.example.com/jwks', /must not carry credentials/],
    ];
    for (const [value, message] of cases) {
      expect(() => configuredUrl(value, 'clients[3].jwksUri')).toThrow(TypeError);
      expect(() => configuredUrl(value, 'clients[3].jwksUri')).toThrow(/option "clients\[3\]\.jwksUri"/);
      expect(() => configuredUrl(value, 'clients[3].jwksUri')).toThrow(message);
    }
  });

  it('isLoopbackHost reads the forms WHATWG URL normalises to 127.0.0.0/8', () => {
    expect(isLoopbackHost(new URL('http://2130706433/').hostname)).toBe(true);
    expect(isLoopbackHost(new URL('http://0x7f.1/').hostname)).toBe(true);
    expect(isLoopbackHost(new URL('http://128.0.0.1/').hostname)).toBe(false);
  });
});
