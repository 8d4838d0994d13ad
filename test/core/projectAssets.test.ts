import { readFileSync } from 'node:fs';
import path from 'node:path';
import { collectProjectAssets, embeddedAssetsModule, listProjectAssets, readProjectAsset } from '../../core/projectAssets';
import { EMBEDDED_ASSETS } from '../../core/embeddedAssets.generated';

describe('project assets', () => {
  it('the embedded copies (what a Lambda bundle reads) equal the files: run npm run embed-assets after editing a .lua, .avsc or the default rules', () => {
    const generated = readFileSync(path.join(__dirname, '../../core/embeddedAssets.generated.ts'), 'utf8');
    expect(generated).toBe(embeddedAssetsModule(collectProjectAssets()));
    expect(Object.keys(EMBEDDED_ASSETS)).toEqual(expect.arrayContaining(['runtime/redis/scripts/includes/comparePositions.lua', 'schemas/avro/EnrichedReading.avsc', 'processors/alerts/default-rules.yaml']));
  });

  it('reads the source tree from disk', () => {
    expect(readProjectAsset('schemas/avro/TelemetryReading.avsc')).toBe(readFileSync(path.join(__dirname, '../../schemas/avro/TelemetryReading.avsc'), 'utf8'));
    expect(listProjectAssets('runtime/redis/scripts')).toContain('includes');
  });
});
