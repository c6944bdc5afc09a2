// Drives Debian's Chromium with playwright-core: opens the test page and runs it.
// Usage: node drive.mjs PAGE_URL WS_URL TOKEN PEER_IDENTITY WAV_PATH USER_DATA_DIR
import { chromium } from 'playwright-core';

const [pageUrl, wsUrl, token, peer, wav, userDataDir] = process.argv.slice(2);
const args = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  `--use-file-for-fake-audio-capture=${wav}`,
  '--autoplay-policy=no-user-gesture-required',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium', headless: true, args,
});
let result;
try {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (msg) => logs.push(msg.text()));
  await page.goto(pageUrl);
  try {
    result = await page.evaluate(([u, t, p]) => window.runTest(u, t, p), [wsUrl, token, peer]);
  } catch (err) {
    result = { error: String(err), logs: logs.slice(-30) };
  }
} finally {
  await context.close();
}
console.log(JSON.stringify(result));
