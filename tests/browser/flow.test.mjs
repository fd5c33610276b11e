// The dashboard and the hosted payment page in a real browser (Debian's Chromium, driven by
// playwright-core), against the real `webqris` binary on a loopback port with a temporary database and
// a real webhook receiver (a Node HTTP server here). One flow, as a merchant lives it:
// the operator set up with the one-time link the server prints → create a merchant → upload a photo of its QRIS → API token → webhook URL → an invoice
// created through the API → the customer opens the payment page → the forwarder posts the e-wallet
// notification → the page and the dashboard turn paid without a reload → the delivery with its attempts
// → redeliver. Every wait is on a page event, a selector or a request, under a timeout; nothing sleeps.
// Screenshots of each step go to test-output/browser/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";
import QRCode from "qrcode";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const SHOTS = path.join(ROOT, "test-output", "browser");
const BINARY = process.env.WEBQRIS_BIN || path.join(ROOT, "target", "debug", "webqris");
const CHROMIUM = process.env.WEBQRIS_CHROMIUM || "/usr/bin/chromium";
/** The longest any single wait may take. */
const WAIT = 20_000;
const PASSWORD = "kata-sandi-rahasia";

const work = mkdtempSync(path.join(tmpdir(), "webqris-browser-"));
const shots = [];
let server;
let receiver;
let context;

/** Resolves with `what` or fails after WAIT milliseconds, naming what was awaited. */
function within(what, promise, ms = WAIT) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The static QRIS of the shared corpus (tests/corpus/qris-vectors.tsv, row verssache-DANA). */
function corpusQris(name) {
  const rows = readFileSync(path.join(ROOT, "tests", "corpus", "qris-vectors.tsv"), "utf8").split("\n");
  const row = rows.map((line) => line.split("\t")).find((fields) => fields[1] === name);
  assert.ok(row, `corpus row ${name}`);
  return row[2];
}

/** `25042` → `25.042`, as e-wallet notifications write amounts. */
function rupiah(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
}

/** Starts `webqris serve` on 127.0.0.1:0 and learns the port from its "listening" log line, and the
 * one-time operator setup link it prints before that (the database is new: no operator yet). */
function startServer() {
  const child = spawn(BINARY, ["serve", "--listen", "127.0.0.1:0", "--db", path.join(work, "webqris.db")], {
    env: {
      PATH: process.env.PATH,
      WEBQRIS_LOG: "info",
      WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
      WEBQRIS_WEBHOOK_RETRY_SCHEDULE: "0.2,0.4",
      WEBQRIS_WEBHOOK_TIMEOUT_SECS: "5",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const listening = new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      log += chunk.toString();
      const match = log.match(/webqris listening addr=(127\.0\.0\.1:\d+)/);
      const setup = log.match(/create it at (http:\/\/\S+#setup=[A-Za-z0-9_-]+)/);
      if (match && setup) resolve({ url: `http://${match[1]}`, setupLink: setup[1] });
    });
    child.on("exit", (code) => reject(new Error(`webqris exited (${code}) before listening:\n${log}`)));
  });
  return within("the server to listen", listening).then(({ url, setupLink }) => ({ url, setupLink, child, exited, log: () => log }));
}

/** The merchant's webhook endpoint: records every request; answers the first payment.paid with 503. */
function startReceiver() {
  const requests = [];
  const waiters = [];
  let paidSeen = 0;
  const srv = http.createServer((req, res) => {
    if (req.method === "GET" && req.url.startsWith("/thanks")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("<!doctype html><title>Thanks</title><h1>Terima kasih</h1>");
      return;
    }
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let event = null;
      try { event = JSON.parse(body.toString()).event; } catch (_) { event = null; }
      const status = event === "payment.paid" && paidSeen++ === 0 ? 503 : 200;
      const record = { headers: req.headers, body, event, status };
      requests.push(record);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ received: true, status }));
      for (const w of waiters.splice(0)) w();
    });
  });
  /** Resolves once at least `n` requests satisfy `predicate`, with those requests. */
  const until = (what, n, predicate) => within(what, new Promise((resolve) => {
    const check = () => {
      const found = requests.filter(predicate);
      if (found.length >= n) resolve(found);
      else waiters.push(check);
    };
    check();
  }));
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => {
    const { port } = srv.address();
    resolve({
      url: `http://127.0.0.1:${port}`,
      requests,
      until,
      close: () => new Promise((done) => srv.close(done)),
    });
  }));
}

