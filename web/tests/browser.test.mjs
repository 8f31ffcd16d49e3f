// Browser tests of the tracking page and the ops map: headless Chromium (Debian's
// `chromium`) driven by playwright-core, against a whole running stack (order-api,
// order-grpc, courier-tracker, notifier, ...). `scripts/dev test` starts that stack on
// ports of its own and runs this file; screenshots go to web/test-results/screenshots.
//
// Environment (set by scripts/dev):
//   ORDERTRACK_WEB_TEST_API       order-api's base URL
//   ORDERTRACK_WEB_TEST_TRACKER   courier-tracker's base URL
//   ORDERTRACK_WEB_TEST_KEY       a storefront API key
//   ORDERTRACK_WEB_TEST_OPS_KEY   an ops key (the notifier's [ops] keys)
//   ORDERTRACK_WEB_TEST_ADMIN     the ordertrack-admin binary (signs courier tokens)
//   CHROMIUM                      the browser (default /usr/bin/chromium)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run these tests through scripts/dev test)`);
  return value;
};
const API = env('ORDERTRACK_WEB_TEST_API');
const TRACKER = env('ORDERTRACK_WEB_TEST_TRACKER');
const KEY = env('ORDERTRACK_WEB_TEST_KEY');
const OPS_KEY = env('ORDERTRACK_WEB_TEST_OPS_KEY');
const ADMIN = env('ORDERTRACK_WEB_TEST_ADMIN');
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'screenshots');
// Generous: the stack runs a debug build on a small machine. No test asserts on timings.
const WAIT = { timeout: 30000 };

const PICKUP = { address: 'Warehouse 1', lat: 55.7000, lon: 37.5800 };
const DESTINATION = { address: 'Tverskaya 1', lat: 55.7575, lon: 37.6136 };
// Courier positions far from both geofences, so the tracker moves no status by itself.
const ON_THE_WAY = [{ lat: 55.7300, lon: 37.6000 }, { lat: 55.7320, lon: 37.6020 }];

