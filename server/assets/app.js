// The webqris dashboard: a small single-page app over /dashboard/api, in plain JavaScript.
// Every piece of data is written with textContent or as an attribute value; nothing from the server is
// ever parsed as HTML. Indonesian by default, English on request; live updates over /ws.
"use strict";

(function () {
  // ---------------------------------------------------------------- words
  const TEXT = {
    id: {
      brand: "webqris",
      nav_payments: "Pembayaran",
      nav_merchants: "Merchant",
      nav_notifications: "Notifikasi",
      live_on: "Langsung",
      live_off: "Terputus",
      logout: "Keluar",
      logout_all: "Keluar dari semua perangkat",
      logout_all_confirm: "Keluar dari semua perangkat, termasuk yang ini?",
      lang_switch: "EN",
      login_title: "Masuk ke webqris",
      login: "Masuk",
      register: "Daftar",
      register_title: "Buat akun",
      email: "Email",
      password: "Kata sandi",
      password_hint: "Minimal 8 karakter.",
      registration_closed: "Pendaftaran ditutup di server ini. Minta akun kepada operatornya.",
      setup_title: "Buat akun operator",
      setup_note: "Akun ini menjadi operator: melihat semua merchant dan mengundang akun lain. Tautan ini hanya berlaku sekali.",
      invite_title: "Terima undangan",
      invite: "Undang akun",
      invite_shown: "Kirim tautan ini ke orang yang diundang (berlaku sekali, sampai {until}):",
      login_failed: "Email atau kata sandi salah.",
      too_many: "Terlalu banyak percobaan gagal. Coba lagi dalam {secs} detik.",
      loading: "Memuat…",
      error_generic: "Terjadi kesalahan. Coba lagi.",
      back: "Kembali",
      save: "Simpan",
      cancel: "Batal",
      copy: "Salin",
      copied: "Tersalin",
      apply: "Terapkan",
      load_more: "Muat lagi",
      none: "—",
      all: "Semua",
      yes: "ya",
      no: "tidak",
      // payments
      payments_title: "Pembayaran",
      status: "Status",
      status_pending: "menunggu",
      status_paid: "dibayar",
      status_expired: "kedaluwarsa",
      merchant: "Merchant",
      from: "Dari tanggal",
      to: "Sampai tanggal",
      search: "Cari invoice / order",
      search_placeholder: "INV-… atau ID order",
      no_payments: "Belum ada pembayaran.",
      invoice: "Invoice",
      order_id: "ID order",
      customer: "Pelanggan",
      amount: "Jumlah",
      unique_code: "Kode unik",
      total: "Total",
      method: "Metode",
      sender: "Pengirim",
      created: "Dibuat",
      expires: "Kedaluwarsa",
      paid_at: "Dibayar",
      payment_page: "Halaman pembayaran",
      open_page: "Buka halaman pembayaran",
      qris_payload: "Payload QRIS",
      confirm_title: "Konfirmasi manual",
      confirm_help: "Tandai lunas jika uangnya sudah masuk (misalnya terlihat di aplikasi bank). Webhook dikirim seperti pembayaran lain, dengan metode manual.",
      reason: "Alasan",
      reason_placeholder: "mis. bukti transfer dicek di aplikasi bank",
      confirm_button: "Tandai lunas",
      confirmed_by: "Dikonfirmasi manual oleh {who} pada {when}: {reason}",
      confirm_done: "Pembayaran ditandai lunas.",
      deliveries: "Pengiriman webhook",
      delivery_pending: "dalam proses",
      delivery_delivered: "terkirim",
      delivery_failed: "gagal",
      no_deliveries: "Tidak ada webhook untuk pembayaran ini (merchant belum punya URL webhook saat dibayar, atau belum dibayar).",
      attempt: "Percobaan",
      time: "Waktu",
      code: "Kode",
      duration: "Durasi",
      response: "Respons",
      error: "Galat",
      redeliver: "Kirim ulang",
      redelivered: "Webhook dijadwalkan ulang.",
      next_attempt: "Percobaan berikutnya: {when}",
      webhook_id: "ID webhook",
      body: "Isi",
      related_notifications: "Notifikasi terkait",
      // merchants
      merchants_title: "Merchant",
      new_merchant: "Merchant baru",
      merchant_name: "Nama merchant",
      create: "Buat",
      no_merchants: "Belum ada merchant. Buat satu untuk mulai.",
      owner: "Pemilik",
      no_owner: "(dibuat lewat CLI)",
      qris_set: "QRIS siap",
      qris_missing: "QRIS belum diatur",
      webhook_set: "Webhook diatur",
      webhook_missing: "Tanpa webhook",
      pending_count: "{n} menunggu",
      device_silent: "perangkat diam",
      secrets_once: "Simpan sekarang: rahasia ini hanya ditampilkan sekali.",
      callback_secret: "Secret callback",
      webhook_secret: "Secret webhook",
      setup_qr: "QR pengaturan forwarder",
      setup_qr_note: "Pindai dengan aplikasi forwarder webqris di ponsel merchant. QR ini hanya tampil sekarang karena secret disimpan dalam bentuk hash; buat secret baru untuk menampilkannya lagi.",
      open_merchant: "Buka pengaturan merchant",
      settings: "Pengaturan",
      rename: "Ganti nama",
      delete_merchant: "Hapus merchant",
      delete_confirm: "Hapus merchant ini beserta seluruh riwayatnya? Tindakan ini tidak dapat dibatalkan.",
      deleted: "Merchant dihapus.",
      saved: "Tersimpan.",
      qris_title: "QRIS statis",
      qris_current: "QRIS saat ini",
      qris_none: "Belum ada QRIS. Tempel payload atau unggah foto stiker QRIS.",
      qris_paste: "Tempel payload QRIS",
      qris_read: "Baca",
      qris_upload: "Atau unggah foto / tangkapan layar QRIS",
      qris_reading: "Membaca gambar…",
      qris_found: "Terbaca dari QR:",
      qris_check: "Periksa data di atas sebelum menyimpan.",
      qris_save: "Simpan QRIS ini",
      qris_unusable: "QRIS ini tidak dapat dipakai:",
      qris_saved: "QRIS disimpan.",
      merchant_city: "Kota",
      nmid: "NMID",
      acquirers: "Acquirer",
      point_of_initiation: "Jenis",
      poi_static: "statis",
      poi_dynamic: "dinamis",
      tokens_title: "Token API",
      tokens_help: "Backend toko memakai token ini di header Authorization: Bearer untuk membuat tagihan dan cek status.",
      create_token: "Buat token",
      test_token: "Token uji coba (sandbox): tagihannya hanya dibayar lewat simulasi, tidak pernah oleh uang sungguhan",
      sandbox: "uji coba",
      new_token_once: "Token baru (hanya ditampilkan sekali):",
      prefix: "Awalan",
      last_used: "Terakhir dipakai",
      never: "belum pernah",
      revoked: "dicabut",
      active: "aktif",
      revoke: "Cabut",
      revoke_confirm: "Cabut token {prefix}? Permintaan dengan token ini langsung ditolak.",
      no_tokens: "Belum ada token.",
      webhook_title: "Webhook",
      webhook_url: "URL webhook",
      webhook_url_placeholder: "https://toko.example.com/webhook/webqris",
      webhook_help: "Kami mengirim payment.paid ke URL ini, ditandatangani HMAC-SHA256 dengan secret webhook (X-Webhook-Signature dan Standard Webhooks).",
      rotate: "Putar",
      rotate_webhook_confirm: "Buat secret webhook baru? Penerima Anda harus memakai secret baru untuk memverifikasi.",
      test_webhook: "Kirim webhook uji",
      test_result: "Jawaban penerima: HTTP {status} dalam {ms} ms",
      test_failed: "Gagal dalam {ms} ms: {error}",
      endpoint_ok: "Endpoint menjawab",
      endpoint_open: "Endpoint tidak terjangkau: satu percobaan pada satu waktu",
      endpoint_open_detail: "{failures} percobaan berturut-turut habis waktu atau ditolak, sejak {since}. Percobaan berikutnya: {probe}. Terakhir: {error}",
      endpoint_queue: "{pending} webhook menunggu giliran ({in_flight} sedang dikirim); tidak ada yang dibuang.",
      endpoint_last_success: "Terakhir berhasil (2xx): {at}",
      endpoint_failing: "Gagal sejak {since}: {attempts} percobaan berturut-turut tanpa 2xx. Percobaan berikutnya: {next}. Terakhir: {error}",
      endpoint_alert: "Endpoint gagal selama lebih dari satu jam",
      rotate_overlap: "Secret lama tetap ikut menandatangani sampai {until} (webhook-signature membawa kedua tanda tangan).",
      replay_title: "Kirim ulang webhook",
      replay_help: "Kirim ulang semua webhook yang diantrikan dalam rentang ini, dengan webhook-id dan isi aslinya (tanda tangan baru).",
      replay_since: "Sejak",
      replay_until: "Sampai (opsional)",
      replay: "Kirim ulang",
      replay_done: "{n} webhook diantrikan untuk dikirim ulang.",
      toast_webhook_alert: "Webhook {merchant} gagal selama satu jam: {url}",
      toast_webhook_ok: "Webhook {merchant} pulih: {url}",
      callback_title: "Secret callback & forwarder",
      callback_help: "Aplikasi forwarder di ponsel memakai secret ini untuk mengirim notifikasi pembayaran. Secret disimpan sebagai hash, jadi hanya awalannya yang terlihat.",
      callback_prefix: "Awalan secret saat ini",
      rotate_callback: "Buat secret baru & QR pengaturan",
      rotate_callback_confirm: "Buat secret callback baru? Secret lama langsung berhenti berlaku; ponsel harus dipindai ulang.",
      devices_title: "Perangkat forwarder",
      no_devices: "Belum ada perangkat yang terhubung.",
      device: "Perangkat",
      last_seen: "Terakhir terdengar",
      app_version: "Versi aplikasi",
      listener: "Listener",
      outbox: "Antrean",
      silent: "diam",
      silent_banner: "{device} ({merchant}) tidak terdengar sejak {when}. Notifikasi pembayaran mungkin tidak sampai.",
      stuck_banner: "{device} ({merchant}) aktif tetapi tidak bisa mengirim: {pending} notifikasi menunggu sejak {when}{error}. Periksa ponselnya.",
      no_access_banner: "{device} ({merchant}) tidak punya akses notifikasi: pembayaran tidak terbaca. Berikan akses di ponselnya.",
      alert_cannot_deliver: "tidak bisa mengirim",
      alert_no_notification_access: "tanpa akses notifikasi",
      notification_access: "Akses notifikasi",
      parked: "Tertahan",
      waiting_since: "Menunggu sejak",
      delivery_error: "Kesalahan pengiriman",
      toast_device_alert: "Perangkat {device} ({merchant}): {alert}",
      toast_device_ok: "Perangkat {device} ({merchant}) normal kembali",
      // notifications
      notifications_title: "Notifikasi",
      unmatched_only: "Hanya yang belum cocok",
      no_notifications: "Belum ada notifikasi.",
      outcome: "Hasil",
      outcome_paid: "membayar",
      outcome_duplicate: "duplikat",
      outcome_no_amount: "nominal tak terbaca",
      outcome_not_incoming: "bukan pembayaran masuk",
      outcome_no_match: "tidak cocok",
      outcome_late: "terlambat",
      outcome_test: "uji koneksi",
      outcome_untrusted: "tidak tepercaya",
      outcome_held: "ditahan untuk ditinjau",
      reason_no_app: "Tidak ada nama aplikasi: tidak pernah membayar.",
      reason_untrusted_source: "Aplikasi ini tidak boleh membayar (chat, SMS, email, browser, aplikasi tak dikenal…): siapa pun bisa menulis teksnya.",
      reason_conversation: "Pesan chat, email, atau panggilan: tidak pernah membayar.",
      reason_amount_in_title: "Nominal hanya ada di judul: tidak pernah membayar.",
      reason_unknown_title: "Judul ini bukan judul notifikasi pembayaran aplikasi tersebut (mis. chat di dalam aplikasi).",
      reason_unverified_wording: "Kata-kata notifikasi aplikasi ini belum terverifikasi. Bila yakin, percayai judulnya di pengaturan merchant.",
      reason_new_channel: "Kanal notifikasi baru untuk aplikasi ini. Konfirmasi kanalnya di pengaturan merchant bila memang kanal pembayaran.",
      reason_outgoing: "Uang keluar.",
      reason_topup: "Isi saldo sendiri.",
      reason_promo: "Promo atau cashback.",
      reason_otp: "Kode OTP.",
      reason_pending: "Masih diproses atau instruksi membayar.",
      reason_failed: "Transaksi gagal.",
      reason_redacted: "Isi notifikasi disembunyikan oleh sistem.",
      reason_unrecognized: "Tidak dikenali.",
      android_facts: "Kategori {category} · kanal {channel}",
      offers_button: "Baca ulang & cari kecocokan",
      offers_help: "Membaca ulang notifikasi tersimpan yang belum membayar dengan parser saat ini, lalu menawarkan tagihan tertunda dengan total yang sama. Tidak ada yang dibayar sampai Anda menetapkannya.",
      offers_count: "{n} notifikasi dibaca ulang, {m} kecocokan.",
      offer_assign: "Tetapkan ke {invoice}",
      trust_trusted: "tepercaya",
      trust_untrusted: "tidak tepercaya",
      trust_held: "ditahan",
      trust_title: "Sumber tepercaya & kanal",
      trust_help: "Hanya notifikasi pembayaran dari aplikasi pembayaran yang dikenal yang menandai tagihan lunas. Di sini Anda bisa mempercayai aplikasi lain beserta judul persis notifikasi pembayarannya, dan mengonfirmasi kanal notifikasi baru.",
      trust_warning: "Peringatan: notifikasi dari aplikasi ini dengan judul persis ini akan menandai tagihan lunas. Siapa pun yang bisa membuat aplikasi itu menampilkan judul ini (pesan chat, promosi) bisa memalsukan pembayaran. Tambahkan hanya aplikasi pembayaran Anda sendiri dan judul yang tampil pada notifikasi pembayaran sungguhan.",
      trusted_titles: "Judul tepercaya",
      package_label: "Paket aplikasi",
      title_label: "Judul persis",
      acknowledge: "Saya sudah membaca peringatan di atas.",
      add_trusted: "Percayai",
      remove: "Hapus",
      none_yet: "Belum ada.",
      channels_title: "Kanal yang dikenal",
      held_title: "Kanal baru yang menunggu tinjauan",
      held_count: "{n} notifikasi ditahan, terakhir {when}",
      no_channel: "(tanpa kanal)",
      confirm_channel: "Konfirmasi kanal",
      forget_channel: "Lupakan",
      learned_payment: "dari pembayaran",
      learned_person: "dikonfirmasi",
      parsed_amount: "Nominal",
      assign: "Tetapkan ke tagihan",
      assign_help: "Tandai tagihan ini lunas (manual) dengan notifikasi ini. Tagihan yang sudah lunas tidak akan dibayar dua kali.",
      assign_invoice: "ID invoice",
      assign_done: "Notifikasi ditetapkan ke {invoice}.",
      assigned_to: "Ditetapkan ke {invoice}",
      amount_mismatch: "Perhatian: nominal notifikasi berbeda dengan total tagihan.",
      // live
      toast_new: "Tagihan baru {invoice} · Rp{total}",
      toast_paid: "Lunas: {invoice} · Rp{total}",
      toast_expired: "{n} tagihan kedaluwarsa",
      toast_delivered: "Webhook terkirim: {invoice}",
      toast_failed: "Webhook gagal: {invoice}",
    },
    en: {
      brand: "webqris",
      nav_payments: "Payments",
      nav_merchants: "Merchants",
      nav_notifications: "Notifications",
      live_on: "Live",
      live_off: "Disconnected",
      logout: "Log out",
      logout_all: "Log out everywhere",
      logout_all_confirm: "Log out on every device, this one included?",
      lang_switch: "ID",
      login_title: "Log in to webqris",
      login: "Log in",
      register: "Register",
      register_title: "Create an account",
      setup_title: "Create the operator account",
      setup_note: "This account becomes the operator: it sees every merchant and invites other accounts. The link works once.",
      invite_title: "Accept the invitation",
      invite: "Invite an account",
      invite_shown: "Send this link to the person you invite (works once, until {until}):",
      email: "Email",
      password: "Password",
      password_hint: "At least 8 characters.",
      registration_closed: "Registration is closed on this server. Ask its operator for an account.",
      login_failed: "Wrong email or password.",
      too_many: "Too many failed attempts. Try again in {secs} seconds.",
      loading: "Loading…",
      error_generic: "Something went wrong. Try again.",
      back: "Back",
      save: "Save",
      cancel: "Cancel",
      copy: "Copy",
      copied: "Copied",
      apply: "Apply",
      load_more: "Load more",
      none: "—",
      all: "All",
      yes: "yes",
      no: "no",
      payments_title: "Payments",
      status: "Status",
      status_pending: "pending",
      status_paid: "paid",
      status_expired: "expired",
      merchant: "Merchant",
      from: "From date",
      to: "To date",
      search: "Search invoice / order",
      search_placeholder: "INV-… or order id",
      no_payments: "No payments yet.",
      invoice: "Invoice",
      order_id: "Order id",
      customer: "Customer",
      amount: "Amount",
      unique_code: "Unique code",
      total: "Total",
      method: "Method",
      sender: "Sender",
      created: "Created",
      expires: "Expires",
      paid_at: "Paid",
      payment_page: "Payment page",
      open_page: "Open the payment page",
      qris_payload: "QRIS payload",
      confirm_title: "Manual confirmation",
      confirm_help: "Mark it paid when the money did arrive (e.g. you see it in the bank app). The webhook is sent like for any payment, with method manual.",
      reason: "Reason",
      reason_placeholder: "e.g. transfer checked in the bank app",
      confirm_button: "Mark as paid",
      confirmed_by: "Confirmed by hand by {who} at {when}: {reason}",
      confirm_done: "Payment marked as paid.",
      deliveries: "Webhook deliveries",
      delivery_pending: "in progress",
      delivery_delivered: "delivered",
      delivery_failed: "failed",
      no_deliveries: "No webhook for this payment (no webhook URL was set when it was paid, or it is not paid).",
      attempt: "Attempt",
      time: "Time",
      code: "Code",
      duration: "Duration",
      response: "Response",
      error: "Error",
      redeliver: "Redeliver",
      redelivered: "Webhook queued again.",
      next_attempt: "Next attempt: {when}",
      webhook_id: "Webhook id",
      body: "Body",
      related_notifications: "Related notifications",
      merchants_title: "Merchants",
      new_merchant: "New merchant",
      merchant_name: "Merchant name",
      create: "Create",
      no_merchants: "No merchants yet. Create one to start.",
      owner: "Owner",
      no_owner: "(made with the CLI)",
      qris_set: "QRIS ready",
      qris_missing: "No QRIS yet",
      webhook_set: "Webhook set",
      webhook_missing: "No webhook",
      pending_count: "{n} pending",
      device_silent: "device silent",
      secrets_once: "Save these now: they are shown only once.",
      callback_secret: "Callback secret",
      webhook_secret: "Webhook secret",
      setup_qr: "Forwarder setup QR",
      setup_qr_note: "Scan it with the webqris forwarder app on the merchant's phone. The QR is shown only now because the secret is stored hashed; make a new secret to show it again.",
      open_merchant: "Open the merchant's settings",
      settings: "Settings",
      rename: "Rename",
      delete_merchant: "Delete merchant",
      delete_confirm: "Delete this merchant and all its history? This cannot be undone.",
      deleted: "Merchant deleted.",
      saved: "Saved.",
      qris_title: "Static QRIS",
      qris_current: "Current QRIS",
      qris_none: "No QRIS yet. Paste the payload or upload a photo of the QRIS sticker.",
      qris_paste: "Paste the QRIS payload",
      qris_read: "Read",
      qris_upload: "Or upload a photo / screenshot of the QRIS",
      qris_reading: "Reading the image…",
      qris_found: "Read from the QR:",
      qris_check: "Check the details above before saving.",
      qris_save: "Save this QRIS",
      qris_unusable: "This QRIS cannot be used:",
      qris_saved: "QRIS saved.",
      merchant_city: "City",
      nmid: "NMID",
      acquirers: "Acquirers",
      point_of_initiation: "Kind",
      poi_static: "static",
      poi_dynamic: "dynamic",
      tokens_title: "API tokens",
      tokens_help: "The shop's backend sends a token as Authorization: Bearer to create invoices and check their status.",
      create_token: "Create token",
      test_token: "Test token (sandbox): its invoices are paid only by simulate, never by real money",
      sandbox: "test",
      new_token_once: "New token (shown only once):",
      prefix: "Prefix",
      last_used: "Last used",
      never: "never",
      revoked: "revoked",
      active: "active",
      revoke: "Revoke",
      revoke_confirm: "Revoke token {prefix}? Requests with it are refused at once.",
      no_tokens: "No tokens yet.",
      webhook_title: "Webhook",
      webhook_url: "Webhook URL",
      webhook_url_placeholder: "https://shop.example.com/webhook/webqris",
      webhook_help: "We POST payment.paid to this URL, signed with HMAC-SHA256 of the webhook secret (X-Webhook-Signature and Standard Webhooks).",
      rotate: "Rotate",
      rotate_webhook_confirm: "Make a new webhook secret? Your receiver must verify with the new one.",
      test_webhook: "Send a test webhook",
      test_result: "Receiver answered HTTP {status} in {ms} ms",
      test_failed: "Failed after {ms} ms: {error}",
      endpoint_ok: "Endpoint answering",
      endpoint_open: "Endpoint unreachable: one probe at a time",
      endpoint_open_detail: "{failures} attempts in a row timed out or were refused, since {since}. Next probe: {probe}. Last: {error}",
      endpoint_queue: "{pending} webhooks waiting their turn ({in_flight} being sent); none is dropped.",
      endpoint_last_success: "Last success (2xx): {at}",
      endpoint_failing: "Failing since {since}: {attempts} attempts in a row without a 2xx. Next attempt: {next}. Last: {error}",
      endpoint_alert: "Endpoint failing for more than an hour",
      rotate_overlap: "The old secret keeps signing too until {until} (webhook-signature carries both signatures).",
      replay_title: "Replay webhooks",
      replay_help: "Send again every webhook queued in this range, with its original webhook-id and body (signed afresh).",
      replay_since: "Since",
      replay_until: "Until (optional)",
      replay: "Replay",
      replay_done: "{n} webhooks queued to be sent again.",
      toast_webhook_alert: "Webhooks of {merchant} failing for an hour: {url}",
      toast_webhook_ok: "Webhooks of {merchant} recovered: {url}",
      callback_title: "Callback secret & forwarder",
      callback_help: "The forwarder app on the phone uses this secret to send payment notifications. It is stored hashed, so only its prefix is shown.",
      callback_prefix: "Current secret prefix",
      rotate_callback: "New secret & setup QR",
      rotate_callback_confirm: "Make a new callback secret? The old one stops working at once; the phone must scan again.",
      devices_title: "Forwarder devices",
      no_devices: "No device has connected yet.",
      device: "Device",
      last_seen: "Last heard from",
      app_version: "App version",
      listener: "Listener",
      outbox: "Queue",
      silent: "silent",
      silent_banner: "{device} ({merchant}) has not been heard from since {when}. Payment notifications may not be arriving.",
      stuck_banner: "{device} ({merchant}) is alive but cannot deliver: {pending} notifications waiting since {when}{error}. Check the phone.",
      no_access_banner: "{device} ({merchant}) has no notification access: payments are not read. Grant access on the phone.",
      alert_cannot_deliver: "cannot deliver",
      alert_no_notification_access: "no notification access",
      notification_access: "Notification access",
      parked: "Parked",
      waiting_since: "Waiting since",
      delivery_error: "Delivery error",
      toast_device_alert: "Device {device} ({merchant}): {alert}",
      toast_device_ok: "Device {device} ({merchant}) is back to normal",
      notifications_title: "Notifications",
      unmatched_only: "Unmatched only",
      no_notifications: "No notifications yet.",
      outcome: "Outcome",
      outcome_paid: "paid",
      outcome_duplicate: "duplicate",
      outcome_no_amount: "amount unreadable",
      outcome_not_incoming: "not an incoming payment",
      outcome_no_match: "no match",
      outcome_late: "late",
      outcome_test: "connection test",
      outcome_untrusted: "not trusted",
      outcome_held: "held for review",
      reason_no_app: "No app named: never pays.",
      reason_untrusted_source: "This app may not pay (chat, SMS, e-mail, browser, unknown app…): anyone can write its text.",
      reason_conversation: "A chat message, e-mail or call: never pays.",
      reason_amount_in_title: "The amount is only in the title: never pays.",
      reason_unknown_title: "Not a payment title of that app (for example an in-app chat).",
      reason_unverified_wording: "This app's wording is not verified yet. If you are sure, trust its title in the merchant's settings.",
      reason_new_channel: "A new notification channel for this app. Confirm it in the merchant's settings if it is a payment channel.",
      reason_outgoing: "Money going out.",
      reason_topup: "Own top-up.",
      reason_promo: "Promotion or cashback.",
      reason_otp: "One-time code.",
      reason_pending: "Still in progress, or an instruction to pay.",
      reason_failed: "Failed transaction.",
      reason_redacted: "The system hid the notification's content.",
      reason_unrecognized: "Not recognised.",
      android_facts: "Category {category} · channel {channel}",
      offers_button: "Read again & find matches",
      offers_help: "Reads the stored notifications that paid nothing again with today's parser and offers the pending invoices of their totals. Nothing is paid until you assign one.",
      offers_count: "{n} notifications read again, {m} matches.",
      offer_assign: "Assign to {invoice}",
      trust_trusted: "trusted",
      trust_untrusted: "untrusted",
      trust_held: "held",
      trust_title: "Trusted sources & channels",
      trust_help: "Only payment notifications of known payment apps mark invoices paid. Here you can trust another app with the exact titles of its payment notifications, and confirm new notification channels.",
      trust_warning: "Warning: a notification from this app with exactly this title will mark invoices paid. Anyone who can make that app show this title (a chat message, a promotion) could fake a payment. Add only your own payment app and the title its real payment notifications carry.",
      trusted_titles: "Trusted titles",
      package_label: "App package",
      title_label: "Exact title",
      acknowledge: "I have read the warning above.",
      add_trusted: "Trust",
      remove: "Remove",
      none_yet: "None yet.",
      channels_title: "Known channels",
      held_title: "New channels awaiting review",
      held_count: "{n} held notification(s), last {when}",
      no_channel: "(no channel)",
      confirm_channel: "Confirm channel",
      forget_channel: "Forget",
      learned_payment: "from a payment",
      learned_person: "confirmed",
      parsed_amount: "Amount",
      assign: "Assign to invoice",
      assign_help: "Marks that invoice paid (manual) with this notification. A paid invoice is never paid twice.",
      assign_invoice: "Invoice id",
      assign_done: "Notification assigned to {invoice}.",
      assigned_to: "Assigned to {invoice}",
      amount_mismatch: "Note: the notification's amount differs from the invoice total.",
      toast_new: "New invoice {invoice} · Rp{total}",
      toast_paid: "Paid: {invoice} · Rp{total}",
      toast_expired: "{n} invoice(s) expired",
      toast_delivered: "Webhook delivered: {invoice}",
      toast_failed: "Webhook failed: {invoice}",
    },
  };

  function chosenLanguage() {
    const asked = new URLSearchParams(location.search).get("lang");
    if (asked === "en" || asked === "id") return asked;
    try {
      const stored = localStorage.getItem("webqris.lang");
      if (stored === "en" || stored === "id") return stored;
    } catch (_) { /* storage disabled */ }
    return "id";
  }
  let lang = chosenLanguage();

  function t(key, vars) {
    let text = (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key;
    if (vars) {
      for (const [name, value] of Object.entries(vars)) text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  // ---------------------------------------------------------------- DOM
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key === "test") el.dataset.test = value;
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "value") el.value = value;
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  function rupiah(n) {
    if (n === null || n === undefined) return t("none");
    return new Intl.NumberFormat("id-ID").format(n);
  }

  function when(iso) {
    if (!iso) return t("none");
    const date = new Date(iso);
    return date.toLocaleString(lang === "id" ? "id-ID" : "en-GB", {
      day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function ago(iso) {
    if (!iso) return t("never");
    const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
    const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
    const abs = Math.abs(seconds);
    if (abs < 60) return rtf.format(seconds, "second");
    if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
    return rtf.format(Math.round(seconds / 86400), "day");
  }

  function badge(kind, text) {
    return h("span", { class: "badge " + kind, text });
  }

  // A sandbox invoice, token or report (made with a test token; only simulate pays).
  function testBadge() {
    return h("span", { class: "badge warn", test: "test-badge", text: t("sandbox") });
  }

  function statusBadge(status) {
    return h("span", { class: "badge " + status, test: "status", text: t("status_" + status) });
  }

  function toast(text) {
    const box = document.getElementById("toasts");
    const el = h("div", { class: "toast", text });
    box.append(el);
    while (box.children.length > 3) box.firstChild.remove();
    setTimeout(() => el.remove(), 5000);
  }

  function errorLine(test) {
    return h("p", { class: "error hidden", test: test || "error", role: "alert" });
  }

  function showError(el, error) {
    el.textContent = error && error.message ? error.message : t("error_generic");
    el.classList.remove("hidden");
  }

  function hideError(el) {
    el.textContent = "";
    el.classList.add("hidden");
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      // Plain http on a LAN has no clipboard API: fall back to a selected field.
      const area = h("textarea", { class: "hidden" });
      area.value = text;
      document.body.append(area);
      area.classList.remove("hidden");
      area.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
      area.remove();
      return ok;
    }
  }

  /** A read-only field with a copy button, for secrets shown once. */
  function secretField(value, test) {
    const input = h("input", { readonly: true, value, test, spellcheck: "false", autocomplete: "off" });
    const button = h("button", { type: "button", class: "secondary", text: t("copy") });
    button.addEventListener("click", async () => {
      input.select();
      if (await copyText(value)) {
        button.textContent = t("copied");
        setTimeout(() => { button.textContent = t("copy"); }, 1500);
      }
    });
    return h("div", { class: "secret" }, input, button);
  }

  function facts(pairs) {
    const dl = h("dl", { class: "facts" });
    for (const [label, value] of pairs) {
      if (value === undefined) continue;
      dl.append(h("dt", { text: label }), h("dd", {}, value === null || value === "" ? t("none") : value));
    }
    return dl;
  }

  // ---------------------------------------------------------------- API
  const session = { csrf: "", account: null, registrationOpen: true };

  class ApiError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const headers = {};
    let payload;
    if (method !== "GET") headers["X-CSRF-Token"] = session.csrf;
    if (body instanceof Blob) {
      payload = body;
      headers["Content-Type"] = body.type || "application/octet-stream";
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin", cache: "no-store" });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (response.status === 401 && !path.startsWith("/dashboard/api/login")) {
      // The session is over: get the pre-login CSRF token, then show the login page.
      session.account = null;
      disconnectLive();
      loadSession().catch(() => {}).finally(goLogin);
      throw new ApiError(401, (data && data.message) || response.statusText, data);
    }
    if (!response.ok) {
      const error = new ApiError(response.status, (data && data.message) || response.statusText, data);
      error.retryAfter = response.headers.get("retry-after");
      throw error;
    }
    return data;
  }

  async function loadSession() {
    const data = await api("GET", "/dashboard/api/session");
    session.csrf = data.csrf_token;
    session.account = data.account;
    session.registrationOpen = data.registration_open;
    return data;
  }

  // ---------------------------------------------------------------- routing
  let current = { cleanup: null, onEvent: null };

  function goLogin() {
    if (location.pathname.startsWith("/dashboard/login")) return;
    navigate("/dashboard/login?next=" + encodeURIComponent(location.pathname + location.search), true);
  }

  function navigate(path, replace) {
    if (replace) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
    render();
  }

  function link(path, attrs, ...children) {
    const a = h("a", Object.assign({ href: path }, attrs || {}), ...children);
    a.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(path);
    });
    return a;
  }

  const ROUTES = [
    [/^\/dashboard\/login\/?$/, () => viewLogin()],
    [/^\/dashboard\/?$/, () => viewPayments()],
    [/^\/dashboard\/payments\/?$/, () => viewPayments()],
    [/^\/dashboard\/payments\/([^/]+)\/?$/, (m) => viewPayment(decodeURIComponent(m[1]))],
    [/^\/dashboard\/merchants\/?$/, () => viewMerchants()],
    [/^\/dashboard\/merchants\/(\d+)\/?$/, (m) => viewMerchant(Number(m[1]))],
    [/^\/dashboard\/notifications\/?$/, () => viewNotifications()],
  ];

  async function render() {
    if (current.cleanup) current.cleanup();
    current = { cleanup: null, onEvent: null };
    document.documentElement.lang = lang;
    const app = clear(document.getElementById("app"));
    const path = location.pathname;
    const route = ROUTES.find(([pattern]) => pattern.test(path));
    if (!route) {
      navigate("/dashboard", true);
      return;
    }
    const isLogin = path.startsWith("/dashboard/login");
    if (!isLogin && !session.account) {
      goLogin();
      return;
    }
    if (!isLogin) connectLive();
    try {
      await route[1](path.match(route[0]));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      app.append(h("main", { class: "page" }, h("p", { class: "error", text: error.message || t("error_generic") })));
    }
  }

  // ---------------------------------------------------------------- layout
  function layout(active, ...content) {
    const app = clear(document.getElementById("app"));
    const nav = h("nav", { class: "nav" },
      link("/dashboard/payments", { class: active === "payments" ? "active" : "", test: "nav-payments" }, t("nav_payments")),
      link("/dashboard/merchants", { class: active === "merchants" ? "active" : "", test: "nav-merchants" }, t("nav_merchants")),
      link("/dashboard/notifications", { class: active === "notifications" ? "active" : "", test: "nav-notifications" }, t("nav_notifications")),
    );
    const liveDot = h("span", { class: "live" + (live.open ? " on" : ""), id: "live", test: "live", text: live.open ? t("live_on") : t("live_off") });
    const langButton = h("button", { type: "button", class: "secondary", test: "lang", text: t("lang_switch") });
    langButton.addEventListener("click", () => {
      lang = lang === "id" ? "en" : "id";
      try { localStorage.setItem("webqris.lang", lang); } catch (_) { /* ignore */ }
      render();
    });
    const logout = h("button", { type: "button", class: "link", test: "logout", text: t("logout") });
    logout.addEventListener("click", async () => {
      try { await api("POST", "/dashboard/api/logout", {}); } catch (_) { /* the session may be gone already */ }
      session.account = null;
      disconnectLive();
      await loadSession();
      navigate("/dashboard/login", true);
    });
    const logoutAll = h("button", { type: "button", class: "link", test: "logout-all", text: t("logout_all") });
    logoutAll.addEventListener("click", async () => {
      if (!confirm(t("logout_all_confirm"))) return;
      try { await api("POST", "/dashboard/api/logout-all", {}); } catch (_) { /* ignore */ }
      session.account = null;
      disconnectLive();
      await loadSession();
      navigate("/dashboard/login", true);
    });
    let inviteButton = null;
    if (session.account.is_operator) {
      inviteButton = h("button", { type: "button", class: "link", test: "invite", text: t("invite") });
      inviteButton.addEventListener("click", async () => {
        try {
          const r = await api("POST", "/dashboard/api/invites", {});
          window.prompt(t("invite_shown", { until: new Date(r.expires_at).toLocaleString() }), r.invite_link);
        } catch (_) { /* the error is shown by api() for 401; nothing else to do */ }
      });
    }
    const header = h("header", { class: "topbar" },
      link("/dashboard", { class: "brand" }, t("brand")),
      nav,
      h("span", { class: "spacer" }),
      liveDot,
      langButton,
      h("span", { class: "account" },
        h("span", { class: "muted", test: "account-email", text: session.account.email + (session.account.is_operator ? " (operator)" : "") }),
        inviteButton, logout, logoutAll),
    );
    const banner = h("div", { id: "device-banner" });
    const main = h("main", { class: "page" }, banner, ...content);
    app.append(header, main);
    deviceBanner(banner);
    return main;
  }

  /** One line per device that needs a person: silent, alive but unable to deliver, or without access. */
  function alertText(d) {
    const names = { device: d.device_id, merchant: d.merchant_name };
    if (d.alert === "silent") return t("silent_banner", { ...names, when: when(d.last_seen_at) });
    if (d.alert === "cannot_deliver") {
      return t("stuck_banner", { ...names, pending: d.outbox_pending, when: when(d.oldest_pending_since || d.last_heartbeat_at), error: d.last_delivery_error ? " (" + d.last_delivery_error + ")" : "" });
    }
    if (d.alert === "no_notification_access") return t("no_access_banner", names);
    return null;
  }

  async function deviceBanner(box) {
    try {
      const data = await api("GET", "/dashboard/api/devices");
      clear(box);
      for (const d of data.devices) {
        const text = alertText(d);
        if (text) box.append(h("div", { class: "banner warn", test: d.alert === "silent" ? "silent-device" : "device-alert", text }));
      }
    } catch (_) { /* the banner is a nicety */ }
  }

  async function merchantOptions(select, selected) {
    const data = await api("GET", "/dashboard/api/merchants");
    select.append(h("option", { value: "", text: t("all") }));
    for (const m of data.merchants) {
      const option = h("option", { value: String(m.id), text: m.name });
      if (String(m.id) === String(selected || "")) option.selected = true;
      select.append(option);
    }
    return data.merchants;
  }

  /** Refreshes a live section, but never under the hands of someone typing in it. */
  function liveSection(container, fill) {
    let timer = null;
    const refresh = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (!container.isConnected) return;
        const active = document.activeElement;
        if (active && container.contains(active) && (active.tagName === "INPUT" || active.tagName === "TEXTAREA")) {
          refresh();
          return;
        }
        try { await fill(container); } catch (_) { /* shown next time */ }
      }, 150);
    };
    return refresh;
  }

  // ---------------------------------------------------------------- login
  async function viewLogin() {
    if (session.account) {
      const next = new URLSearchParams(location.search).get("next");
      navigate(next && next.startsWith("/dashboard") && !next.startsWith("/dashboard/login") ? next : "/dashboard", true);
      return;
    }
    const app = clear(document.getElementById("app"));
    // A setup or invite link carries its token in the fragment (never sent to the server by itself).
    const fragment = new URLSearchParams(location.hash.slice(1));
    const setupToken = fragment.get("setup");
    const inviteToken = fragment.get("invite");
    const special = setupToken ? "setup" : inviteToken ? "invite" : null;
    let mode = "login";
    const title = h("h1", { text: t("login_title") });
    const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, test: "email" });
    const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, minlength: "8", test: "password" });
    const submit = h("button", { type: "submit", test: "submit", text: t("login") });
    const error = errorLine();
    const note = h("p", { class: "muted small" });
    const loginTab = h("button", { type: "button", class: "active", test: "login-tab", text: t("login") });
    const registerTab = h("button", { type: "button", test: "register-tab", text: t("register") });
    const setMode = (next) => {
      mode = next;
      loginTab.classList.toggle("active", mode === "login");
      registerTab.classList.toggle("active", mode === "register");
      title.textContent = mode === "login" ? t("login_title") : special ? t(special + "_title") : t("register_title");
      submit.textContent = mode === "login" ? t("login") : t("register");
      password.autocomplete = mode === "login" ? "current-password" : "new-password";
      note.textContent = mode === "register" ? t("password_hint") + (special === "setup" ? " " + t("setup_note") : "") : "";
      hideError(error);
    };
    loginTab.addEventListener("click", () => setMode("login"));
    registerTab.addEventListener("click", () => setMode("register"));
    const form = h("form", { class: "card form-narrow", test: "login-form" },
      h("div", { class: "tabs" }, loginTab, session.registrationOpen || special ? registerTab : null),
      title,
      h("label", { text: t("email") }), email,
      h("label", { text: t("password") }), password,
      note,
      session.registrationOpen || special ? null : h("p", { class: "muted small", test: "registration-closed", text: t("registration_closed") }),
      h("div", { class: "actions" }, submit),
      error,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideError(error);
      submit.disabled = true;
      try {
        const path = mode === "login" ? "/dashboard/api/login" : "/dashboard/api/register";
        const body = { email: email.value, password: password.value };
        if (mode === "register" && setupToken) body.setup_token = setupToken;
        if (mode === "register" && inviteToken) body.invite = inviteToken;
        const data = await api("POST", path, body);
        session.csrf = data.csrf_token;
        session.account = data.account;
        const next = new URLSearchParams(location.search).get("next");
        navigate(next && next.startsWith("/dashboard") && !next.startsWith("/dashboard/login") ? next : "/dashboard", true);
      } catch (e) {
        if (mode === "login" && e.status === 401) showError(error, { message: t("login_failed") });
        else if (e.status === 429) showError(error, { message: t("too_many", { secs: e.retryAfter || "…" }) });
        else showError(error, e);
        // A refused CSRF token means the page is stale: fetch a fresh one for the next try.
        if (e.status === 403) { try { await loadSession(); } catch (_) { /* ignore */ } }
      } finally {
        submit.disabled = false;
      }
    });
    const langButton = h("button", { type: "button", class: "secondary", test: "lang", text: t("lang_switch") });
    langButton.addEventListener("click", () => {
      lang = lang === "id" ? "en" : "id";
      try { localStorage.setItem("webqris.lang", lang); } catch (_) { /* ignore */ }
      render();
    });
    app.append(h("header", { class: "topbar" }, h("span", { class: "brand", text: t("brand") }), h("span", { class: "spacer" }), langButton), h("main", { class: "page" }, form));
    setMode(special ? "register" : "login");
    email.focus();
  }

  // ---------------------------------------------------------------- payments
  function paymentRow(p) {
    return link("/dashboard/payments/" + encodeURIComponent(p.invoice_id), { class: "item", test: "payment-row", "data-invoice": p.invoice_id },
      h("div", {},
        h("div", { class: "mono", text: p.invoice_id }, p.test ? " " : null, p.test ? testBadge() : null),
        p.merchant_order_id ? h("div", { class: "muted small", text: p.merchant_order_id }) : null),
      h("div", { class: "wide-only", text: p.merchant_name }),
      h("div", { class: "amount", text: "Rp" + rupiah(p.total_amount) }),
      statusBadge(p.status),
      h("div", { class: "muted small wide-only", text: when(p.created_at) }),
    );
  }

  async function viewPayments() {
    const params = new URLSearchParams(location.search);
    const status = h("select", { test: "filter-status" },
      ["", "pending", "paid", "expired"].map((s) => {
        const o = h("option", { value: s, text: s ? t("status_" + s) : t("all") });
        if (s === (params.get("status") || "")) o.selected = true;
        return o;
      }));
    const merchant = h("select", { test: "filter-merchant" });
    const from = h("input", { type: "date", value: params.get("from") || "", test: "filter-from" });
    const to = h("input", { type: "date", value: params.get("to") || "", test: "filter-to" });
    const q = h("input", { type: "search", placeholder: t("search_placeholder"), value: params.get("q") || "", test: "filter-q" });
    const apply = h("button", { type: "submit", text: t("apply"), test: "filter-apply" });
    const filters = h("form", { class: "card" },
      h("div", { class: "row" },
        h("div", {}, h("label", { text: t("status") }), status),
        h("div", {}, h("label", { text: t("merchant") }), merchant),
        h("div", {}, h("label", { text: t("from") }), from),
        h("div", {}, h("label", { text: t("to") }), to),
        h("div", {}, h("label", { text: t("search") }), q),
        apply));
    const list = h("div", { class: "list boxed", test: "payments" });
    const more = h("button", { type: "button", class: "secondary hidden", text: t("load_more"), test: "load-more" });
    layout("payments", h("h1", { text: t("payments_title") }), filters, list, h("div", { class: "actions" }, more));
    merchantOptions(merchant, params.get("merchant")).catch(() => {});

    const query = (before) => {
      const qs = new URLSearchParams();
      if (params.get("status")) qs.set("status", params.get("status"));
      if (params.get("merchant")) qs.set("merchant", params.get("merchant"));
      const day = (text, plus) => {
        const [y, m, d] = text.split("-").map(Number);
        return new Date(y, m - 1, d + plus).toISOString();
      };
      if (params.get("from")) qs.set("from", day(params.get("from"), 0));
      if (params.get("to")) qs.set("to", day(params.get("to"), 1));
      if (params.get("q")) qs.set("q", params.get("q"));
      if (before) qs.set("before", before);
      return "/dashboard/api/payments?" + qs.toString();
    };
    let next = null;
    const fill = async (box) => {
      const data = await api("GET", query(null));
      clear(box);
      for (const p of data.payments) box.append(paymentRow(p));
      if (!data.payments.length) box.append(h("p", { class: "item muted", text: t("no_payments") }));
      next = data.next_before;
      more.classList.toggle("hidden", !next);
    };
    more.addEventListener("click", async () => {
      const data = await api("GET", query(next));
      for (const p of data.payments) list.append(paymentRow(p));
      next = data.next_before;
      more.classList.toggle("hidden", !next);
    });
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      const qs = new URLSearchParams();
      for (const [key, el] of [["status", status], ["merchant", merchant], ["from", from], ["to", to], ["q", q]]) {
        if (el.value) qs.set(key, el.value);
      }
      navigate("/dashboard/payments" + (qs.toString() ? "?" + qs.toString() : ""));
    });
    await fill(list);
    const refresh = liveSection(list, fill);
    current.onEvent = (frame) => {
      if (["new_payment", "payment_paid", "payments_expired"].includes(frame.event)) refresh();
    };
  }

  function attemptsTable(attempts) {
    const table = h("table", { class: "attempts" },
      h("thead", {}, h("tr", {},
        h("th", { text: "#" }), h("th", { text: t("time") }), h("th", { text: t("code") }),
        h("th", { text: t("duration") }), h("th", { text: t("response") }))));
    const body = h("tbody", {});
    for (const a of attempts) {
      body.append(h("tr", { test: "attempt" },
        h("td", { text: String(a.attempt) }),
        h("td", { text: when(a.started_at) }),
        h("td", {}, a.status_code ? badge(a.status_code >= 200 && a.status_code < 300 ? "ok" : "bad", String(a.status_code)) : badge("bad", t("error"))),
        h("td", { text: a.duration_ms + " ms" }),
        h("td", { class: "body" },
          a.error ? h("div", { class: "error", text: a.error }) : null,
          a.response_body ? h("pre", { class: "excerpt", text: a.response_body }) : null)));
    }
    table.append(body);
    return table;
  }

  /** A stored reason in words, or as stored when it has none (duplicate keys). */
  function reasonText(reason) {
    const key = "reason_" + reason;
    return TEXT.en[key] ? t(key) : reason;
  }

  /** Marks `notificationId` paid onto `invoiceId` by hand; the caller shows the outcome. */
  async function assignNotification(notificationId, invoiceId, reason, parsedAmount) {
    const data = await api("POST", "/dashboard/api/notifications/" + notificationId + "/assign", { invoice_id: invoiceId, reason });
    if (parsedAmount !== null && parsedAmount !== undefined && data.payment.total_amount !== parsedAmount) toast(t("amount_mismatch"));
    toast(t("assign_done", { invoice: data.payment.invoice_id }));
    return data;
  }

  function notificationRow(n, onAssigned) {
    const outcome = badge(n.unmatched ? "warn" : n.outcome === "paid" ? "ok" : "", t("outcome_" + n.outcome));
    const row = h("div", { class: "card", test: "notification", "data-id": String(n.id), "data-outcome": n.outcome },
      h("div", { class: "row" },
        h("div", {},
          h("div", {}, outcome, " ", n.test ? testBadge() : null, n.test ? " " : null, h("strong", { text: n.title || n.app || n.source })),
          h("div", { class: "muted small", text: when(n.received_at) + " · " + n.merchant_name + (n.device_id ? " · " + n.device_id : "") })),
        h("div", { class: "amount", text: n.parsed_amount !== null ? "Rp" + rupiah(n.parsed_amount) : t("none") })),
      n.message ? h("p", { class: "message", text: n.message }) : null,
      n.trust_reason ? h("p", { class: "small", test: "trust-reason", "data-reason": n.trust_reason, text: reasonText(n.trust_reason) }) : null,
      n.reason ? h("p", { class: "muted small", text: reasonText(n.reason) }) : null,
      n.category || n.channel_id ? h("p", { class: "muted small", text: t("android_facts", { category: n.category || t("none"), channel: n.channel_id || t("none") }) }) : null,
      n.invoice_id ? h("p", { class: "small" }, t("invoice") + ": ", link("/dashboard/payments/" + encodeURIComponent(n.invoice_id), {}, n.invoice_id)) : null,
      n.assigned_invoice_id ? h("p", { class: "small", text: t("assigned_to", { invoice: n.assigned_invoice_id }) }) : null,
    );
    if (n.unmatched) {
      row.classList.add("unmatched");
      const invoice = h("input", { value: n.invoice_id || "", placeholder: "INV-…", test: "assign-invoice" });
      const reason = h("input", { placeholder: t("reason_placeholder"), test: "assign-reason" });
      const error = errorLine();
      const submit = h("button", { type: "submit", text: t("assign"), test: "assign" });
      const form = h("form", { class: "hidden" },
        h("p", { class: "muted small", text: t("assign_help") }),
        h("div", { class: "row" },
          h("div", {}, h("label", { text: t("assign_invoice") }), invoice),
          h("div", {}, h("label", { text: t("reason") }), reason),
          submit),
        error);
      const open = h("button", { type: "button", class: "secondary", text: t("assign"), test: "open-assign" });
      open.addEventListener("click", () => { form.classList.remove("hidden"); open.classList.add("hidden"); invoice.focus(); });
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        hideError(error);
        submit.disabled = true;
        try {
          await assignNotification(n.id, invoice.value, reason.value, n.parsed_amount);
          invoice.blur();
          reason.blur();
          onAssigned();
        } catch (e) {
          showError(error, e);
        } finally {
          submit.disabled = false;
        }
      });
      row.append(h("div", { class: "actions" }, open), form);
    }
    return row;
  }

  async function viewPayment(invoiceId) {
    const top = h("div", {});
    const confirmBox = h("div", {});
    const deliveries = h("div", { test: "deliveries" });
    const related = h("div", {});
    const whole = h("div", {}, top, confirmBox, h("section", { class: "card" }, h("h2", { text: t("deliveries") }), deliveries), related);
    layout("payments",
      link("/dashboard/payments", { class: "small" }, "← " + t("back")),
      h("h1", { class: "mono", text: invoiceId }),
      whole);

    const reason = h("input", { placeholder: t("reason_placeholder"), test: "confirm-reason", maxlength: "500" });
    const confirmButton = h("button", { type: "submit", text: t("confirm_button"), test: "confirm" });
    const confirmError = errorLine();
    const confirmForm = h("form", { class: "card", test: "confirm-form" },
      h("h2", { text: t("confirm_title") }),
      h("p", { class: "muted small", text: t("confirm_help") }),
      h("div", { class: "row" }, h("div", {}, h("label", { text: t("reason") }), reason), confirmButton),
      confirmError);
    confirmForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideError(confirmError);
      confirmButton.disabled = true;
      try {
        await api("POST", "/dashboard/api/payments/" + encodeURIComponent(invoiceId) + "/confirm", { reason: reason.value });
        toast(t("confirm_done"));
        reason.blur();
        await fill();
      } catch (e) {
        showError(confirmError, e);
      } finally {
        confirmButton.disabled = false;
      }
    });

    const fill = async () => {
      const data = await api("GET", "/dashboard/api/payments/" + encodeURIComponent(invoiceId));
      const p = data.payment;
      clear(top).append(h("div", { class: "grid2" },
        h("section", { class: "card" },
          h("p", {}, statusBadge(p.status), p.test ? " " : null, p.test ? testBadge() : null),
          facts([
            [t("merchant"), p.merchant_name],
            [t("order_id"), p.merchant_order_id],
            [t("customer"), p.customer_name],
            [t("amount"), "Rp" + rupiah(p.amount)],
            [t("unique_code"), String(p.unique_code)],
            [t("total"), h("span", { class: "amount", test: "total", text: "Rp" + rupiah(p.total_amount) })],
            [t("method"), p.payment_method],
            [t("sender"), p.sender_name],
            [t("created"), when(p.created_at)],
            [t("expires"), when(p.expired_at)],
            [t("paid_at"), p.paid_at ? when(p.paid_at) : null],
            [t("payment_page"), p.payment_url ? h("a", { href: p.payment_url, target: "_blank", rel: "noopener noreferrer", test: "payment-url", text: t("open_page") }) : null],
          ]),
          p.manual_confirmation ? h("p", { class: "banner ok small", test: "manual-confirmation", text: t("confirmed_by", {
            who: p.manual_confirmation.account_email || t("none"),
            when: when(p.manual_confirmation.confirmed_at),
            reason: p.manual_confirmation.reason,
          }) }) : null),
        h("section", { class: "card qr-box" },
          h("img", { src: "/dashboard/api/payments/" + encodeURIComponent(invoiceId) + "/qr.svg", alt: "QRIS " + p.invoice_id, width: "280", height: "280" }),
          h("details", {}, h("summary", { class: "small", text: t("qris_payload") }), h("p", { class: "mono small", text: p.qris_payload })))));
      clear(confirmBox);
      if (p.status !== "paid") confirmBox.append(confirmForm);
      clear(deliveries);
      if (!p.deliveries.length) deliveries.append(h("p", { class: "muted", text: t("no_deliveries") }));
      for (const d of p.deliveries) {
        const redeliver = h("button", { type: "button", class: "secondary", text: t("redeliver"), test: "redeliver" });
        const error = errorLine();
        redeliver.addEventListener("click", async () => {
          hideError(error);
          redeliver.disabled = true;
          try {
            await api("POST", "/dashboard/api/deliveries/" + d.id + "/redeliver", {});
            toast(t("redelivered"));
          } catch (e) {
            showError(error, e);
            redeliver.disabled = false;
          }
        });
        deliveries.append(h("div", { class: "delivery", test: "delivery", "data-status": d.status },
          h("p", {}, badge(d.status, t("delivery_" + d.status)), " ", h("span", { class: "muted small", text: t("webhook_id") + ": " }), h("code", { text: d.webhook_id })),
          d.status === "pending" && d.attempts_made > 0 ? h("p", { class: "muted small", text: t("next_attempt", { when: when(d.next_attempt_at) }) }) : null,
          d.attempts.length ? attemptsTable(d.attempts) : null,
          h("details", {}, h("summary", { class: "small", text: t("body") }), h("pre", { class: "excerpt", text: d.body })),
          h("div", { class: "actions" }, redeliver), error));
      }
      clear(related);
      if (p.notifications.length) {
        related.append(h("h2", { text: t("related_notifications") }));
        for (const n of p.notifications) related.append(notificationRow(n, fill));
      }
    };
    await fill();
    const refresh = liveSection(whole, fill);
    current.onEvent = (frame) => {
      const data = frame.data || {};
      const mine = data.invoice_id === invoiceId
        || (Array.isArray(data.payments) && data.payments.some((p) => p.invoice_id === invoiceId));
      if (mine) refresh();
    };
  }

  // ---------------------------------------------------------------- merchants
  function onceSecrets(data) {
    const box = h("section", { class: "card", test: "secrets-once" },
      h("p", { class: "banner warn", text: t("secrets_once") }),
      h("label", { text: t("callback_secret") }), secretField(data.callback_secret, "callback-secret"));
    if (data.merchant && data.merchant.webhook_secret) {
      box.append(h("label", { text: t("webhook_secret") }), secretField(data.merchant.webhook_secret, "webhook-secret-once"));
    }
    box.append(
      h("h3", { text: t("setup_qr") }),
      h("div", { class: "qr-box" }, h("img", { src: data.setup_qr, alt: t("setup_qr"), width: "240", height: "240", test: "setup-qr" })),
      h("p", { class: "muted small", text: t("setup_qr_note") }),
      h("p", { class: "mono small", test: "setup-link", text: data.setup_link }));
    return box;
  }

  async function viewMerchants() {
    const name = h("input", { placeholder: "Toko ABC", maxlength: "100", required: true, test: "new-merchant-name" });
    const create = h("button", { type: "submit", text: t("create"), test: "create-merchant" });
    const error = errorLine();
    const result = h("div", {});
    const form = h("form", { class: "card" },
      h("h2", { text: t("new_merchant") }),
      h("div", { class: "row" }, h("div", {}, h("label", { text: t("merchant_name") }), name), create),
      error);
    const list = h("div", { class: "list boxed", test: "merchants" });
    layout("merchants", h("h1", { text: t("merchants_title") }), form, result, list);
    const fill = async (box) => {
      const data = await api("GET", "/dashboard/api/merchants");
      clear(box);
      if (!data.merchants.length) box.append(h("p", { class: "item muted", text: t("no_merchants") }));
      for (const m of data.merchants) {
        box.append(link("/dashboard/merchants/" + m.id, { class: "item", test: "merchant-row", "data-id": String(m.id) },
          h("div", {}, h("strong", { text: m.name }),
            session.account.is_operator ? h("div", { class: "muted small", text: m.owner_email || t("no_owner") }) : null),
          h("div", {}, badge(m.qris_configured ? "ok" : "warn", m.qris_configured ? t("qris_set") : t("qris_missing"))),
          h("div", { class: "wide-only" }, badge(m.webhook_url ? "ok" : "", m.webhook_url ? t("webhook_set") : t("webhook_missing"))),
          h("div", {}, m.pending ? badge("pending", t("pending_count", { n: m.pending })) : null),
          h("div", { class: "wide-only" }, m.device_silent ? badge("bad", t("device_silent")) : h("span", { class: "muted small", text: m.last_device_seen_at ? ago(m.last_device_seen_at) : "" }))));
      }
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideError(error);
      create.disabled = true;
      try {
        const data = await api("POST", "/dashboard/api/merchants", { name: name.value });
        name.value = "";
        clear(result).append(onceSecrets(data),
          h("div", { class: "actions" }, link("/dashboard/merchants/" + data.merchant.id, { class: "button", test: "open-merchant" }, t("open_merchant"))));
        await fill(list);
      } catch (e) {
        showError(error, e);
      } finally {
        create.disabled = false;
      }
    });
    await fill(list);
    const refresh = liveSection(list, fill);
    current.onEvent = (frame) => {
      if (["new_payment", "payment_paid", "payments_expired"].includes(frame.event)) refresh();
    };
  }

  function qrisFacts(summary) {
    if (!summary) return null;
    return facts([
      [t("merchant_name"), summary.merchant_name],
      [t("merchant_city"), summary.merchant_city],
      [t("nmid"), summary.nmid],
      [t("acquirers"), (summary.acquirers || []).join(", ")],
      [t("point_of_initiation"), summary.point_of_initiation === "dynamic" ? t("poi_dynamic") : t("poi_static")],
    ]);
  }

  async function viewMerchant(id) {
    const base = "/dashboard/api/merchants/" + id;
    let merchant = (await api("GET", base)).merchant;
    const main = layout("merchants",
      link("/dashboard/merchants", { class: "small" }, "← " + t("back")),
      h("h1", { test: "merchant-title", text: merchant.name }));

    // Settings: rename, delete.
    const newName = h("input", { value: merchant.name, maxlength: "100", test: "rename-input" });
    const renameError = errorLine();
    const renameForm = h("form", {},
      h("div", { class: "row" }, h("div", {}, h("label", { text: t("rename") }), newName), h("button", { type: "submit", text: t("save"), test: "rename" })),
      renameError);
    renameForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideError(renameError);
      try {
        const data = await api("PATCH", base, { name: newName.value });
        main.querySelector("[data-test=merchant-title]").textContent = data.name;
        toast(t("saved"));
      } catch (e) { showError(renameError, e); }
    });
    const remove = h("button", { type: "button", class: "danger", text: t("delete_merchant"), test: "delete-merchant" });
    const removeError = errorLine();
    remove.addEventListener("click", async () => {
      if (!confirm(t("delete_confirm"))) return;
      hideError(removeError);
      try {
        await api("DELETE", base);
        toast(t("deleted"));
        navigate("/dashboard/merchants");
      } catch (e) { showError(removeError, e); }
    });
    main.append(h("section", { class: "card" }, h("h2", { text: t("settings") }), renameForm, h("div", { class: "actions" }, remove), removeError,
      merchant.owner_email ? h("p", { class: "muted small", text: t("owner") + ": " + merchant.owner_email }) : null));

    // Static QRIS.
    const currentQris = h("div", { test: "qris-current" });
    const showCurrent = () => {
      clear(currentQris);
      if (merchant.qris) {
        currentQris.append(h("h3", { text: t("qris_current") }), qrisFacts(merchant.qris.summary));
      } else {
        currentQris.append(h("p", { class: "muted", text: t("qris_none") }));
      }
    };
    showCurrent();
    const paste = h("textarea", { placeholder: "000201010211…6304ABCD", spellcheck: "false", test: "qris-paste" });
    const read = h("button", { type: "button", class: "secondary", text: t("qris_read"), test: "qris-read" });
    const file = h("input", { type: "file", accept: "image/*", test: "qris-file" });
    const readResult = h("div", { test: "qris-result" });
    const qrisError = errorLine("qris-error");
    let candidate = null;
    const saveQris = h("button", { type: "button", text: t("qris_save"), test: "qris-save", disabled: true });
    const showRead = (data) => {
      candidate = data.usable ? data.payload : null;
      saveQris.disabled = !candidate;
      clear(readResult);
      readResult.append(h("p", { class: "muted small", text: t("qris_found") }), h("p", { class: "mono small", test: "qris-payload", text: data.payload }));
      if (data.summary) readResult.append(qrisFacts(data.summary));
      if (data.usable) readResult.append(h("p", { class: "banner ok small", test: "qris-usable", text: t("qris_check") }));
      else readResult.append(h("p", { class: "banner bad small", test: "qris-unusable" }, t("qris_unusable") + " ", h("span", { text: data.error })));
    };
    read.addEventListener("click", async () => {
      hideError(qrisError);
      clear(readResult);
      try { showRead(await api("POST", "/dashboard/api/qris/decode", { payload: paste.value })); } catch (e) { showError(qrisError, e); }
    });
    file.addEventListener("change", async () => {
      hideError(qrisError);
      clear(readResult).append(h("p", { class: "muted", text: t("qris_reading") }));
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      try {
        showRead(await api("POST", "/dashboard/api/qris/scan", await uploadable(chosen)));
      } catch (e) {
        clear(readResult);
        showError(qrisError, e);
      }
    });
    saveQris.addEventListener("click", async () => {
      if (!candidate) return;
      hideError(qrisError);
      try {
        await api("PUT", base + "/qris", { payload: candidate });
        merchant = (await api("GET", base)).merchant;
        showCurrent();
        clear(readResult);
        paste.value = "";
        file.value = "";
        saveQris.disabled = true;
        toast(t("qris_saved"));
      } catch (e) { showError(qrisError, e); }
    });
    main.append(h("section", { class: "card", test: "qris-section" },
      h("h2", { text: t("qris_title") }), currentQris,
      h("label", { text: t("qris_paste") }), paste, h("div", { class: "actions" }, read),
      h("label", { text: t("qris_upload") }), file,
      readResult, qrisError, h("div", { class: "actions" }, saveQris)));

    // API tokens.
    const tokens = h("div", { class: "list boxed", test: "tokens" });
    const newToken = h("div", {});
    const tokenError = errorLine();
    const createToken = h("button", { type: "button", text: t("create_token"), test: "create-token" });
    const testToken = h("input", { type: "checkbox", test: "test-token" });
    const fillTokens = async () => {
      const data = await api("GET", base + "/tokens");
      clear(tokens);
      if (!data.tokens.length) tokens.append(h("p", { class: "item muted", text: t("no_tokens") }));
      for (const tk of data.tokens) {
        const revoke = h("button", { type: "button", class: "danger", text: t("revoke"), test: "revoke-token" });
        revoke.addEventListener("click", async () => {
          if (!confirm(t("revoke_confirm", { prefix: tk.prefix }))) return;
          try { await api("DELETE", base + "/tokens/" + tk.id); await fillTokens(); } catch (e) { showError(tokenError, e); }
        });
        tokens.append(h("div", { class: "item", test: "token-row", "data-sandbox": tk.test ? "1" : "0" },
          h("div", {}, h("code", { text: tk.prefix + "…" }), tk.test ? " " : null, tk.test ? testBadge() : null),
          h("div", { class: "muted small wide-only", text: t("created") + ": " + when(tk.created_at) }),
          h("div", { class: "small", text: t("last_used") + ": " + (tk.last_used_at ? ago(tk.last_used_at) : t("never")) }),
          tk.revoked_at ? badge("bad", t("revoked")) : badge("ok", t("active")),
          h("div", {}, tk.revoked_at ? null : revoke)));
      }
    };
    createToken.addEventListener("click", async () => {
      hideError(tokenError);
      try {
        const data = await api("POST", base + "/tokens", { test: testToken.checked });
        clear(newToken).append(h("div", { class: "secret-box" }, h("p", { class: "small", text: t("new_token_once") }), secretField(data.token, "new-token")));
        await fillTokens();
      } catch (e) { showError(tokenError, e); }
    });
    main.append(h("section", { class: "card" }, h("h2", { text: t("tokens_title") }), h("p", { class: "muted small", text: t("tokens_help") }),
      h("label", { class: "check" }, testToken, t("test_token")),
      h("div", { class: "actions" }, createToken), newToken, tokens, tokenError));
    await fillTokens();

    // Webhook.
    const url = h("input", { type: "url", value: merchant.webhook_url || "", placeholder: t("webhook_url_placeholder"), test: "webhook-url" });
    const saveUrl = h("button", { type: "submit", text: t("save"), test: "save-webhook" });
    const webhookError = errorLine();
    const secretBox = h("div", {});
    const showSecret = (secret, overlapUntil) => clear(secretBox).append(h("label", { text: t("webhook_secret") }), secretField(secret, "webhook-secret"),
      overlapUntil ? h("p", { class: "muted small", test: "secret-overlap", text: t("rotate_overlap", { until: when(overlapUntil) }) }) : null);
    showSecret(merchant.webhook_secret, merchant.previous_webhook_secret_until);
    const rotateWebhook = h("button", { type: "button", class: "secondary", text: t("rotate"), test: "rotate-webhook-secret" });
    const testWebhook = h("button", { type: "button", class: "secondary", text: t("test_webhook"), test: "test-webhook" });
    const testResult = h("div", { test: "test-result" });
    const webhookForm = h("form", {},
      h("div", { class: "row" }, h("div", {}, h("label", { text: t("webhook_url") }), url), saveUrl));
    webhookForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideError(webhookError);
      try {
        const data = await api("PUT", base + "/webhook", { url: url.value || null });
        url.value = data.webhook_url || "";
        toast(t("saved"));
      } catch (e) { showError(webhookError, e); }
    });
    rotateWebhook.addEventListener("click", async () => {
      if (!confirm(t("rotate_webhook_confirm"))) return;
      try {
        const rotated = await api("POST", base + "/webhook/secret", {});
        showSecret(rotated.webhook_secret, rotated.previous_webhook_secret_until);
      } catch (e) { showError(webhookError, e); }
    });
    testWebhook.addEventListener("click", async () => {
      hideError(webhookError);
      clear(testResult).append(h("p", { class: "muted", text: t("loading") }));
      testWebhook.disabled = true;
      try {
        const r = await api("POST", base + "/webhook/test", {});
        clear(testResult).append(
          h("p", { class: "banner small " + (r.ok ? "ok" : "bad"), test: "test-status",
            text: r.status_code !== null ? t("test_result", { status: r.status_code, ms: r.duration_ms }) : t("test_failed", { ms: r.duration_ms, error: r.error }) }),
          r.headers.length ? h("pre", { class: "excerpt", test: "test-headers", text: r.headers.map((x) => x.name + ": " + x.value).join("\n") }) : null);
      } catch (e) {
        clear(testResult);
        showError(webhookError, e);
      } finally {
        testWebhook.disabled = false;
      }
    });
    const health = merchant.webhook_health;
    const healthBox = !health ? null : h("div", { test: "webhook-health" },
      h("p", {}, health.circuit === "open" ? badge("bad", t("endpoint_open")) : badge("ok", t("endpoint_ok"))),
      health.circuit === "open" ? h("p", { class: "small", text: t("endpoint_open_detail", {
        failures: health.consecutive_failures, since: when(health.since), probe: when(health.next_probe_at), error: health.last_error || t("none") }) }) : null,
      health.alert ? h("p", { class: "banner small bad", test: "webhook-alert", text: t("endpoint_alert") }) : null,
      health.failing_since ? h("p", { class: "small", test: "webhook-failing", text: t("endpoint_failing", {
        since: when(health.failing_since), attempts: health.failed_attempts, next: health.next_attempt_at ? when(health.next_attempt_at) : t("none"), error: health.last_error || t("none") }) }) : null,
      h("p", { class: "muted small", test: "webhook-last-success", text: t("endpoint_last_success", { at: health.last_success_at ? when(health.last_success_at) : t("never") }) }),
      health.pending > 0 ? h("p", { class: "muted small", text: t("endpoint_queue", { pending: health.pending, in_flight: health.in_flight }) }) : null);
    // Replay: the browser's local date and time, sent as an instant.
    const replaySince = h("input", { type: "datetime-local", required: true, test: "replay-since" });
    const replayUntil = h("input", { type: "datetime-local", test: "replay-until" });
    const replayResult = h("div", { test: "replay-result" });
    const replayForm = h("form", {}, h("h3", { text: t("replay_title") }), h("p", { class: "muted small", text: t("replay_help") }),
      h("div", { class: "row" }, h("div", {}, h("label", { text: t("replay_since") }), replaySince),
        h("div", {}, h("label", { text: t("replay_until") }), replayUntil),
        h("button", { type: "submit", class: "secondary", text: t("replay"), test: "replay-webhooks" })), replayResult);
    replayForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideError(webhookError);
      try {
        const body = { since: new Date(replaySince.value).toISOString() };
        if (replayUntil.value) body.until = new Date(replayUntil.value).toISOString();
        const r = await api("POST", base + "/webhook/replay", body);
        clear(replayResult).append(h("p", { class: "banner small ok", text: t("replay_done", { n: r.queued }) }));
      } catch (e) { showError(webhookError, e); }
    });
    main.append(h("section", { class: "card", test: "webhook-section" }, h("h2", { text: t("webhook_title") }), h("p", { class: "muted small", text: t("webhook_help") }),
      healthBox, webhookForm, secretBox, h("div", { class: "actions" }, rotateWebhook, testWebhook), testResult, replayForm, webhookError));

    // Callback secret and the forwarder setup QR.
    const prefix = h("code", { text: merchant.callback_secret_prefix + "…" });
    const rotated = h("div", {});
    const callbackError = errorLine();
    const rotateCallback = h("button", { type: "button", class: "secondary", text: t("rotate_callback"), test: "rotate-callback" });
    rotateCallback.addEventListener("click", async () => {
      if (!confirm(t("rotate_callback_confirm"))) return;
      hideError(callbackError);
      try {
        const data = await api("POST", base + "/callback-secret", {});
        prefix.textContent = data.callback_secret_prefix + "…";
        clear(rotated).append(onceSecrets(data));
      } catch (e) { showError(callbackError, e); }
    });
    main.append(h("section", { class: "card" }, h("h2", { text: t("callback_title") }), h("p", { class: "muted small", text: t("callback_help") }),
      h("p", {}, t("callback_prefix") + ": ", prefix), h("div", { class: "actions" }, rotateCallback), rotated, callbackError));

    main.append(trustSection(base));

    // Devices.
    const devices = h("div", { class: "list boxed", test: "devices" });
    const fillDevices = async (box) => {
      const data = await api("GET", base + "/devices");
      clear(box);
      if (!data.devices.length) box.append(h("p", { class: "item muted", text: t("no_devices") }));
      for (const d of data.devices) {
        box.append(h("div", { class: "item", test: "device-row" },
          h("div", {}, h("strong", { text: d.device_id }), d.app_version ? h("div", { class: "muted small", text: t("app_version") + " " + d.app_version }) : null),
          h("div", { class: "small", text: t("last_seen") + ": " + ago(d.last_seen_at) }),
          h("div", { class: "small wide-only", text: d.listener_connected === null ? "" : t("listener") + ": " + (d.listener_connected ? t("yes") : t("no")) }),
          d.alert ? badge("bad", t(d.alert === "silent" ? "silent" : "alert_" + d.alert)) : badge("ok", t("active")),
          h("div", { class: "small wide-only", text: d.outbox_pending === null ? "" : t("outbox") + ": " + d.outbox_pending + (d.parked_count ? " · " + t("parked") + ": " + d.parked_count : "") }),
          h("div", { class: "small wide-only", text: d.notification_access === null ? "" : t("notification_access") + ": " + (d.notification_access ? t("yes") : t("no")) }),
          d.oldest_pending_since ? h("div", { class: "small", text: t("waiting_since") + ": " + when(d.oldest_pending_since) }) : null,
          d.last_delivery_error ? h("div", { class: "small error", test: "device-error", text: t("delivery_error") + ": " + d.last_delivery_error }) : null));
      }
    };
    main.append(h("section", { class: "card" }, h("h2", { text: t("devices_title") }), devices));
    await fillDevices(devices);
  }

  /** A merchant's trusted titles (added only with the warning acknowledged) and its channels. */
  function trustSection(base) {
    const titles = h("div", { class: "list boxed", test: "trusted-titles" });
    const known = h("div", { class: "list boxed", test: "channels" });
    const held = h("div", { class: "list boxed", test: "held-channels" });
    const error = errorLine();
    const fill = async () => {
      const data = await api("GET", base + "/trust");
      clear(titles);
      if (!data.trusted_titles.length) titles.append(h("p", { class: "item muted", text: t("none_yet") }));
      for (const tt of data.trusted_titles) {
        const remove = h("button", { type: "button", class: "secondary", text: t("remove"), test: "remove-trusted" });
        remove.addEventListener("click", () => act("DELETE", "/trusted-titles", { package: tt.package, title: tt.title }));
        titles.append(h("div", { class: "item", test: "trusted-title" }, h("div", {}, h("strong", { text: tt.title }), h("div", { class: "muted small mono", text: tt.package })), remove));
      }
      clear(known);
      if (!data.channels.length) known.append(h("p", { class: "item muted", text: t("none_yet") }));
      for (const c of data.channels) {
        const forget = h("button", { type: "button", class: "secondary", text: t("forget_channel"), test: "forget-channel" });
        forget.addEventListener("click", () => act("DELETE", "/channels", { app: c.app, channel_id: c.channel_id }));
        known.append(h("div", { class: "item", test: "channel" }, h("div", {}, h("strong", { class: "mono", text: c.channel_id }), h("div", { class: "muted small mono", text: c.app })),
          h("div", { class: "small", text: t("learned_" + c.learned_by) }), forget));
      }
      clear(held);
      if (!data.held_channels.length) held.append(h("p", { class: "item muted", text: t("none_yet") }));
      for (const c of data.held_channels) {
        const row = h("div", { class: "item", test: "held-channel" },
          h("div", {}, h("strong", { class: "mono", text: c.channel_id === null ? t("no_channel") : c.channel_id }), h("div", { class: "muted small mono", text: c.app })),
          h("div", { class: "small", text: t("held_count", { n: c.held, when: ago(c.last_received_at) }) }));
        if (c.channel_id !== null) {
          const confirmButton = h("button", { type: "button", text: t("confirm_channel"), test: "confirm-channel" });
          confirmButton.addEventListener("click", () => act("POST", "/channels", { app: c.app, channel_id: c.channel_id }));
          row.append(confirmButton);
        }
        held.append(row);
      }
    };
    const act = async (method, path, body) => {
      hideError(error);
      try {
        await api(method, base + path, body);
        await fill();
      } catch (e) { showError(error, e); }
    };
    const packageInput = h("input", { placeholder: "id.bmri.livinmerchant", maxlength: "255", test: "trusted-package", spellcheck: "false" });
    const titleInput = h("input", { maxlength: "200", test: "trusted-title-input" });
    // The server refuses an unacknowledged warning too; the form does not even send one.
    const acknowledged = h("input", { type: "checkbox", required: true, test: "trusted-acknowledge" });
    const form = h("form", { test: "trusted-form" },
      h("p", { class: "banner warn small", test: "trust-warning", text: t("trust_warning") }),
      h("div", { class: "row" },
        h("div", {}, h("label", { text: t("package_label") }), packageInput),
        h("div", {}, h("label", { text: t("title_label") }), titleInput)),
      h("label", { class: "check" }, acknowledged, t("acknowledge")),
      h("div", { class: "actions" }, h("button", { type: "submit", text: t("add_trusted"), test: "add-trusted" })));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      await act("POST", "/trusted-titles", { package: packageInput.value, title: titleInput.value, acknowledged: acknowledged.checked });
      if (error.classList.contains("hidden")) { titleInput.value = ""; acknowledged.checked = false; }
    });
    fill().catch((e) => showError(error, e));
    return h("section", { class: "card", test: "trust-section" },
      h("h2", { text: t("trust_title") }), h("p", { class: "muted small", text: t("trust_help") }),
      h("h3", { text: t("trusted_titles") }), titles, form,
      h("h3", { text: t("held_title") }), held,
      h("h3", { text: t("channels_title") }), known, error);
  }

  /** PNG and JPEG go up as they are; anything else the browser can show is converted to PNG here. */
  async function uploadable(file) {
    if (file.type === "image/png" || file.type === "image/jpeg") return file;
    const bitmap = await createImageBitmap(file);
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    return await new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("cannot convert the image"))), "image/png"));
  }

  // ---------------------------------------------------------------- notifications
  /** Reads the stored notifications again and lists what they now offer; each match is one click away. */
  async function fillOffers(box, merchant, onAssigned) {
    const qs = new URLSearchParams();
    if (merchant) qs.set("merchant", merchant);
    const data = await api("GET", "/dashboard/api/notifications/offers?" + qs.toString());
    clear(box).append(h("p", { class: "small", test: "offers-count", text: t("offers_count", { n: data.reread, m: data.offers.length }) }));
    for (const offer of data.offers) {
      const n = offer.notification;
      const trustKind = offer.trust === "trusted" ? "ok" : "warn";
      const item = h("div", { class: "item", test: "offer", "data-id": String(n.id), "data-trust": offer.trust },
        h("div", {},
          h("div", {}, badge(trustKind, t("trust_" + offer.trust)), " ", h("strong", { text: n.title || n.app || n.source })),
          h("p", { class: "message", text: n.message || "" }),
          offer.trust_reason ? h("p", { class: "small", text: reasonText(offer.trust_reason) }) : null));
      const error = errorLine();
      for (const match of offer.matches) {
        const button = h("button", { type: "button", class: offer.trust === "trusted" ? "" : "secondary", test: "assign-offer",
          text: t("offer_assign", { invoice: match.invoice_id }) + " · Rp" + rupiah(match.amount) });
        button.addEventListener("click", async () => {
          hideError(error);
          button.disabled = true;
          try {
            await assignNotification(n.id, match.invoice_id, t("offers_button"), match.amount);
            item.remove();
            onAssigned();
          } catch (e) {
            showError(error, e);
            button.disabled = false;
          }
        });
        item.append(h("div", { class: "actions" }, button));
      }
      item.append(error);
      box.append(item);
    }
  }

  async function viewNotifications() {
    const params = new URLSearchParams(location.search);
    const unmatched = h("input", { type: "checkbox", test: "filter-unmatched" });
    unmatched.checked = params.get("unmatched") === "1";
    const merchant = h("select", { test: "filter-merchant" });
    const filters = h("form", { class: "card" },
      h("div", { class: "row" },
        h("div", {}, h("label", {}, unmatched, " " + t("unmatched_only"))),
        h("div", {}, h("label", { text: t("merchant") }), merchant),
        h("button", { type: "submit", text: t("apply") })));
    const list = h("div", { test: "notifications" });
    const offers = h("div", { test: "offers" });
    const offersError = errorLine();
    const offersButton = h("button", { type: "button", class: "secondary", text: t("offers_button"), test: "find-offers" });
    const offersCard = h("section", { class: "card" },
      h("p", { class: "muted small", text: t("offers_help") }),
      h("div", { class: "actions" }, offersButton), offersError, offers);
    layout("notifications", h("h1", { text: t("notifications_title") }), filters, offersCard, list);
    offersButton.addEventListener("click", async () => {
      hideError(offersError);
      offersButton.disabled = true;
      try {
        await fillOffers(offers, params.get("merchant"), () => fill(list));
      } catch (e) {
        showError(offersError, e);
      } finally {
        offersButton.disabled = false;
      }
    });
    merchantOptions(merchant, params.get("merchant")).catch(() => {});
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      const qs = new URLSearchParams();
      if (unmatched.checked) qs.set("unmatched", "1");
      if (merchant.value) qs.set("merchant", merchant.value);
      navigate("/dashboard/notifications" + (qs.toString() ? "?" + qs.toString() : ""));
    });
    const fill = async (box) => {
      const qs = new URLSearchParams();
      if (params.get("unmatched") === "1") qs.set("unmatched", "1");
      if (params.get("merchant")) qs.set("merchant", params.get("merchant"));
      const data = await api("GET", "/dashboard/api/notifications?" + qs.toString());
      clear(box);
      if (!data.notifications.length) box.append(h("p", { class: "card muted", text: t("no_notifications") }));
      for (const n of data.notifications) box.append(notificationRow(n, () => fill(box)));
    };
    await fill(list);
    const refresh = liveSection(list, fill);
    current.onEvent = (frame) => {
      if (["payment_paid", "new_payment", "payments_expired"].includes(frame.event)) refresh();
    };
  }

  // ---------------------------------------------------------------- live
  const live = { socket: null, open: false, retry: 1000, timer: null, wanted: false };

  function setLive(open) {
    live.open = open;
    const dot = document.getElementById("live");
    if (dot) {
      dot.classList.toggle("on", open);
      dot.textContent = open ? t("live_on") : t("live_off");
    }
  }

  function connectLive() {
    live.wanted = true;
    if (live.socket) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws");
    live.socket = socket;
    socket.addEventListener("open", () => { live.retry = 1000; setLive(true); });
    socket.addEventListener("message", (event) => {
      if (event.data === "pong") return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      announce(frame);
      if (current.onEvent) current.onEvent(frame);
    });
    socket.addEventListener("close", async () => {
      live.socket = null;
      setLive(false);
      if (!live.wanted) return;
      // The server closes the feed when the session ends (logout elsewhere, expiry): check before retrying.
      try { await loadSession(); } catch (_) { /* offline: retry below */ }
      if (!session.account) {
        live.wanted = false;
        goLogin();
        return;
      }
      clearTimeout(live.timer);
      live.timer = setTimeout(connectLive, live.retry);
      live.retry = Math.min(live.retry * 2, 30000);
    });
  }

  function disconnectLive() {
    live.wanted = false;
    clearTimeout(live.timer);
    if (live.socket) live.socket.close();
  }

  function announce(frame) {
    const d = frame.data || {};
    if (frame.event === "new_payment") toast(t("toast_new", { invoice: d.invoice_id, total: rupiah(d.total_amount) }));
    else if (frame.event === "payment_paid") toast(t("toast_paid", { invoice: d.invoice_id, total: rupiah(d.total_amount) }));
    else if (frame.event === "payments_expired") toast(t("toast_expired", { n: d.count }));
    else if (frame.event === "webhook_delivered") toast(t("toast_delivered", { invoice: d.invoice_id }));
    else if (frame.event === "webhook_failed") toast(t("toast_failed", { invoice: d.invoice_id }));
    else if (frame.event === "webhook_alert") {
      const names = { merchant: d.merchant_name, url: d.url };
      toast(d.failing ? t("toast_webhook_alert", names) : t("toast_webhook_ok", names));
    }
    else if (frame.event === "device_alert") {
      const names = { device: d.device_id, merchant: d.merchant_name };
      toast(d.alert ? t("toast_device_alert", { ...names, alert: t(d.alert === "silent" ? "silent" : "alert_" + d.alert) }) : t("toast_device_ok", names));
      const banner = document.getElementById("device-banner");
      if (banner) deviceBanner(banner);
    }
  }

  // Keep the socket answering through proxies that drop idle connections.
  setInterval(() => { if (live.socket && live.open) live.socket.send("ping"); }, 25000);

  // ---------------------------------------------------------------- start
  window.addEventListener("popstate", render);
  (async () => {
    try {
      await loadSession();
    } catch (_) {
      clear(document.getElementById("app")).append(h("p", { class: "error", text: t("error_generic") }));
      return;
    }
    render();
  })();
})();
