/** Writes core/embeddedAssets.generated.ts from the asset files (see core/projectAssets.ts). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectProjectAssets, embeddedAssetsModule } from '../core/projectAssets';

const assets = collectProjectAssets();
writeFileSync(path.join(__dirname, '..', 'core', 'embeddedAssets.generated.ts'), embeddedAssetsModule(assets));
process.stdout.write(`embedded ${Object.keys(assets).length} assets\n`);