async function api(method, path, body) {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function createOrder() {
  return api('POST', '/orders', {
    store_order_number: `web-${randomUUID().slice(0, 12)}`,
    customer: { name: 'Browser Test', phone: '+79160000000', email: 'browser@example.com' },
    pickup: PICKUP,
    destination: DESTINATION,
    parcels: [{ weight_grams: 1000, length_cm: 20, width_cm: 20, height_cm: 20 }],
    delivery: { method: 'own_courier' },
  });
}

// Couriers belong to stores: the token names the store of the order the courier carries.
function courierToken(store, courier) {
  return execFileSync(ADMIN, ['courier-token', '--store', store, '--courier', courier, '--hours', '1'], { encoding: 'utf8' }).trim();
}

// Posts one position as a courier app would; `secondsAgo` spaces points in time so the
// tracker's speed filter sees a plausible move.
async function postPosition(courier, token, point, secondsAgo) {
  const recorded = new Date(Date.now() - secondsAgo * 1000).toISOString();
  const response = await fetch(`${TRACKER}/couriers/${courier}/locations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ points: [{ ...point, recorded_at: recorded, accuracy_m: 5, speed_mps: 8 }] }),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  assert.equal(answer.accepted, 1, JSON.stringify(answer));
}

const markerAt = (point) => `${point.lat.toFixed(5)},${point.lon.toFixed(5)}`;

let browser;
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});
after(async () => {
  if (browser) await browser.close();
});

// A phone-sized page that fails the test on any uncaught script error and on anything its
// Content-Security-Policy refused (the page must work under it, docs/security.md). Tiles
// cannot load here (no internet): those failed requests are expected and ignored.
async function openPage(t, url, viewport = { width: 390, height: 844 }, prepare = async () => {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await prepare(page);
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().includes('Content Security Policy')) errors.push(message.text());
  });
  t.after(async () => {
    await context.close();
    assert.deepEqual(errors, [], 'the page threw');
  });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return page;
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe('the tracking page', () => {
  test('shows the status, the timeline and the destination without tiles', async (t) => {
    const order = await createOrder();
    const page = await openPage(t, order.tracking.url);
    await page.locator('#status').filter({ hasText: 'Order received' }).waitFor(WAIT);
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    assert.equal(await page.locator('#timeline li').count(), 1);
    assert.equal(await page.locator('#timeline li').first().getAttribute('data-status'), 'created');
    // The destination marker is drawn by Leaflet on the plain background.
    assert.equal(await page.locator('#map path.leaflet-interactive').count() >= 1, true);
    assert.equal(await page.locator('#problem').isHidden(), true);
    // No personal data on the page.
    const text = await page.locator('body').innerText();
    for (const secret of ['Browser Test', '+79160000000', 'browser@example.com', 'Tverskaya']) {
      assert.ok(!text.includes(secret), `the page shows ${secret}`);
    }
    await shot(page, 'tracking-page-created');
  });

  test('a courier position posted to the tracker moves the marker, a status change updates the timeline, without reload', async (t) => {
    const order = await createOrder();
    const courier = `web-courier-${randomUUID().slice(0, 8)}`;
    const token = courierToken(order.store_id, courier);
    const page = await openPage(t, order.tracking.url);
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    // Proof that the page is never reloaded: a mark on the window survives only in place.
    await page.evaluate(() => { window.notReloaded = true; });

    await api('POST', `/orders/${order.id}/assign-courier`, { courier_id: courier });
    await page.locator('#status').filter({ hasText: 'Courier assigned' }).waitFor(WAIT);
    await page.locator('#timeline li[data-status="courier_assigned"]').waitFor(WAIT);

    await postPosition(courier, token, ON_THE_WAY[0], 30);
    await page.locator(`#map[data-courier="${markerAt(ON_THE_WAY[0])}"]`).waitFor(WAIT);
    await postPosition(courier, token, ON_THE_WAY[1], 0);
    await page.locator(`#map[data-courier="${markerAt(ON_THE_WAY[1])}"]`).waitFor(WAIT);
    await shot(page, 'tracking-page-courier-moving');

    await api('PATCH', `/orders/${order.id}/status`, { status: 'picked_up' });
    await page.locator('#timeline li[data-status="picked_up"]').waitFor(WAIT);
    await page.locator('#status').filter({ hasText: 'Picked up' }).waitFor(WAIT);
    assert.deepEqual(
      await page.locator('#timeline li').evaluateAll((items) => items.map((item) => item.dataset.status)),
      ['created', 'courier_assigned', 'picked_up'],
    );
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was reloaded');
    await shot(page, 'tracking-page-picked-up');
  });

  test('reconnects by itself and refetches what it missed', async (t) => {
    const order = await createOrder();
    const courier = `web-courier-${randomUUID().slice(0, 8)}`;
    // The page's socket to the notifier goes through this route, which can lose a message
    // (as a slow network or a notifier restart would) and cut or refuse the connection.
    const link = { sockets: 0, dropNextUpdate: false, dropped: 0, refuse: false, current: null };
    const page = await openPage(t, order.tracking.url, undefined, (page) =>
      page.routeWebSocket(/\/ws\?ticket=/, (socket) => {
        if (link.refuse) {
          socket.close({ code: 1013, reason: 'try again later' });
          return;
        }
        link.sockets += 1;
        link.current = socket;
        const server = socket.connectToServer();
        server.onMessage((message) => {
          if (link.dropNextUpdate && JSON.parse(message).type === 'update') {
            link.dropNextUpdate = false;
            link.dropped += 1;
            return;
          }
          socket.send(message);
        });
      }));
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    await page.evaluate(() => { window.notReloaded = true; });
    assert.equal(link.sockets, 1);

    // A lost update: the next message shows a gap in `seq`, and the page refetches.
    link.dropNextUpdate = true;
    await api('POST', `/orders/${order.id}/assign-courier`, { courier_id: courier });
    await api('PATCH', `/orders/${order.id}/status`, { status: 'picked_up' });
    await page.locator('#timeline li[data-status="picked_up"]').waitFor(WAIT);
    assert.equal(link.dropped, 1);
    assert.deepEqual(
      await page.locator('#timeline li').evaluateAll((items) => items.map((item) => item.dataset.status)),
      ['created', 'courier_assigned', 'picked_up'],
    );
    assert.ok(link.sockets >= 2, 'the page opened a new socket after the gap');

    // The connection drops and cannot come back for a while; meanwhile the order moves on.
    link.refuse = true;
    link.current.close({ code: 1012, reason: 'service restart' });
    await page.locator('#connection[data-state="offline"]').waitFor(WAIT);
    await api('PATCH', `/orders/${order.id}/status`, { status: 'in_transit' });
    const sockets = link.sockets;
    link.refuse = false;
    await page.locator('#status').filter({ hasText: 'On its way' }).waitFor(WAIT);
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    assert.ok(link.sockets > sockets, 'the page reconnected by itself');
    assert.deepEqual(
      await page.locator('#timeline li').evaluateAll((items) => items.map((item) => item.dataset.status)),
      ['created', 'courier_assigned', 'picked_up', 'in_transit'],
    );
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was reloaded');
    await shot(page, 'tracking-page-after-reconnect');
  });

  test('an unknown tracking link shows a clear message', async (t) => {
    const page = await openPage(t, `${API}/track/this-link-does-not-exist-0123456789`);
    const problem = page.locator('#problem');
    await problem.filter({ hasText: 'This tracking link does not exist' }).waitFor(WAIT);
    assert.equal(await page.locator('#summary').isHidden(), true);
    await shot(page, 'tracking-page-unknown-link');
  });
});

