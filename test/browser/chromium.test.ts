import { chromium } from 'playwright-core';
import { chooseChromium } from './chromium';

/** A machine with no system Chromium still gets a browser: the one inside the npm package. */
describe('chooseChromium', () => {
  it('falls back to the Chromium shipped by @sparticuz/chromium when no system one exists', async () => {
    const choice = await chooseChromium(['/nonexistent/chromium', undefined]);
    expect(choice.source).toBe('npm');
    const browser = await chromium.launch({ executablePath: choice.executablePath, args: choice.args });
    try {
      const page = await browser.newPage();
      await page.setContent('<p id="p">ok</p>');
      expect(await page.textContent('#p')).toBe('ok');
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('prefers a system Chromium when one is there', async () => {
    const choice = await chooseChromium([process.execPath]);
    expect(choice).toMatchObject({ source: 'system', executablePath: process.execPath });
  });
});
