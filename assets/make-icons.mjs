#!/usr/bin/env node
// make-icons: draws Warren's tray and app icons from code (no downloaded art) and writes them
// as PNG next to this file: tray-<state>.png (16 px), tray-<state>@2x.png (32 px) for the
// states connected, connecting, disconnected, error, pending (waiting for an admin's approval)
// and problem (up, but refused by the coordinator or reporting a problem), and app.png (256 px). The mark is the
// same as src-renderer's Logo and app.svg: a burrow's arch over three mesh nodes, on a disc
// (tray, coloured by state) or a rounded square (app). Each pixel is 8x8-supersampled, so
// edges are smooth at every size. Run: node assets/make-icons.mjs
import { Buffer } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// Colours per state: green, amber, grey, red, violet, orange; white mark on top. Pending and
// problem differ from connected by hue and lightness both, so they read apart without colour
// vision too.
const STATES = {
  connected: [33, 163, 91],
  connecting: [232, 163, 23],
  disconnected: [128, 140, 155],
  error: [209, 52, 52],
  pending: [111, 76, 196],
  problem: [214, 96, 18],
};
const APP = [47, 125, 225];

// Shapes in a 24x24 design space (as in app.svg): coverage tests at one sample point.
const inDisc = (x, y) => (x - 12) ** 2 + (y - 12) ** 2 <= 11 ** 2;
function inRoundedSquare(x, y) {
  const r = 6;
  if (x < 1 || x > 23 || y < 1 || y > 23) return false;
  const cx = Math.min(Math.max(x, 1 + r), 23 - r);
  const cy = Math.min(Math.max(y, 1 + r), 23 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
function inMark(x, y) {
  // The arch: the upper half of a ring centred at (12,17), radius 7, 2 wide, round ends.
  const d = Math.hypot(x - 12, y - 17);
  if (y <= 17 && Math.abs(d - 7) <= 1) return true;
  for (const [ex, ey] of [
    [5, 17],
    [19, 17],
  ])
    if ((x - ex) ** 2 + (y - ey) ** 2 <= 1) return true;
  for (const [cx, cy] of [
    [8, 17],
    [16, 17],
    [12, 10],
  ])
    if ((x - cx) ** 2 + (y - cy) ** 2 <= 1.8 ** 2) return true;
  return false;
}

function render(size, background, inBackground) {
  const px = Buffer.alloc(size * size * 4);
  const S = 8;
  for (let py = 0; py < size; py++) {
    for (let qx = 0; qx < size; qx++) {
      let bg = 0;
      let mark = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const x = ((qx + (sx + 0.5) / S) / size) * 24;
          const y = ((py + (sy + 0.5) / S) / size) * 24;
          if (inBackground(x, y)) {
            bg++;
            if (inMark(x, y)) mark++;
          }
        }
      }
      const a = bg / (S * S);
      const m = bg === 0 ? 0 : mark / bg;
      const i = (py * size + qx) * 4;
      for (let c = 0; c < 3; c++) px[i + c] = Math.round(background[c] * (1 - m) + 255 * m);
      px[i + 3] = Math.round(a * 255);
    }
  }
  return png(size, size, px);
}

// png encodes RGBA pixels (PNG spec: signature, IHDR, one IDAT, IEND; filter 0 per row).
function png(w, h, rgba) {
  const rows = Buffer.alloc((w * 4 + 1) * h);
  for (let y = 0; y < h; y++) rgba.copy(rows, y * (w * 4 + 1) + 1, y * w * 4, (y + 1) * w * 4);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

for (const [state, colour] of Object.entries(STATES)) {
  writeFileSync(join(here, `tray-${state}.png`), render(16, colour, inDisc));
  writeFileSync(join(here, `tray-${state}@2x.png`), render(32, colour, inDisc));
}
writeFileSync(join(here, 'app.png'), render(256, APP, inRoundedSquare));
console.log(`make-icons: wrote tray-*.png, tray-*@2x.png and app.png in ${here}`);
