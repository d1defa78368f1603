// afterPack is electron-builder's afterPack hook (electron-builder.yml), compiled to
// dist/packaging/after-pack.js: it stages the helper into the packed app's resources/helper/
// before the app is signed, so the helper's code is signed and notarised with the app.
import { join } from 'node:path';
import { stageHelper } from './stage-helper.js';

/** PackContext is the part of electron-builder's AfterPackContext this hook uses. */
export interface PackContext {
  appOutDir: string;
  electronPlatformName: string;
  packager: { projectDir: string; getResourcesDir(appOutDir: string): string };
}

/** afterPack stages the helper; a failure fails the build with the reason. */
export async function afterPack(context: PackContext): Promise<void> {
  const helperDir = join(context.packager.getResourcesDir(context.appOutDir), 'helper');
  const r = stageHelper({ projectDir: context.packager.projectDir, helperDir, platform: context.electronPlatformName });
  console.log(`  • staged the Warren helper  dir=${helperDir} files=${r.files} packages=${r.packages.join(',')}`);
}

export default afterPack;
