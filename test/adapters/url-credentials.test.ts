// Credentials in a URL whose password holds an unencoded '@' (`https://bob:pa@ss-word@host/`): a URL
// parser, git and curl all take the LAST '@' of the authority as the end of the credentials, so the whole
// of `pa@ss-word` is the password. Masking and scrubbing must take the same end, or the tail of the
// password is shown (and a one-letter fragment would be scrubbed from every line instead).
import { describe, expect, it } from 'vitest';
import { registerUrlCredentials } from '../../src/adapters/secrets.js';
import { scrub } from '../../src/adapters/log.js';
import { refuseUnusableProxy, shownUrl } from '../../src/adapters/http-transport.js';
import { redact } from '../../src/adapters/git.js';

describe('a password with an unencoded @', () => {
  it('is masked whole in every URL a message shows', () => {
    expect(new URL('https://bob:pa@ss-word@git.example/x').password).toBe('pa%40ss-word');
    expect(shownUrl('https://bob:pa@ss-word@git.example/x')).toBe('https://***@git.example/x');
    expect(shownUrl('socks5://u:hunter@22@socks.example:1080')).toBe('socks5://***@socks.example:1080');
    // An '@' after the authority is not part of the credentials.
    expect(shownUrl('https://git.example/u@x')).toBe('https://git.example/u@x');
    expect(shownUrl('https://a:b@git.example/u@x')).toBe('https://***@git.example/u@x');
    // git's own messages, as the sweep repeats them.
    expect(redact("fatal: unable to access 'https://u:hunter@22@git.example/r.git/': 403, ask a@b"))
      .toBe("fatal: unable to access 'https://***@git.example/r.git/': 403, ask a@b");
    let said = '';
    try {
      refuseUnusableProxy({ ALL_PROXY: 'socks5://u:hunter@22@socks.example:1080' }, 'https://ci.example.org', 'the CI server');
    } catch (e) {
      said = (e as Error).message;
    }
    expect(said).toMatch(/^ALL_PROXY is not an http\(s\) proxy \(socks5:\/\/\*\*\*@socks\.example:1080\)/);
    expect(said).not.toContain('22@');
  });

  it('is registered whole, so scrubbing removes it (and not a fragment of it)', () => {
    registerUrlCredentials('https://bob:pa@ss-word@git.example/x');
    expect(scrub('fatal: unable to access https://bob:pa@ss-word@git.example/x')).toBe('fatal: unable to access https://bob:***@git.example/x');
    expect(scrub('pa@ss-word, ss-word')).toBe('***, ss-word');
    registerUrlCredentials('https://git.example/u@x-path-with-at');
    expect(scrub('https://git.example/u@x-path-with-at')).toBe('https://git.example/u@x-path-with-at');
  });
});
