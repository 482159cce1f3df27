import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVersionLabel, versionLabelOf } from '../src/compose.js';

describe('versionLabelOf', () => {
  it('reads the label in list form and in map form', () => {
    expect(versionLabelOf({ services: { app: { deploy: { labels: ['a=b', 'coop-cloud.${STACK_NAME}.version=1.2.0+3.4'] } } } })).toEqual({ version: '1.2.0+3.4' });
    expect(versionLabelOf({ services: { app: { deploy: { labels: { 'coop-cloud.${STACK_NAME}.version': '1.2.0+3.4' } } } } })).toEqual({ version: '1.2.0+3.4' });
  });

  it('reports a missing label and conflicting labels', () => {
    expect(versionLabelOf({ services: { app: { image: 'x' } } })).toMatchObject({ version: null, problem: expect.stringMatching(/no coop-cloud/) });
    const two = { services: { a: { deploy: { labels: ['coop-cloud.${STACK_NAME}.version=1.0.0'] } }, b: { deploy: { labels: ['coop-cloud.${STACK_NAME}.version=2.0.0'] } } } };
    expect(versionLabelOf(two)).toMatchObject({ version: null, problem: expect.stringMatching(/conflicting/) });
  });
});

describe('readVersionLabel', () => {
  it('reports a compose file that does not parse, and a tree without one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-compose-'));
    expect(readVersionLabel(dir)).toMatchObject({ version: null, problem: expect.stringMatching(/no compose file/) });
    writeFileSync(path.join(dir, 'compose.yml'), 'services: [unclosed\n');
    expect(readVersionLabel(dir)).toMatchObject({ version: null, problem: expect.stringMatching(/compose\.yml does not parse/) });
  });
});