describe('the ops map', () => {
  test('lists active orders and couriers live and filters them by status', async (t) => {
    const waiting = await createOrder();
    const assigned = await createOrder();
    const courier = `web-courier-${randomUUID().slice(0, 8)}`;
    await api('POST', `/orders/${assigned.id}/assign-courier`, { courier_id: courier });
    const page = await openPage(t, `${API}/ops#key=${encodeURIComponent(OPS_KEY)}`, { width: 1280, height: 900 });
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    // The key left the address bar, and the key form is gone.
    assert.ok(!page.url().includes(OPS_KEY));
    assert.equal(await page.locator('#key-form').isHidden(), true);
    const row = (order) => page.locator(`#orders tr[data-order-id="${order.id}"]`);
    // The assignment reaches the notifier through Kafka: it may come after the snapshot.
    await page.locator(`#orders tr[data-order-id="${waiting.id}"][data-status="created"]`).waitFor(WAIT);
    await page.locator(`#orders tr[data-order-id="${assigned.id}"][data-status="courier_assigned"]`).waitFor(WAIT);

    // Live: a new order appears, and the courier shows up once it reports a position.
    const later = await createOrder();
    await row(later).waitFor(WAIT);
    await postPosition(courier, courierToken(assigned.store_id, courier), ON_THE_WAY[0], 0);
    await page.locator('#courier-count').filter({ hasNotText: /^0$/ }).waitFor(WAIT);

    // Filter: hide orders waiting for a courier.
    await page.locator('#filters input[data-status="created"]').uncheck();
    await row(waiting).waitFor({ state: 'detached', ...WAIT });
    assert.equal(await row(assigned).isVisible(), true);
    await shot(page, 'ops-map');
    await page.locator('#filters input[data-status="created"]').check();
    await row(waiting).waitFor(WAIT);

    // A final order leaves the map.
    await api('DELETE', `/orders/${waiting.id}`);
    await row(waiting).waitFor({ state: 'detached', ...WAIT });
  });

  test('a wrong ops key is refused with a clear message', async (t) => {
    const page = await openPage(t, `${API}/ops#key=not-the-ops-key-at-all`);
    await page.locator('#key-problem').filter({ hasText: 'refused' }).waitFor(WAIT);
    assert.equal(await page.locator('#board').isHidden(), true);
    assert.equal(await page.locator('#key-form').isVisible(), true);
    await shot(page, 'ops-map-wrong-key');
  });
});
