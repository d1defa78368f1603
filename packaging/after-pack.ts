// afterPack is electron-builder's afterPack hook (electron-builder.yml), compiled to
// dist/packaging/after-pack.js: it stages the helper into the packed app's resources/helper/
// and the browser fallback that `warren ui` runs into resources/web-ui/ before the app is
// signed, so their code is signed and notarised with the app.
import { join } from 'node:path';
import { stageHelper } from './stage-helper.js';
import { stageWebUi } from './stage-web-ui.js';

/** PackContext is the part of electron-builder's AfterPackContext this hook uses. */
export interface PackContext {
  appOutDir: string;
  electronPlatformName: string;
  packager: { projectDir: string; getResourcesDir(appOutDir: string): string };
}

/** afterPack stages the helper and the web UI; a failure fails the build with the reason. */
export async function afterPack(context: PackContext): Promise<void> {
  const resources = context.packager.getResourcesDir(context.appOutDir);
  const helperDir = join(resources, 'helper');
  const r = stageHelper({ projectDir: context.packager.projectDir, helperDir, platform: context.electronPlatformName });
  console.log(`  • staged the Warren helper  dir=${helperDir} files=${r.files} packages=${r.packages.join(',')}`);
  const webUiDir = join(resources, 'web-ui');
  const files = stageWebUi({ projectDir: context.packager.projectDir, webUiDir });
  console.log(`  • staged the Warren web UI  dir=${webUiDir} files=${files}`);
}

export default afterPack;