async function shot(page, name) {
  const file = path.join(SHOTS, `${String(shots.length + 1).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(path.relative(ROOT, file));
}

/** Fails the test on any console error or uncaught exception (a CSP violation shows up here too). */
function watchErrors(page, errors) {
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
}

before(async () => {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  receiver = await startReceiver();
  server = await startServer();
  context = await chromium.launchPersistentContext(path.join(work, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    locale: "id-ID",
    timezoneId: "Asia/Jakarta",
  });
  context.setDefaultTimeout(WAIT);
});

after(async () => {
  if (context) await context.close();
  if (server) {
    server.child.kill("SIGTERM");
    const { code, signal } = await within("the server to stop", server.exited);
    assert.ok(code === 0 || signal === "SIGTERM", `webqris stopped cleanly (code ${code}, signal ${signal})`);
  }
  if (receiver) await receiver.close();
  rmSync(work, { recursive: true, force: true });
  console.log(`screenshots (${shots.length}):\n  ${shots.join("\n  ")}`);
});

test("set up the operator, a merchant, and see a payment arrive live on the page and the dashboard", async () => {
  const errors = [];
  const page = await context.newPage();
  watchErrors(page, errors);
  const base = server.url;

  // Not logged in: the dashboard sends us to the login page, Indonesian by default.
  await page.goto(`${base}/dashboard`);
  await page.waitForURL(/\/dashboard\/login\?next=/);
  await page.locator("[data-test=login-form]").waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "id");
  await shot(page, "login");

  // Registration is off by default, and nobody becomes operator by coming first: the login page offers
  // no registration. The operator account is made with the one-time link the server printed.
  assert.equal(await page.locator("[data-test=register-tab]").count(), 0);
  await page.locator("[data-test=registration-closed]").waitFor();
  await page.goto("about:blank");
  await page.goto(server.setupLink);
  await page.locator("[data-test=login-form] h1", { hasText: "Buat akun operator" }).waitFor();
  await page.fill("[data-test=email]", "pemilik@example.com");
  await page.fill("[data-test=password]", PASSWORD);
  await page.click("[data-test=submit]");
  await page.waitForURL(`${base}/dashboard`);
  await page.locator("[data-test=account-email]", { hasText: "pemilik@example.com (operator)" }).waitFor();
  await page.locator("[data-test=live].on").waitFor();
  await shot(page, "registered");

  // A merchant whose name is hostile markup: it must show as text and never run.
  const name = '<img src=x onerror="window.__xss=1">Toko Playwright';
  await page.click("[data-test=nav-merchants]");
  await page.fill("[data-test=new-merchant-name]", name);
  await page.click("[data-test=create-merchant]");
  await page.locator("[data-test=secrets-once]").waitFor();
  const callbackSecret = await page.inputValue("[data-test=callback-secret]");
  assert.match(callbackSecret, /^wqcb_[A-Za-z0-9_-]{43}$/);
  assert.match(await page.textContent("[data-test=setup-link]"), /^webqris:\/\/setup\?server=http%3A%2F%2F127\.0\.0\.1%3A\d+&secret=wqcb_/);
  await page.locator("[data-test=merchant-row]", { hasText: name }).waitFor();
  assert.equal(await page.evaluate(() => window.__xss), undefined, "the markup in the name did not run");
  await shot(page, "merchant-created");

  // Upload a picture of the merchant's QRIS sticker; the server reads it and shows what it says.
  await page.click("[data-test=open-merchant]");
  await page.waitForURL(/\/dashboard\/merchants\/\d+$/);
  const merchantUrl = page.url();
  const staticQris = corpusQris("verssache-DANA");
  const picture = path.join(work, "qris-sticker.png");
  await QRCode.toFile(picture, staticQris, { errorCorrectionLevel: "M", margin: 4, scale: 8 });
  await page.setInputFiles("[data-test=qris-file]", picture);
  await page.locator("[data-test=qris-usable]").waitFor();
  assert.equal(await page.textContent("[data-test=qris-payload]"), staticQris);
  const read = await page.textContent("[data-test=qris-result]");
  for (const fact of ["Warung Sayur Bu Sugeng", "Kab. Demak", "ID1020017611473", "ID.DANA.WWW"]) {
    assert.ok(read.includes(fact), `the summary shows ${fact}: ${read}`);
  }
  await shot(page, "qris-read");
  await page.click("[data-test=qris-save]");
  await page.locator("[data-test=qris-current]", { hasText: "ID1020017611473" }).waitFor();
  await shot(page, "qris-saved");

  // An API token, shown once.
  await page.click("[data-test=create-token]");
  await page.locator("[data-test=new-token]").waitFor();
  const token = await page.inputValue("[data-test=new-token]");
  assert.match(token, /^wqk_/);
  await page.locator("[data-test=token-row]").first().waitFor();
  await shot(page, "api-token");

  // The webhook URL, and a signed test webhook whose answer is shown.
  await page.fill("[data-test=webhook-url]", `${receiver.url}/webhook`);
  await page.click("[data-test=save-webhook]");
  await page.locator(".toast", { hasText: "Tersimpan" }).waitFor();
  const webhookSecret = await page.inputValue("[data-test=webhook-secret]");
  await page.click("[data-test=test-webhook]");
  await page.locator("[data-test=test-status]", { hasText: "HTTP 200" }).waitFor();
  const [testEvent] = await receiver.until("the test webhook", 1, (r) => r.event === "webhook.test");
  assert.equal(
    testEvent.headers["x-webhook-signature"],
    createHmac("sha256", webhookSecret).update(testEvent.body).digest("hex"),
    "signed with the merchant's webhook secret",
  );
  await shot(page, "webhook-test");

  // The shop's backend creates an invoice through the API.
  const created = await within("create", fetch(`${base}/api/payments/qris/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ amount: 25000, merchant_order_id: "ORDER-PW-1", customer_name: "Budi", return_url: `${receiver.url}/thanks?order=ORDER-PW-1` }),
  }));
  assert.equal(created.status, 201);
  const invoice = await created.json();
  assert.match(invoice.payment_url, new RegExp(`^${base}/pay/[A-Za-z0-9_-]{43}$`));

  // The dashboard shows it (live), and its detail page waits for the money.
  await page.click("[data-test=nav-payments]");
  await page.locator(`[data-test=payment-row][data-invoice="${invoice.invoice_id}"]`).waitFor();
  await page.click(`[data-test=payment-row][data-invoice="${invoice.invoice_id}"]`);
  await page.locator("[data-test=status].pending").first().waitFor();
  await shot(page, "dashboard-pending");

  // The customer opens the payment page on a phone.
  const customer = await context.newPage();
  watchErrors(customer, errors);
  await customer.setViewportSize({ width: 390, height: 844 });
  await customer.goto(invoice.payment_url);
  await customer.locator('body[data-state="pending"]').waitFor();
  await customer.locator("img#qr").evaluate((img) => img.decode());
  const total = rupiah(invoice.total_amount);
  const shown = (await customer.textContent("#total")).trim();
  assert.equal(shown, `Rp${total}`, "the exact total");
  assert.equal(await customer.textContent("#total strong"), total.slice(-3), "the unique code emphasised");
  assert.match(await customer.textContent("#countdown"), /^(29|30):\d\d$/);
  assert.ok(!(await customer.content()).includes("Budi"), "no customer name on the public page");
  await shot(customer, "payment-page");
  await customer.click("#lang");
  await customer.locator("[data-i18n=transfer_exactly]", { hasText: "Transfer exactly" }).waitFor();
  await shot(customer, "payment-page-english");

  // Neither page may reload from here on: mark both.
  await page.evaluate(() => { window.__noReload = true; });
  await customer.evaluate(() => { window.__noReload = true; });

  // The forwarder app posts the e-wallet notification.
  const notified = await within("the notification", fetch(`${base}/api/webhook/payment`, {
    method: "POST",
    headers: { authorization: `Bearer ${callbackSecret}`, "content-type": "application/json" },
    body: JSON.stringify({
      app: "com.dana.id",
      title: "DANA",
      message: `Kamu berhasil menerima Rp${total} dari JOHN DOE`,
      timestamp: new Date().toISOString(),
      device_id: "pixel-7",
      notif_id: "1234567890",
    }),
  }));
  assert.equal(notified.status, 200);
  assert.equal((await notified.json()).invoice_id, invoice.invoice_id);

  // Both turn paid by themselves.
  await customer.locator('body[data-state="paid"]').waitFor();
  assert.equal(await customer.evaluate(() => window.__noReload), true, "the payment page did not reload");
  await shot(customer, "payment-page-paid");
  await page.locator("[data-test=status].paid").first().waitFor();
  assert.equal(await page.evaluate(() => window.__noReload), true, "the dashboard did not reload");
  await shot(page, "dashboard-paid");

  // The shop's return URL follows, as asked at create.
  await customer.waitForURL(`${receiver.url}/thanks?order=ORDER-PW-1`);
  await shot(customer, "returned-to-shop");

  // The webhook: refused once (503), retried, delivered; both attempts visible, live.
  const paid = await receiver.until("two payment.paid attempts", 2, (r) => r.event === "payment.paid");
  assert.deepEqual(paid.map((r) => r.status), [503, 200]);
  assert.equal(paid[0].headers["webhook-id"], paid[1].headers["webhook-id"], "one event, retried");
  for (const attempt of paid) {
    assert.equal(attempt.headers["x-webhook-signature"], createHmac("sha256", webhookSecret).update(attempt.body).digest("hex"));
  }
  const body = JSON.parse(paid[1].body.toString());
  assert.equal(body.data.invoice_id, invoice.invoice_id);
  assert.equal(body.data.payment_method, "com.dana.id");
  await page.locator('[data-test=delivery][data-status="delivered"]').waitFor();
  await page.locator("[data-test=attempt]").nth(1).waitFor();
  assert.equal(await page.locator("[data-test=attempt]").count(), 2);
  await shot(page, "delivery-attempts");

  // Redeliver: the same event again, a third attempt on the page.
  await page.click("[data-test=redeliver]");
  const again = await receiver.until("the redelivery", 3, (r) => r.event === "payment.paid");
  assert.equal(again[2].headers["webhook-id"], paid[0].headers["webhook-id"]);
  assert.deepEqual(again[2].body, paid[1].body, "the same bytes");
  await page.locator("[data-test=attempt]").nth(2).waitFor();
  assert.equal(await page.evaluate(() => window.__noReload), true);
  await shot(page, "redelivered");

  // English, and the notification inbox with the forwarded text.
  await page.click("[data-test=lang]");
  await page.locator("[data-test=nav-payments]", { hasText: "Payments" }).waitFor();
  await page.click("[data-test=nav-notifications]");
  await page.locator("[data-test=notification]", { hasText: "JOHN DOE" }).waitFor();
  await shot(page, "notifications-english");

  // A chat message claiming a pending total is refused (422) and shown in the inbox with its reason.
  const second = await within("a second invoice", fetch(`${base}/api/payments/qris/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ amount: 30000 }),
  }));
  const secondInvoice = await second.json();
  const post = (body) => within("a notification", fetch(`${base}/api/webhook/payment`, {
    method: "POST",
    headers: { authorization: `Bearer ${callbackSecret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  }));
  const spoof = await post({ app: "com.whatsapp", title: "Budi", category: "msg",
    message: `Rp${rupiah(secondInvoice.total_amount)} diterima DANA Bisnis.` });
  assert.equal(spoof.status, 422);
  assert.equal((await spoof.json()).reason, "untrusted_source");
  // A payment from an app with no verified wording is stored, not paid.
  const livinText = `Dana masuk Rp${rupiah(secondInvoice.total_amount)} dari SITI`;
  const livin = await post({ app: "id.bmri.livinmerchant", title: "Transaksi Berhasil", message: livinText });
  assert.equal(livin.status, 422);
  await page.reload();
  await page.locator('[data-test=trust-reason][data-reason="untrusted_source"]').waitFor();
  await page.locator('[data-test=trust-reason][data-reason="unverified_wording"]').waitFor();
  await shot(page, "inbox-untrusted");

  // The merchant trusts its own app's exact title, only after ticking the warning.
  await page.goto(merchantUrl);
  await page.locator("[data-test=trust-warning]").waitFor();
  await page.fill("[data-test=trusted-package]", "id.bmri.livinmerchant");
  await page.fill("[data-test=trusted-title-input]", "Transaksi Berhasil");
  await page.click("[data-test=add-trusted]");
  await page.locator("[data-test=trusted-acknowledge]:invalid").waitFor();
  assert.equal(await page.locator("[data-test=trusted-title]").count(), 0, "not trusted without the warning ticked");
  await page.check("[data-test=trusted-acknowledge]");
  await page.click("[data-test=add-trusted]");
  await page.locator("[data-test=trusted-title]", { hasText: "Transaksi Berhasil" }).waitFor();
  await shot(page, "trusted-source");

  // Reading the stored notifications again offers the Livin' payment; a person assigns it.
  await page.click("[data-test=nav-notifications]");
  await page.click("[data-test=find-offers]");
  await page.locator('[data-test=offer][data-trust="trusted"]', { hasText: "SITI" }).waitFor();
  await page.locator('[data-test=offer][data-trust="untrusted"]').waitFor();
  await shot(page, "offers");
  await page.locator('[data-test=offer][data-trust="trusted"] [data-test=assign-offer]').click();
  await page.locator(".toast", { hasText: secondInvoice.invoice_id }).first().waitFor();
  const status = await (await fetch(`${base}/api/payments/${secondInvoice.invoice_id}/status`, {
    headers: { authorization: `Bearer ${token}` },
  })).json();
  assert.equal(status.data.status, "paid");
  assert.equal(status.data.payment_method, "manual", "paid by a person, not by the re-read");

  // The sandbox: a test token made with the switch and marked in the list; its invoice is marked in the
  // answer and the payment list, and is paid by simulate only.
  await page.goto(merchantUrl);
  await page.check("[data-test=test-token]");
  await page.click("[data-test=create-token]");
  await page.locator('[data-test=token-row][data-sandbox="1"] [data-test=test-badge]').waitFor();
  assert.equal(await page.locator('[data-test=token-row][data-sandbox="0"] [data-test=test-badge]').count(), 0);
  const testToken = await page.inputValue("[data-test=new-token]");
  await shot(page, "sandbox-token");
  const testCreated = await within("a test invoice", fetch(`${base}/api/payments/qris/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${testToken}`, "content-type": "application/json" },
    body: JSON.stringify({ amount: 40000 }),
  }));
  const testInvoice = await testCreated.json();
  assert.equal(testInvoice.test, true);
  const simulated = await within("simulate", fetch(`${base}/api/payments/${testInvoice.invoice_id}/simulate`, {
    method: "POST",
    headers: { authorization: `Bearer ${testToken}` },
  }));
  assert.equal(simulated.status, 200);
  assert.equal((await simulated.json()).outcome, "paid");
  await page.click("[data-test=nav-payments]");
  const testRow = `[data-test=payment-row][data-invoice="${testInvoice.invoice_id}"]`;
  await page.locator(`${testRow} [data-test=test-badge]`).waitFor();
  await page.locator(`${testRow} [data-test=status].paid`).waitFor();
  await shot(page, "sandbox-payment");

  // On a phone the dashboard fits the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(merchantUrl);
  await page.locator("[data-test=merchant-title]").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
  await page.locator("[data-test=device-row]", { hasText: "pixel-7" }).waitFor();
  await shot(page, "merchant-on-phone");

  // Log out everywhere: another open tab notices by itself (its live feed ends) and shows the login page.
  await page.setViewportSize({ width: 1280, height: 900 });
  const other = await context.newPage();
  watchErrors(other, errors);
  await other.goto(`${base}/dashboard/payments`);
  await other.locator("[data-test=live].on").waitFor();
  page.once("dialog", (dialog) => dialog.accept());
  await page.click("[data-test=logout-all]");
  await page.waitForURL(/\/dashboard\/login/);
  await other.waitForURL(/\/dashboard\/login/);
  await other.locator("[data-test=login-form]").waitFor();
  await shot(other, "logged-out-everywhere");

  assert.deepEqual(errors, [], "no console errors, no CSP violations, no uncaught exceptions");
});
