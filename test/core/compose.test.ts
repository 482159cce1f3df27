import { describe, expect, it } from 'vitest';
import { versionLabelOf, versionLabelOfFiles } from '../../src/core/compose.js';

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

describe('versionLabelOfFiles', () => {
  it('reads the first compose file abra would use, and reports one that does not parse or none at all', () => {
    const label = (v: string) => `services:\n  app:\n    deploy:\n      labels: ["coop-cloud.\${STACK_NAME}.version=${v}"]\n`;
    expect(versionLabelOfFiles(new Map([['docker-compose.yml', label('2.0.0')], ['compose.yml', label('1.0.0')]]), 'x')).toEqual({ version: '1.0.0' });
    expect(versionLabelOfFiles(new Map(), '1.0.0 (abc)')).toMatchObject({ version: null, problem: expect.stringMatching(/no compose file .* in 1\.0\.0 \(abc\)/) });
    expect(versionLabelOfFiles(new Map([['compose.yml', 'services: [unclosed\n']]), 'x')).toMatchObject({ version: null, problem: expect.stringMatching(/compose\.yml does not parse/) });
  });
});
