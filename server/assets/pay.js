// The hosted payment page: language switch, countdown on the server's clock, live status over the
// page's WebSocket with polling as the fallback, and the return to the shop once paid. Every value
// comes from data- attributes and JSON and is written with textContent, never as HTML.
"use strict";

(function () {
  const TEXT = {
    id: {
      scan: "Pindai QRIS ini dengan aplikasi e-wallet atau mobile banking.",
      transfer_exactly: "Transfer tepat",
      includes_code: "Sudah termasuk kode unik",
      of_amount: "dari tagihan",
      exact_note: "Bayar persis sejumlah ini agar terkonfirmasi otomatis.",
      expires_in: "Berlaku selama",
      waiting: "Menunggu pembayaran…",
      waiting_poll: "Menunggu pembayaran… (diperiksa berkala)",
      paid_title: "Pembayaran diterima",
      paid_text: "Terima kasih! Pembayaran Anda sudah terkonfirmasi.",
      redirecting: "Kembali ke toko…",
      return_now: "Kembali sekarang",
      expired_title: "Waktu pembayaran habis",
      expired_text: "Tagihan ini sudah kedaluwarsa. Jangan membayar kode ini; buat pesanan baru di toko.",
      missing_title: "Tagihan tidak ditemukan",
      missing_text: "Periksa kembali tautan pembayaran Anda.",
      invoice: "Tagihan",
      switch: "EN",
      sandbox: "Tagihan uji coba (sandbox): jangan dibayar dengan uang sungguhan.",
    },
    en: {
      scan: "Scan this QRIS with your e-wallet or mobile banking app.",
      transfer_exactly: "Transfer exactly",
      includes_code: "Includes the unique code",
      of_amount: "on top of the bill of",
      exact_note: "Pay exactly this amount so that it is confirmed automatically.",
      expires_in: "Valid for",
      waiting: "Waiting for your payment…",
      waiting_poll: "Waiting for your payment… (checked periodically)",
      paid_title: "Payment received",
      paid_text: "Thank you! Your payment is confirmed.",
      redirecting: "Returning to the shop…",
      return_now: "Return now",
      expired_title: "Payment time is over",
      expired_text: "This bill has expired. Do not pay this code; place a new order at the shop.",
      missing_title: "Bill not found",
      missing_text: "Please check your payment link.",
      invoice: "Bill",
      switch: "ID",
      sandbox: "Test bill (sandbox): do not pay it with real money.",
    },
  };
  const RETURN_DELAY_MS = 3000;
  const POLL_MS = 4000;

  const body = document.body;
  const token = body.dataset.token;
  const expiresAt = Number(body.dataset.expiresAt);
  // The server's clock decides expiry; the phone's may be off by minutes.
  let offset = Number(body.dataset.serverNow) - Date.now();
  let returnUrl = body.dataset.returnUrl || "";
  let socket = null;
  let pollTimer = null;
  let tickTimer = null;
  let redirectTimer = null;

  function chosenLanguage() {
    const asked = new URLSearchParams(location.search).get("lang");
    if (asked === "en" || asked === "id") return asked;
    try {
      const stored = localStorage.getItem("webqris.lang");
      if (stored === "en" || stored === "id") return stored;
    } catch (_) { /* storage may be disabled */ }
    return "id";
  }

  let lang = chosenLanguage();

  function translate() {
    document.documentElement.lang = lang;
    const words = TEXT[lang];
    for (const el of document.querySelectorAll("[data-i18n]")) {
      const key = el.dataset.i18n;
      if (key === "waiting" && pollTimer) el.textContent = words.waiting_poll;
      else if (words[key]) el.textContent = words[key];
    }
    document.getElementById("lang").textContent = words.switch;
  }

  function two(n) { return String(n).padStart(2, "0"); }

  function tick() {
    if (body.dataset.state !== "pending") return;
    const left = Math.max(0, expiresAt - (Date.now() + offset));
    const secs = Math.floor(left / 1000);
    const h = Math.floor(secs / 3600);
    const text = (h > 0 ? h + ":" : "") + two(Math.floor((secs % 3600) / 60)) + ":" + two(secs % 60);
    document.getElementById("countdown").textContent = text;
    if (left === 0) {
      // Ask the server: a payment may have arrived at the last second.
      refresh();
    }
  }

  function safeReturnUrl(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : "";
    } catch (_) {
      return "";
    }
  }

  function show(state) {
    if (body.dataset.state === state) return;
    body.dataset.state = state;
    if (state !== "pending") {
      stopPolling();
      if (tickTimer) clearInterval(tickTimer);
    }
    if (state === "paid") {
      const url = safeReturnUrl(returnUrl);
      if (url) {
        const link = document.getElementById("return-link");
        link.href = url;
        document.getElementById("redirect").hidden = false;
        redirectTimer = setTimeout(() => location.assign(url), RETURN_DELAY_MS);
      }
    }
  }

  function apply(status) {
    if (!status || typeof status.status !== "string") return;
    if (status.server_time) offset = Date.parse(status.server_time) - Date.now();
    if (typeof status.return_url === "string") returnUrl = status.return_url;
    show(status.status);
  }

  async function refresh() {
    try {
      const response = await fetch("/pay/" + encodeURIComponent(token) + "/status", { cache: "no-store" });
      if (response.status === 404) { show("missing"); return; }
      if (response.ok) apply(await response.json());
    } catch (_) { /* offline for a moment: the next poll tries again */ }
  }

  function startPolling() {
    if (pollTimer || body.dataset.state !== "pending") return;
    pollTimer = setInterval(refresh, POLL_MS);
    translate();
    refresh();
  }

  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (!("WebSocket" in window)) { startPolling(); return; }
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    try {
      socket = new WebSocket(scheme + location.host + "/pay/" + encodeURIComponent(token) + "/ws");
    } catch (_) {
      startPolling();
      return;
    }
    socket.addEventListener("message", (event) => {
      try {
        const frame = JSON.parse(event.data);
        if (frame.event === "status") apply(frame.data);
      } catch (_) { /* "pong" and anything unexpected */ }
    });
    socket.addEventListener("close", () => {
      socket = null;
      if (body.dataset.state === "pending") startPolling();
    });
  }

  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "id" ? "en" : "id";
    try { localStorage.setItem("webqris.lang", lang); } catch (_) { /* ignore */ }
    translate();
  });

  translate();
  if (body.dataset.state === "pending") {
    tick();
    tickTimer = setInterval(tick, 1000);
    connect();
  } else if (body.dataset.state === "paid") {
    const state = body.dataset.state;
    body.dataset.state = "";
    show(state);
  }
  window.addEventListener("pagehide", () => {
    if (socket) socket.close();
    if (redirectTimer) clearTimeout(redirectTimer);
  });
})();
