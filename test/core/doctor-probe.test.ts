// doctor's probe prints one marked JSON line from inside the harness environment: untrusted, so it is
// checked field by field; anything else is "no answer", never a cast.
import { describe, expect, it } from 'vitest';
import { parseProbe } from '../../src/core/doctor-probe.js';

const line = (v: unknown) => `noise\nCCCI_DOCTOR_PROBE ${JSON.stringify(v)}\n`;
const good = { commands: { abra: '/bin/abra', docker: null }, pythonWhich: '/usr/bin/python3', modules: { pytest: { path: '/p' }, x: { path: null, error: 'nope' } }, env: { HOME: '/h', ABRA_DIR: null } };

describe('parseProbe', () => {
  it('reads a well-formed answer (the last marked line)', () => {
    expect(parseProbe(line({ ...good, pythonWhich: null }) + line(good))).toEqual(good);
  });

  it('is null for no answer, bad JSON, or a field of the wrong shape', () => {
    expect(parseProbe('nothing here\n')).toBeNull();
    expect(parseProbe('CCCI_DOCTOR_PROBE {not json\n')).toBeNull();
    for (const bad of [
      null, [], { ...good, commands: [] }, { ...good, commands: { abra: 7 } }, { ...good, pythonWhich: 1 },
      { ...good, modules: { m: 'x' } }, { ...good, modules: { m: { path: 3 } } }, { ...good, modules: { m: { path: null, error: {} } } },
      { ...good, env: { HOME: false } }, { commands: {}, modules: {}, pythonWhich: null },
    ]) expect(parseProbe(line(bad))).toBeNull();
  });
});
