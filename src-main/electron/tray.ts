// The tray icon: renders the TrayModel of tray-state.ts (icon, tooltip, menu) and reports the
// chosen action. All decisions live in tray-state.ts; this file only speaks Electron.
import { Menu, nativeImage, Tray, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import type { MenuItem, TrayAction, TrayIcon, TrayModel } from '../tray-state.js';

function template(items: MenuItem[], act: (a: TrayAction) => void): MenuItemConstructorOptions[] {
  return items.map((m): MenuItemConstructorOptions => {
    switch (m.type) {
      case 'label':
        return { label: m.label, enabled: false };
      case 'separator':
        return { type: 'separator' };
      case 'action':
        return { label: m.label, enabled: m.enabled, click: () => act(m.action) };
      case 'checkbox':
        return { label: m.label, type: 'checkbox', checked: m.checked, enabled: m.enabled, click: () => act(m.action) };
      case 'submenu':
        return { label: m.label, enabled: m.enabled, submenu: template(m.items, act) };
    }
  });
}

/** WarrenTray owns the Tray object. */
export class WarrenTray {
  private readonly tray: Tray;
  private icon: TrayIcon | null = null;

  constructor(
    private readonly assetsDir: string,
    private readonly act: (a: TrayAction) => void,
  ) {
    this.tray = new Tray(this.image('connecting'));
  }

  /** update shows a new model; the image is only reloaded when the icon changes. */
  update(model: TrayModel): void {
    if (model.icon !== this.icon) {
      this.icon = model.icon;
      this.tray.setImage(this.image(model.icon));
    }
    this.tray.setToolTip(model.tooltip);
    this.tray.setContextMenu(Menu.buildFromTemplate(template(model.menu, this.act)));
  }

  destroy(): void {
    this.tray.destroy();
  }

  // Electron picks tray-x@2x.png by itself on high-density screens.
  private image(icon: TrayIcon) {
    return nativeImage.createFromPath(join(this.assetsDir, `tray-${icon}.png`));
  }
}
