/**
 * HTML reports of real runs, opened in Debian's headless Chromium: a
 * passing script with blocking calls, a failing one, and the
 * closing-backoff scenario. The page must open with no network request,
 * draw one ladder arrow per captured packet (counted independently from
 * the pcapng), highlight the failing line, and draw the socket-state
 * panels. Screenshots go to test-results/html-report/ for people to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readCaptureSync } from '../../src/evidence/pcap-reader.js';
import { ensureBuilt, FIXTURES, ROOT, tundrill, type CliResult } from '../helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const rootSkip = inject('integrationSkip');
const browserSkip = existsSync(CHROMIUM) ? null : `no ${CHROMIUM} (apt-get install -y chromium)`;
const skip = rootSkip ?? browserSkip;
if (skip) console.warn(`skipping HTML report browser tests: ${skip}`);

const SHOTS = join(ROOT, 'test-results', 'html-report');

type Browser = Awaited<ReturnType<typeof import('playwright-core')['chromium']['launchPersistentContext']>>;
type Page = Awaited<ReturnType<Browser['newPage']>>;

describe.skipIf(skip !== null)('HTML reports in Chromium', () => {
  let dir = '';
  let profile = '';
  let browser: Browser;
  const runs: Record<string, CliResult> = {};

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'tundrill-html-'));
    profile = mkdtempSync(join(tmpdir(), 'tundrill-chromium-'));
    mkdirSync(SHOTS, { recursive: true });
    runs.pass = await tundrill(['run', '--report', 'html', '--ip_version=ipv4', '--capture-dir', dir, join(FIXTURES, 'pass', 'blocking.pkt')]);
    runs.fail = await tundrill(['run', '--ip_version=ipv4', '--capture-dir', dir, join(FIXTURES, 'fail', 'wrong-option.pkt')]);
    runs.scenario = await tundrill(['run', '--capture-dir', dir, 'scenarios/closing-backoff.ts']);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: { width: 1280, height: 900 },
    });
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    for (const d of [dir, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** Open a report; fail on script errors and on any request that is not the file itself. */
  async function open(file: string): Promise<{ page: Page; ms: number; errors: string[]; requests: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('request', (r) => requests.push(r.url()));
    const started = performance.now();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    return { page, ms: performance.now() - started, errors, requests };
  }

  const capturedPackets = (stem: string): number => readCaptureSync(join(dir, `${stem}.pcapng`)).packets.length;

  it('a passing run: one arrow per captured packet, blocking calls as bars, nothing fetched', async () => {
    expect(runs.pass!.code, runs.pass!.stderr).toBe(0);
    const file = join(dir, 'blocking_ipv4.html');
    expect(runs.pass!.stdout).toContain(`report: ${file}`);
    const { page, ms, errors, requests } = await open(file);
    console.log(`blocking_ipv4.html: ${readFileSync(file).length} bytes, open ${ms.toFixed(0)} ms`);
    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${file}`]);
    expect(await page.textContent('#verdict')).toBe('PASS');
    await page.click('#zoom-all');
    const packets = capturedPackets('blocking_ipv4');
    expect(packets).toBeGreaterThanOrEqual(5);
    expect(await page.locator('svg.ladder .pkt').count()).toBe(packets);
    expect(await page.locator('svg.ladder .call.blocking').count()).toBe(2);
    expect(await page.locator('svg.seq .seg').count()).toBeGreaterThan(0);
    expect(await page.locator('table.script tr.failed').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'pass-blocking.png'), fullPage: true });
    await page.close();
  });

  it('a failing run: the failing line highlighted and the differing option named', async () => {
    expect(runs.fail!.code).toBe(1);
    const file = join(dir, 'wrong-option_ipv4.html');
    expect(existsSync(file)).toBe(true);
    const { page, errors } = await open(file);
    expect(errors).toEqual([]);
    expect(await page.textContent('#verdict')).toBe('FAIL');
    const failed = page.locator('table.script tr.failed');
    expect(await failed.count()).toBe(1);
    expect(await failed.getAttribute('id')).toBe('L8');
    expect(await failed.evaluate((tr) => getComputedStyle(tr).backgroundColor)).toBe('rgb(255, 214, 214)');
    expect(await page.textContent('#diff-summary')).toContain('option mss 1000 vs 1460');
    expect(await page.locator('#diff tr.differs').count()).toBeGreaterThanOrEqual(1);
    await page.click('#zoom-all');
    expect(await page.locator('svg.ladder .pkt').count()).toBe(capturedPackets('wrong-option_ipv4'));
    expect(await page.locator('svg.seq .ghost.failed').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'fail-wrong-option.png'), fullPage: false });
    await page.close();
  });

  it('the closing-backoff scenario: checks, retransmissions marked, socket-state panels drawn', async () => {
    expect(runs.scenario!.code, runs.scenario!.stdout + runs.scenario!.stderr).toBe(0);
    const file = join(dir, 'closing-backoff_ipv4.html');
    const { page, ms, errors, requests } = await open(file);
    console.log(`closing-backoff_ipv4.html: ${readFileSync(file).length} bytes, open ${ms.toFixed(0)} ms`);
    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${file}`]);
    expect(await page.locator('#checks td.ok').count()).toBeGreaterThanOrEqual(3);
    await page.click('#zoom-all');
    expect(await page.locator('svg.ladder .pkt').count()).toBe(capturedPackets('closing-backoff_ipv4'));
    expect(await page.locator('svg.ladder .pkt.rtx').count()).toBeGreaterThanOrEqual(2);
    // Panels: state bands, timer, rto/backoff, cwnd, srtt, ... each a uPlot with a drawn canvas.
    expect(await page.locator('#panels .uplot').count()).toBeGreaterThanOrEqual(5);
    const painted = await page.locator('#state-panel canvas').evaluate((c) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0 && !(d[i] === d[i + 1] && d[i + 1] === d[i + 2])) coloured++;
      return coloured;
    });
    expect(painted).toBeGreaterThan(1000);
    expect(await page.locator('table.rto tr').count()).toBeGreaterThanOrEqual(4);
    // One cursor for all: hovering the sequence graph moves the ladder's cursor line.
    const box = (await page.locator('svg.seq').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    expect(await page.locator('#ladder-cursor').count()).toBe(1);
    expect(await page.textContent('#cursor')).toMatch(/^cursor /);
    await page.click('#zoom-all');
    await page.locator('#time').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'scenario-closing-backoff.png'), fullPage: true });
    await page.close();
  });
});
